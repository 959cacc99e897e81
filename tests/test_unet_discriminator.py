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


# ------------------------------------------------------------------------------------ the pooled score head
POOLED_HEAD = 2 * conv(256, 256) + (256 * 1024 + 1024) + (1024 + 1)  # two stride-2 convs, FC 256 → 1024 → 1


def n_params(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize('shape', [(2, 3, 8, 8), (1, 3, 32, 48), (3, 3, 64, 64), (2, 3, 96, 40), (1, 3, 256, 256)])
def test_the_pooled_head_scores_any_input_whose_sides_are_multiples_of_8(shape):
    torch.manual_seed(0)
    net = UNetDiscriminatorFA(num_feat=4, norm='spectral', score_head='pooled')
    score, score_map = net(torch.rand(shape))
    assert score.shape == (shape[0], 1) and score_map.shape == shape
    assert torch.isfinite(score).all()
    score.sum().backward()  # batch of 1 and a 1×1 deepest feature included: no BatchNorm in the head
    assert all(p.grad is not None for p in net.classifier.parameters())


def test_the_pooled_head_has_the_same_size_at_128_and_256_and_about_the_size_of_unet_discriminator_sn():
    at = {size: build_network({'type': 'UNetDiscriminatorFA', 'norm': 'spectral', 'score_head': 'pooled',
                               'input_size': size}) for size in (128, 256)}
    unsized = build_network({'type': 'UNetDiscriminatorFA', 'norm': 'spectral', 'score_head': 'pooled',
                             'input_size': None})
    encoder = double(3, 64, bn=False) + double(64, 128, bn=False) + double(128, 256, bn=False) + \
        double(256, 256, bn=False)
    decoder = double(512, 128, bn=False) + double(256, 64, bn=False) + double(128, 64, bn=False) + conv(64, 3, k=1)
    assert n_params(at[128].classifier) == n_params(at[256].classifier) == POOLED_HEAD == 1_444_353
    assert n_params(at[128]) == n_params(at[256]) == n_params(unsized) == encoder + POOLED_HEAD + decoder == 4_802_820
    assert at[128].state_dict().keys() == at[256].state_dict().keys()
    fc_256 = build_network({'type': 'UNetDiscriminatorFA', 'norm': 'spectral', 'input_size': 256})
    assert n_params(fc_256.classifier) == 256 * 32 * 32 * 1024 + 1024 + 1025 == 268_437_505
    sn = build_network({'type': 'UNetDiscriminatorSN_basicsr', 'num_in_ch': 3, 'num_feat': 64, 'skip_connection': True})
    assert n_params(sn) == 4_376_897 and n_params(at[256]) / n_params(sn) < 1.1  # the bound: 2×


def test_the_pooled_head_is_convolutions_average_pooling_and_the_papers_two_fc_layers():
    """The head computed by hand from its weights: conv s2, LeakyReLU, conv s2, LeakyReLU, mean, FC, LeakyReLU, FC."""
    torch.manual_seed(0)
    net = UNetDiscriminatorFA(num_feat=4, norm='none', score_head='pooled').eval()
    x = torch.rand(2, 3, 40, 24)
    w = {k: v for k, v in net.classifier.state_dict().items()}
    act = lambda t: torch.nn.functional.leaky_relu(t, 0.2)  # noqa: E731
    with torch.no_grad():
        e4 = net._encode(x)[-1]
        h = act(torch.nn.functional.conv2d(e4, w['convs.0.weight'], w['convs.0.bias'], stride=2, padding=1))
        h = act(torch.nn.functional.conv2d(h, w['convs.2.weight'], w['convs.2.bias'], stride=2, padding=1))
        assert h.shape == (2, 16, 2, 1)
        v = act(torch.nn.functional.linear(h.mean((2, 3)), w['fc.0.weight'], w['fc.0.bias']))
        expected = torch.nn.functional.linear(v, w['fc.2.weight'], w['fc.2.bias'])
        score, score_map = net(x)
    assert torch.allclose(score, expected, rtol=0, atol=1e-6)
    assert torch.equal(score_map, net.score_map(x))  # the score-map branch does not depend on the head


def test_the_pooled_head_has_spectral_norm_on_its_convs_and_linear_layers():
    spectral = UNetDiscriminatorFA(num_feat=4, norm='spectral', score_head='pooled')
    batch = UNetDiscriminatorFA(num_feat=4, norm='batch', score_head='pooled')
    assert sum(hasattr(x, 'weight_orig') for x in spectral.modules()) == 15 + 4  # the network's 15 convs + the head's 4
    assert not any(isinstance(x, nn.BatchNorm2d) for x in batch.classifier.modules())


def test_fixed_input_size_declares_the_side_the_network_is_built_for():
    assert UNetDiscriminatorFA.fixed_input_size() == 128  # the FC head's default
    assert UNetDiscriminatorFA.fixed_input_size(type='UNetDiscriminatorFA', input_size=256, norm='spectral') == 256
    assert UNetDiscriminatorFA.fixed_input_size(score_head='fc', input_size=32) == 32
    assert UNetDiscriminatorFA.fixed_input_size(score_head='pooled') is None
    assert UNetDiscriminatorFA.fixed_input_size(score_head='pooled', input_size=256, num_feat=16) is None
    for opts in ({'input_size': 32}, {'score_head': 'pooled', 'input_size': None}):
        net = build_network(dict(type='UNetDiscriminatorFA', num_feat=4, **opts))
        assert net.input_size == UNetDiscriminatorFA.fixed_input_size(**opts)


def test_a_bad_score_head_is_one_line_naming_the_key():
    from fasrgan_basicsr.utils.errors import UserError
    with pytest.raises(UserError) as err:
        UNetDiscriminatorFA(score_head='global')
    assert str(err.value) == ("network_d:score_head: UNetDiscriminatorFA's score_head must be one of ('fc', 'pooled'), "
                              "got 'global'.")
    with pytest.raises(ValueError, match='input_size must be a positive multiple of 8 .*got None'):
        UNetDiscriminatorFA(input_size=None)  # the FC head needs its size


# ------------------------------------------------------------------------------- the paper's head is unchanged
#: sha256 of the state dict of ``UNetDiscriminatorFA(num_feat=8, input_size=32, norm=...)`` built after
#: ``torch.manual_seed(0)``, recorded with the code before the pooled head existed (commit 473da16)
PAPER_HEAD_STATE_SHA256 = {
    'batch': '89d2d5216115f3a807f8eab13670449ac9122e485cbdc0c04454a1c5682fc37b',
    'spectral': 'b6a2edf1128f86e3a8384fb67e584c9014a93f8a40d9c814d3e007becf634d7f',
}

PAPER_HEAD_KEYS = {
    'batch': ['classifier.0.weight', 'classifier.0.bias', 'classifier.2.weight', 'classifier.2.bias'],
    'spectral': ['classifier.0.bias', 'classifier.0.weight_orig', 'classifier.0.weight_u', 'classifier.0.weight_v',
                 'classifier.2.bias', 'classifier.2.weight_orig', 'classifier.2.weight_u', 'classifier.2.weight_v'],
}


def _state_sha256(net):
    import hashlib
    return hashlib.sha256(b''.join(v.numpy().tobytes() for v in net.state_dict().values())).hexdigest()


@pytest.mark.parametrize('norm', ['batch', 'spectral'])
def test_the_default_head_is_the_papers_byte_for_byte(norm):
    """Same weights from the same seed as before the pooled head existed, the same keys, and a forward pass that is
    exactly the paper's FC head (flatten, Linear → 1024, LeakyReLU 0.2, Linear → 1) on the encoder's feature."""
    torch.manual_seed(0)
    default = UNetDiscriminatorFA(num_feat=8, input_size=32, norm=norm)
    torch.manual_seed(0)
    explicit = UNetDiscriminatorFA(num_feat=8, input_size=32, norm=norm, score_head='fc')
    assert _state_sha256(default) == _state_sha256(explicit) == PAPER_HEAD_STATE_SHA256[norm]
    assert list(default.state_dict()) == list(explicit.state_dict())  # checkpoints of the FC head load as before
    assert [k for k in default.state_dict() if k.startswith('classifier.')] == PAPER_HEAD_KEYS[norm]
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    for net in (default, explicit):
        net.eval()
    with torch.no_grad():
        score, score_map = default(x)
        score2, score_map2 = explicit(x)
        fc1, fc2 = default.classifier[0], default.classifier[2]
        by_hand = fc2(torch.nn.functional.leaky_relu(fc1(default._encode(x)[-1].flatten(1)), 0.2))
    assert torch.equal(score, score2) and torch.equal(score_map, score_map2) and torch.equal(score, by_hand)
