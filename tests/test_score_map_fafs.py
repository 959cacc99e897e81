"""The score-map viewer for FA+Fs-SRGAN: a discriminator reading features scores E(SR), the generator's shared
extractor's features (or the discriminator's own extractor, woFs)."""
import copy
import sys

import cv2
import numpy as np
import pytest
import torch
import yaml
from basicsr.archs import build_network
from basicsr.utils import img2tensor

from fasrgan_basicsr.cli import visualize_score_map
from fasrgan_basicsr.evaluation import score_map_viewer
from fasrgan_basicsr.utils.cli import UserError
from fasrgan_basicsr.visualization.score_map_panel import score_map_figures

FS_G = {'type': 'FsRRDBNet', 'num_in_ch': 3, 'num_out_ch': 3, 'num_feat': 8, 'num_shared_block': 1, 'num_block': 1,
        'num_grow_ch': 4}
FEATURE_D = {'type': 'UNetDiscriminatorFA', 'num_in_ch': 8, 'num_feat': 4, 'map_channels': 3, 'input_size': 32}


def expected_heatmap(net_g, net_d, extractor, lr):
    """The viewer's map tile computed directly: JET of the channel mean of sigmoid(D.score_map(E(G(lr)))) (sides
    multiples of 8), enlarged 8× for display (a 40×48 map → 320×384 pixels)."""
    with torch.no_grad():
        sr = net_g(lr).clamp(0, 1)
        prob = torch.sigmoid(net_d.score_map(extractor(sr)))[0].mean(0)
    heat = cv2.applyColorMap(np.clip(prob.numpy() * 255 + 0.5, 0, 255).astype(np.uint8), cv2.COLORMAP_JET)
    return heat.repeat(8, axis=0).repeat(8, axis=1)


@pytest.mark.parametrize('own_extractor', [False, True], ids=['shared (FA+Fs)', 'own (woFs)'])
def test_feature_discriminator_scores_the_extractors_features(tmp_path, monkeypatch, own_extractor):
    torch.manual_seed(0)
    net_g, net_d = build_network(dict(FS_G)).eval(), build_network(dict(FEATURE_D)).eval()
    with torch.no_grad():
        net_g.conv_last.weight.mul_(20)  # untrained networks are nearly constant: make the SR vary,
        net_d.to_map.weight.mul_(30)  # and the score map respond to the features
    torch.save({'params': net_g.state_dict()}, tmp_path / 'g.pth')
    d_ckpt = {'params': net_d.state_dict()}
    amplified = copy.deepcopy(net_g.extractor)  # another extractor whose features differ clearly from the shared one
    with torch.no_grad():
        for param in amplified.parameters():
            param.mul_(10)
    extractor, other = (amplified, net_g.extractor) if own_extractor else (net_g.extractor, amplified)
    if own_extractor:
        d_ckpt['params_extractor'] = amplified.state_dict()
    torch.save(d_ckpt, tmp_path / 'd.pth')
    (tmp_path / 'opt.yml').write_text(yaml.safe_dump({'network_g': FS_G, 'network_d': FEATURE_D}))
    gen = np.random.default_rng(0)
    lr_dir = tmp_path / 'lr'
    lr_dir.mkdir()
    cv2.imwrite(str(lr_dir / 'square.png'), gen.integers(0, 256, (10, 12, 3), dtype=np.uint8))  # SR 40×48
    cv2.imwrite(str(lr_dir / 'odd.png'), gen.integers(0, 256, (11, 13, 3), dtype=np.uint8))  # SR 44×52, padded
    monkeypatch.setattr(sys, 'argv', ['visualize_score_map.py', '-opt', str(tmp_path / 'opt.yml'), '--net_g',
                                      str(tmp_path / 'g.pth'), '--net_d', str(tmp_path / 'd.pth'), '-i', str(lr_dir),
                                      '-o', str(tmp_path / 'maps'), '--device', 'cpu'])
    visualize_score_map.main()

    lr = img2tensor(cv2.imread(str(lr_dir / 'square.png')).astype(np.float32) / 255., bgr2rgb=True).unsqueeze(0)
    box = score_map_figures(np.zeros((40, 48)), 'any title')['score_map'].boxes['map']  # where the map tile lies
    written = box.of(cv2.imread(str(tmp_path / 'maps' / 'square_score_map.png')))
    assert np.array_equal(written, expected_heatmap(net_g, net_d, extractor, lr))
    assert not np.array_equal(written, expected_heatmap(net_g, net_d, other, lr))  # which extractor shows
    assert (tmp_path / 'maps' / 'odd_panel.png').is_file()


def test_a_feature_discriminator_needs_a_generator_with_an_extractor():
    net_g = build_network({'type': 'RRDBNet', 'num_in_ch': 3, 'num_out_ch': 3, 'num_feat': 8, 'num_block': 1,
                           'num_grow_ch': 4})
    with pytest.raises(UserError, match='reads 8-channel features, but the generator RRDBNet has no shared extractor'):
        score_map_viewer.discriminator_extractor(net_g, FEATURE_D, 'unused.pth')
    assert score_map_viewer.discriminator_extractor(net_g, dict(FEATURE_D, num_in_ch=3), 'unused.pth') is None
