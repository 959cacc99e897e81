"""UNetDiscriminatorFA: shapes, parameter count, norms, and clear errors."""
import pytest
import torch
from basicsr.archs import build_network
from torch import nn

import fasrgan_basicsr  # noqa: F401
from fasrgan_basicsr.archs.unet_discriminator_arch import UNetDiscriminatorFA


def conv(cin, cout, k=3):
    return k * k * cin * cout + cout


def double(cin, cout, bn=True):
    return conv(cin, cout) + conv(cout, cout) + (4 * cout if bn else 0)


def test_parameter_count_of_the_paper_configuration():
    net = build_network({'type': 'UNetDiscriminatorFA'})
    encoder = double(3, 64) + double(64, 128) + double(128, 256) + double(256, 256)
    head = (256 * 16 * 16 * 1024 + 1024) + (1024 + 1)  # FC 65536 → 1024 → 1: the 67 M-parameter head
    decoder = double(512, 128) + double(256, 64) + double(128, 64) + conv(64, 3, k=1)
    assert sum(p.numel() for p in net.classifier.parameters()) == head == 67_110_913
    assert sum(p.numel() for p in net.parameters()) == encoder + head + decoder == 70_473_220


@pytest.mark.parametrize('num_in_ch,map_channels', [(3, 3), (64, 3), (3, 1)])
def test_outputs_have_the_input_size(num_in_ch, map_channels):
    net = UNetDiscriminatorFA(num_in_ch=num_in_ch, num_feat=8, map_channels=map_channels, input_size=32)
    score, score_map = net(torch.rand(2, num_in_ch, 32, 32))
    assert score.shape == (2, 1)
    assert score_map.shape == (2, map_channels, 32, 32)


def test_score_map_works_at_any_multiple_of_8_and_matches_forward():
    net = UNetDiscriminatorFA(num_feat=8, input_size=32).eval()
    x = torch.rand(1, 3, 32, 32)
    assert torch.equal(net(x)[1], net.score_map(x))
    assert net.score_map(torch.rand(1, 3, 40, 56)).shape == (1, 3, 40, 56)


def test_norm_options():
    batch = UNetDiscriminatorFA(num_feat=4, input_size=16, norm='batch')
    none = UNetDiscriminatorFA(num_feat=4, input_size=16, norm='none')
    spectral = UNetDiscriminatorFA(num_feat=4, input_size=16, norm='spectral')
    n_bn = lambda m: sum(isinstance(x, nn.BatchNorm2d) for x in m.modules())  # noqa: E731
    assert n_bn(batch) == 14 and n_bn(none) == 0 and n_bn(spectral) == 0
    assert not any(hasattr(x, 'weight_orig') for net in (batch, none) for x in net.modules())
    # spectral norm on every conv (14 + the 1×1) and both linear layers
    assert sum(hasattr(x, 'weight_orig') for x in spectral.modules()) == 17
    for net in (none, spectral):
        score, score_map = net(torch.rand(2, 3, 16, 16))
        assert score.shape == (2, 1) and score_map.shape == (2, 3, 16, 16)


def test_wrong_input_size_is_a_clear_error():
    net = UNetDiscriminatorFA(num_feat=4, input_size=32)
    with pytest.raises(ValueError, match=r'built for 32×32 inputs .* received 48×48.*gt_size'):
        net(torch.rand(1, 3, 48, 48))
    for shape in ((1, 3, 30, 32), (1, 3, 32, 30), (3, 32, 32)):  # height, width, no batch dimension
        with pytest.raises(ValueError, match=r'expects \(B, C, H, W\) with H and W multiples of 8'):
            net.score_map(torch.rand(shape))
    with pytest.raises(ValueError, match=r'expects \(B, C, H, W\)'):
        net(torch.rand(3, 32, 32))


def test_bad_construction_arguments():
    for size in (100, 0, -8):
        with pytest.raises(ValueError, match=f'input_size must be a positive multiple of 8 .*got {size}'):
            UNetDiscriminatorFA(input_size=size)
    with pytest.raises(ValueError, match="norm must be one of"):
        UNetDiscriminatorFA(norm='group')
