"""``val.save_score_map: true``: validation writes each image's score-map panel into the experiment's
``visualization/`` and as a TensorBoard image; the panel is the one the viewer draws, from the networks being trained,
and writing it changes nothing in training (modes, BatchNorm statistics, the random sequence)."""
import os

import cv2
import numpy as np
import pytest
import torch
from basicsr.archs import build_network
from basicsr.data.paired_image_dataset import PairedImageDataset
from basicsr.utils import img2tensor, tensor2img
from conftest import build_training_model, paired_dataset, run_entry, tiny_options
from torch.nn import functional as F
from torch.utils.data import DataLoader

from fasrgan_basicsr.cli import visualize_score_map as viewer
from fasrgan_basicsr.utils.checkpoint import load_network
from fasrgan_basicsr.utils.cli import run_cli
from fasrgan_basicsr.visualization.score_map_panel import score_map_figures

FS_G = {'type': 'FsRRDBNet', 'num_feat': 8, 'num_grow_ch': 4, 'num_shared_block': 1, 'num_block': 1}
FAFS_D = {'type': 'UNetDiscriminatorFA', 'num_in_ch': 8, 'num_feat': 4, 'map_channels': 3, 'input_size': 32}


def read(path):
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert img is not None, f'{path} not written'
    return img


def expected_panel(net_g, net_d, lr_path, hr_path, title, extractor=None):
    """The panel computed here: M = sigmoid(D.score_map(x)) of G's SR (sides multiples of 8 here), x = E(SR) for a
    feature-reading D, with D in eval mode; drawn by the viewer's figure code."""
    with torch.no_grad():
        sr = net_g(lr_batch(lr_path)['lq']).clamp(0, 1)  # the SR image the panel shows
        x = sr if extractor is None else extractor(sr)
        values = torch.sigmoid(net_d.score_map(x))[0].mean(0).double().numpy()
    return score_map_figures(values, title, sr=tensor2img(sr), hr=read(hr_path), normalize=True)['panel']


@pytest.mark.subprocess
def test_training_writes_panels_at_validation_and_tensorboard_images(tiny_data, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    opt = tiny_options(tiny_data, name='score_map_val', total_iter=2)
    opt['val'].update(save_img=True, save_score_map=True)
    opt['logger']['use_tb_logger'] = True
    run_entry('train.py', opt, tmp_path)
    exp = tmp_path / 'experiments' / 'score_map_val'
    vis = exp / 'visualization' / 'chelseax4'
    # validation at iteration 2 (val_freq) and BasicSR's final one (numbered with its loop counter), same weights
    final = max(int(p.name.split('_')[1].split('.')[0]) for p in vis.iterdir())
    assert final > 2
    assert sorted(p.name for p in vis.iterdir()) == ['chelseax4_2.png', 'chelseax4_2_score_map.png',
                                                      f'chelseax4_{final}.png', f'chelseax4_{final}_score_map.png']
    net_g = load_network(build_network(opt['network_g']), str(exp / 'models' / 'net_g_2.pth')).eval()  # params_ema
    net_d = load_network(build_network(opt['network_d']), str(exp / 'models' / 'net_d_2.pth'), ('params',)).eval()
    lr_path = os.path.join(tiny_data['val_lq'], 'chelseax4.png')
    hr_path = os.path.join(tiny_data['val_gt'], 'chelsea.png')
    for it in (2, final):
        panel = read(vis / f'chelseax4_{it}_score_map.png')
        expected = expected_panel(net_g, net_d, lr_path, hr_path, f'run score_map_val | iter {it} | chelseax4')
        assert np.array_equal(panel, expected.image)  # HR | SR | M | M stretched, titled with run, iteration, range
        assert np.array_equal(expected.boxes['sr'].of(panel), read(vis / f'chelseax4_{it}.png').repeat(
            expected.factor, 0).repeat(expected.factor, 1))  # the SR tile is BasicSR's own validation image

    # the viewer, on the checkpoints saved at iteration 2, draws the same panel as validation did
    viewer_out = tmp_path / 'viewer'
    assert run_cli(viewer.main, ['-opt', str(tmp_path / 'opt.yml'), '--net_g', str(exp / 'models' / 'net_g_2.pth'),
                                 '--net_d', str(exp / 'models' / 'net_d_2.pth'), '-i', lr_path, '-o', str(viewer_out),
                                 '--hr', tiny_data['val_gt'], '--normalize', '--device', 'cpu']) == 0
    assert np.array_equal(read(viewer_out / 'chelseax4_panel.png'), read(vis / 'chelseax4_2_score_map.png'))

    events = EventAccumulator(str(tmp_path / 'tb_logger' / 'score_map_val'), size_guidance={'images': 0})
    events.Reload()
    assert 'score_map/tiny_val/chelseax4' in events.Tags()['images']
    images = events.Images('score_map/tiny_val/chelseax4')
    assert [image.step for image in images] == [2, final]
    for image in images:
        decoded = cv2.imdecode(np.frombuffer(image.encoded_image_string, np.uint8), cv2.IMREAD_COLOR)
        assert np.array_equal(decoded, read(vis / f'chelseax4_{image.step}_score_map.png'))  # RGB order kept


def test_fafs_validation_scores_the_shared_features_and_leaves_training_untouched(tiny_data, tmp_path):
    torch.manual_seed(0)
    opt = tiny_options(tiny_data, name='fafs_val', model_type='FAFsSRGANModel', network_g=FS_G, network_d=FAFS_D)
    opt['val']['save_score_map'] = True
    model = build_training_model(opt, tmp_path)
    with torch.no_grad():
        model.net_d.to_map.weight.mul_(30)  # an untrained map is nearly constant: make it respond to the features
    loader = val_loader(tiny_data)
    before = {k: v.clone() for k, v in model.net_d.state_dict().items()}
    rng = torch.get_rng_state()

    model.validation(loader, 1, None, False)
    panel_path = tmp_path / 'experiments' / 'fafs_val' / 'visualization' / 'chelseax4' / 'chelseax4_1_score_map.png'
    model.net_d.eval()
    expected = expected_panel(model.net_g_ema, model.net_d, os.path.join(tiny_data['val_lq'], 'chelseax4.png'),
                              os.path.join(tiny_data['val_gt'], 'chelsea.png'), 'run fafs_val | iter 1 | chelseax4',
                              extractor=model.net_d_extractor)
    model.net_d.train()
    assert np.array_equal(read(panel_path), expected.image)
    assert model.net_d_extractor is model.get_bare_model(model.net_g).extractor  # E(SR) of the shared extractor
    assert model.net_d.training and model.net_d_extractor.training
    assert all(torch.equal(before[k], v) for k, v in model.net_d.state_dict().items())  # BatchNorm stats included
    assert torch.equal(torch.get_rng_state(), rng)

    model.opt['val']['save_score_map'] = False
    model.validation(loader, 2, None, False)
    assert sorted(p.name for p in panel_path.parent.iterdir()) == ['chelseax4_1_score_map.png']


class TensorBoardCalls:
    """A TensorBoard writer stand-in: records each ``add_image``/``add_scalar`` call as ``(method, args, kwargs)``."""

    def __init__(self):
        self.calls = []

    def add_image(self, *args, **kwargs):
        self.calls.append(('add_image', args, kwargs))

    def add_scalar(self, *args, **kwargs):
        self.calls.append(('add_scalar', args, kwargs))


def val_loader(tiny_data):
    val_opt = dict(paired_dataset('tiny_val', tiny_data['val_gt'], tiny_data['val_lq']), phase='val', scale=4)
    return DataLoader(PairedImageDataset(val_opt), batch_size=1, generator=torch.Generator())  # not the global RNG


def lr_batch(path):
    lr = img2tensor(read(path).astype(np.float32) / 255., bgr2rgb=True).unsqueeze(0)
    return {'lq': lr, 'lq_path': [str(path)]}


class Brightened(torch.nn.Module):
    """A generator stand-in whose output exceeds 1 on the brighter half of an image: bicubic ×4, times 2."""

    def forward(self, lr):
        return 2 * F.interpolate(lr, scale_factor=4, mode='bicubic', align_corners=False)


def test_fasrgan_validation_writes_basicsrs_outputs_and_the_panel_of_the_clamped_sr(tiny_data, tmp_path):
    torch.manual_seed(0)
    opt = tiny_options(tiny_data, name='fa_val')
    opt['val'].update(save_img=True, save_score_map=True)
    model = build_training_model(opt, tmp_path)
    with torch.no_grad():
        model.net_d.to_map.weight.mul_(30)  # an untrained map is nearly constant: make it respond to the image
    model.net_g_ema = Brightened()  # much of the SR above 1: the panel scores the SR clamped to [0, 1]
    lr_path = os.path.join(tiny_data['val_lq'], 'chelseax4.png')
    vis = tmp_path / 'experiments' / 'fa_val' / 'visualization' / 'chelseax4'

    model.feed_data(lr_batch(lr_path))  # outside validation, visuals are BasicSR's and nothing is written
    model.test()
    assert set(model.get_current_visuals()) == {'lq', 'result'} and not vis.exists()
    assert 0.2 < (model.output > 1).float().mean() < 0.8

    tb_logger = TensorBoardCalls()
    model.validation(val_loader(tiny_data), 3, tb_logger, True)
    assert sorted(p.name for p in vis.iterdir()) == ['chelseax4_3.png', 'chelseax4_3_score_map.png']
    model.net_d.eval()
    expected = expected_panel(model.net_g_ema, model.net_d, lr_path, os.path.join(tiny_data['val_gt'], 'chelsea.png'),
                              'run fa_val | iter 3 | chelseax4')
    model.net_d.train()
    assert np.array_equal(read(vis / 'chelseax4_3_score_map.png'), expected.image)
    images = [(args, kwargs) for method, args, kwargs in tb_logger.calls if method == 'add_image']
    assert len(images) == 1
    (tag, image, step), kwargs = images[0]
    assert (tag, step, kwargs) == ('score_map/tiny_val/chelseax4', 3, {'dataformats': 'HWC'})
    assert np.array_equal(image, expected.image[..., ::-1])  # RGB for TensorBoard
    scalars = [args for method, args, _ in tb_logger.calls if method == 'add_scalar']
    assert [(tag, step) for tag, _, step in scalars] == [('metrics/tiny_val/psnr', 3)]

    model.feed_data(lr_batch(lr_path))  # after validation, visuals write nothing again
    model.test()
    model.get_current_visuals()
    assert sorted(p.name for p in vis.iterdir()) == ['chelseax4_3.png', 'chelseax4_3_score_map.png']


def test_a_panel_without_ground_truth_has_no_hr_tile(tiny_data, tmp_path):
    torch.manual_seed(0)
    model = build_training_model(tiny_options(tiny_data, name='no_gt'), tmp_path)
    lr_path = os.path.join(tiny_data['val_lq'], 'chelseax4.png')
    model.feed_data(lr_batch(lr_path))
    model.test()
    panel = model.save_score_map_panel(model.get_current_visuals(), 'single', 4)
    model.net_d.eval()
    with torch.no_grad():
        sr = model.output.clamp(0, 1)
        values = torch.sigmoid(model.net_d.score_map(sr))[0].mean(0).double().numpy()
    expected = score_map_figures(values, 'run no_gt | iter 4 | chelseax4', sr=tensor2img(sr), normalize=True)['panel']
    assert 'hr' not in expected.boxes and np.array_equal(panel.image, expected.image)
    written = tmp_path / 'experiments' / 'no_gt' / 'visualization' / 'chelseax4' / 'chelseax4_4_score_map.png'
    assert np.array_equal(read(written), expected.image)


def test_without_a_discriminator_validation_warns_and_writes_no_panel(tiny_data, tmp_path, basicsr_messages):
    from basicsr.models import build_model

    opt = tiny_options(tiny_data, name='no_d')
    opt['val'].update(save_img=True, save_score_map=True, suffix=None)
    vis = tmp_path / 'visualization'
    opt.update(is_train=False, dist=False, rank=0, world_size=1)
    opt['path'].update(visualization=str(vis), results_root=str(tmp_path))
    model = build_model(opt)  # a test-time model: BasicSR builds no discriminator
    assert not hasattr(model, 'net_d')
    model.validation(val_loader(tiny_data), 5, None, True)
    assert 'val.save_score_map: no discriminator outside training; no score maps saved.' in basicsr_messages
    assert sorted(str(p.relative_to(vis)) for p in vis.rglob('*.png')) == ['tiny_val/chelseax4_no_d.png']
