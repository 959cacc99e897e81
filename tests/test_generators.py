"""evaluation/generators.py piece by piece: options read from key shapes, refusals, loading, tiling, timing."""
import warnings

import pytest
import torch
from basicsr.archs import build_network
from torch import nn

from fasrgan_basicsr.generators import loading as generators
from fasrgan_basicsr.generators.loading import (
    NotAGeneratorError,
    generator_options,
    load_generator,
    network_scale,
    recognise_arch,
)
from fasrgan_basicsr.generators.tiling import Timer, upscale


def zeros(*shape):
    return torch.zeros(shape)


# --------------------------------------------------------------------------------------------- reading keys
def test_block_count_is_the_highest_index_plus_one_of_exactly_that_prefix():
    state = {'body.0.a': 0, 'body.4.a': 0, 'body.4.b': 0, 'extractor.body.7.a': 0, 'bodyX9.a': 0, 'body.x.a': 0}
    assert generators._block_count(state, 'body.') == 5
    assert generators._block_count(state, 'extractor.body.') == 8
    assert generators._block_count(state, 'head.') == 0


@pytest.mark.parametrize('num_in_ch, scale', [(3, 4), (1, 4), (3, 2), (3, 1), (1, 2)])
def test_rrdbnet_options_of_every_scale_and_input(num_in_ch, scale):
    opt = dict(type='RRDBNet', num_in_ch=num_in_ch, num_out_ch=num_in_ch, scale=scale, num_feat=8, num_block=2,
               num_grow_ch=4)
    found = generator_options(build_network(dict(opt)).state_dict())
    assert found == opt and all(type(found[k]) is type(v) for k, v in opt.items())  # ints, not 3.0


def test_rrdbnet_whose_input_is_no_pixel_unshuffle_of_its_output_is_refused():
    state = {'conv_first.weight': zeros(8, 5, 3, 3), 'conv_last.weight': zeros(3, 8, 3, 3),
             'body.0.rdb1.conv1.weight': zeros(4, 8, 3, 3)}
    with pytest.raises(NotAGeneratorError, match=r"^g.pth: its weights do not fit a RRDBNet \('conv_first input "
                                                 r"channels are not 1, 4 or 16 × the output channels'\); its keys "
                                                 r"begin body.0.rdb1.conv1.weight, conv_first.weight, "
                                                 r"conv_last.weight\.$"):
        generator_options(state, path='g.pth')
    state['conv_first.weight'] = zeros(8, 24, 3, 3)  # 24 = 8 × 3: not a pixel-unshuffle factor
    with pytest.raises(NotAGeneratorError, match='not 1, 4 or 16'):
        generator_options(state, path='g.pth')


@pytest.mark.parametrize('upscale_', [2, 3, 4])
def test_msrresnet_options_of_every_upscale(upscale_):
    opt = dict(type='MSRResNet', num_in_ch=3, num_out_ch=1, num_feat=8, num_block=3, upscale=upscale_)
    assert generator_options(build_network(dict(opt)).state_dict()) == opt


def test_a_stacked_feature_sharing_checkpoint_is_read_with_its_layout():
    """The release layout (an entry conv after the extractor, test_release_profile) is told by ``conv_entry``."""
    opt = dict(type='FsRRDBNet', num_in_ch=3, num_out_ch=3, num_feat=8, num_shared_block=1, num_block=2,
               num_grow_ch=4, layout='stacked')
    state = build_network(dict(opt)).state_dict()
    assert 'conv_entry.weight' in state
    assert generator_options(state) == opt


def test_feature_sharing_checkpoints_of_the_old_names_are_recognised():
    rrdb = {'extractor.conv_first.weight': zeros(8, 1, 3, 3), 'extractor.body.0.rdb1.conv1.weight': zeros(4, 8, 3, 3),
            'extractor.body.1.rdb1.conv1.weight': zeros(4, 8, 3, 3), 'body.0.rdb1.conv1.weight': zeros(4, 8, 3, 3),
            'conv_up2.weight': zeros(8, 8, 3, 3), 'conv_last.weight': zeros(1, 8, 3, 3)}
    assert recognise_arch(rrdb) == 'FsRRDBNet'
    assert generator_options(rrdb) == dict(type='FsRRDBNet', num_in_ch=1, num_out_ch=1, num_feat=8,
                                           num_shared_block=2, num_block=1, num_grow_ch=4)
    msr = {'extractor.conv_first.weight': zeros(8, 3, 3, 3), 'extractor.body.0.conv1.weight': zeros(8, 8, 3, 3),
           'body.0.conv1.weight': zeros(8, 8, 3, 3), 'body.2.conv1.weight': zeros(8, 8, 3, 3),
           'upconv2.weight': zeros(32, 8, 3, 3), 'conv_last.weight': zeros(3, 8, 3, 3)}
    assert recognise_arch(msr) == 'FsMSRResNet'
    assert generator_options(msr) == dict(type='FsMSRResNet', num_in_ch=3, num_out_ch=3, num_feat=8,
                                          num_shared_block=1, num_block=3)
    for incomplete in ({k: v for k, v in rrdb.items() if k != 'conv_up2.weight'},
                       {k: v for k, v in msr.items() if k != 'upconv2.weight'}):
        with pytest.raises(NotAGeneratorError, match=r'its weights do not fit a Fs\w+ \(\'(conv_up2|upconv2)'):
            generator_options(incomplete)


def test_recognition_needs_every_identifying_key():
    rrdb = {'conv_first.weight': 0, 'conv_last.weight': 0, 'body.0.rdb1.conv1.weight': 0}
    msr = {'conv_first.weight': 0, 'conv_last.weight': 0, 'body.0.conv1.weight': 0, 'upconv1.weight': 0}
    assert recognise_arch(rrdb) == 'RRDBNet' and recognise_arch(msr) == 'MSRResNet'
    for state in (rrdb, msr):
        for key in ('conv_first.weight', 'conv_last.weight'):
            assert recognise_arch({k: v for k, v in state.items() if k != key}) is None, key
    assert recognise_arch({k: v for k, v in msr.items() if k != 'upconv1.weight'}) is None
    assert recognise_arch({k: v for k, v in msr.items() if k != 'body.0.conv1.weight'}) is None
    assert recognise_arch({}) is None


def test_msrresnet_without_its_first_body_block_is_refused():
    opt = dict(type='MSRResNet', num_in_ch=3, num_out_ch=3, num_feat=8, num_block=1, upscale=4)
    state = build_network(dict(opt)).state_dict()
    del state['body.0.conv1.weight']
    with pytest.raises(NotAGeneratorError, match=r"its weights do not fit a MSRResNet \('body.0.conv1.weight'\)"):
        generator_options(state, arch='MSRResNet')


@pytest.mark.parametrize('keys, said', [
    (['enc1.weight', 'x'], 'it looks like a UNetDiscriminatorFA (discriminator) checkpoint'),
    (['dec1.weight'], 'it looks like a UNetDiscriminatorFA (discriminator) checkpoint'),
    (['to_map.weight'], 'it looks like a UNetDiscriminatorFA (discriminator) checkpoint'),
    (['classifier.0.weight'], 'it looks like a discriminator checkpoint'),
    (['features.0.weight'], 'it looks like a discriminator checkpoint'),
    (['conv0_0.weight'], 'it looks like a discriminator checkpoint'),
    (['linear1.weight'], 'it looks like a discriminator checkpoint'),
    (['d', 'c', 'b', 'a'], 'its keys begin a, b, c, d'),
    (['e', 'd', 'c', 'b', 'a'], 'its keys begin a, b, c, d …'),
])
def test_what_is_not_a_generator_is_described(keys, said):
    with pytest.raises(NotAGeneratorError) as caught:
        generator_options({k: zeros(1) for k in keys}, path='x.pth')
    assert str(caught.value) == f'x.pth: not a generator of this project (RRDBNet, FsRRDBNet, MSRResNet, ' \
                                f'FsMSRResNet, ReleaseSRResNet); {said}.'


def test_a_forced_arch_must_be_one_of_the_generators():
    with pytest.raises(NotAGeneratorError, match=r"^x.pth: --arch 'UNet' is not one of RRDBNet, FsRRDBNet, MSRResNet, "
                                                 r"FsMSRResNet, ReleaseSRResNet, Bicubic\.$"):
        generator_options({}, arch='UNet', path='x.pth')
    with pytest.raises(NotAGeneratorError, match=r"^checkpoint: its weights do not fit a RRDBNet \('conv_first"):
        generator_options({'conv_last.weight': zeros(3, 8, 3, 3)}, arch='RRDBNet')


# ----------------------------------------------------------------------------------------------- loading
def test_no_checkpoint_is_the_bicubic_baseline():
    for net, opt in (load_generator(), load_generator(arch='Bicubic')):
        assert opt == {'type': 'Bicubic', 'scale': 4} and type(net).__name__ == 'Bicubic' and not net.training
    with pytest.raises(NotAGeneratorError, match=r'^g.pth: --arch Bicubic takes no checkpoint\.$'):
        load_generator('g.pth', arch='Bicubic')
    with pytest.raises(NotAGeneratorError, match=r'^--arch RRDBNet needs a checkpoint \(--model_path\)\.$'):
        load_generator(arch='RRDBNet')


def test_load_generator_prefers_ema_weights_in_eval_mode(tmp_path):
    opt = dict(type='MSRResNet', num_in_ch=3, num_out_ch=3, num_feat=8, num_block=1, upscale=2)
    torch.manual_seed(0)
    plain, ema = build_network(dict(opt)).state_dict(), build_network(dict(opt)).state_dict()
    torch.save({'params': plain, 'params_ema': ema}, tmp_path / 'g.pth')
    net, found = load_generator(str(tmp_path / 'g.pth'))
    assert found == opt and not net.training
    assert all(torch.equal(v, ema[k]) for k, v in net.state_dict().items())
    net, _ = load_generator(str(tmp_path / 'g.pth'), param_keys=('params',))
    assert all(torch.equal(v, plain[k]) for k, v in net.state_dict().items())


def test_param_keys_choose_the_set_that_is_read(tmp_path):
    opt = dict(type='MSRResNet', num_in_ch=3, num_out_ch=3, num_feat=8, num_block=1, upscale=2)
    plain = build_network(dict(opt)).state_dict()
    torch.save({'params': plain, 'params_ema': {'enc1.weight': zeros(1)}}, tmp_path / 'g.pth')
    net, found = load_generator(str(tmp_path / 'g.pth'), param_keys=('params',))
    assert found == opt and all(torch.equal(v, plain[k]) for k, v in net.state_dict().items())
    with pytest.raises(NotAGeneratorError, match=r'g.pth: not a generator of this project .*UNetDiscriminatorFA'):
        load_generator(str(tmp_path / 'g.pth'))


def test_a_forced_arch_is_what_the_checkpoint_is_read_as(tmp_path):
    torch.save(build_network(dict(type='RRDBNet', num_in_ch=3, num_out_ch=3, num_feat=8, num_block=1,
                                 num_grow_ch=4)).state_dict(),
               tmp_path / 'g.pth')
    assert load_generator(str(tmp_path / 'g.pth'), arch='RRDBNet')[1]['type'] == 'RRDBNet'
    with pytest.raises(NotAGeneratorError, match=rf"^{tmp_path / 'g.pth'}: its weights do not fit a MSRResNet "
                                                 r"\('body.0.conv1.weight'\)"):
        load_generator(str(tmp_path / 'g.pth'), arch='MSRResNet')


def test_an_unreadable_or_unfitting_checkpoint_is_not_a_generator(tmp_path):
    (tmp_path / 'cut.pth').write_bytes(b'PK\x03\x04 not a whole zip')
    with pytest.raises(NotAGeneratorError, match=r'cut.pth: not a readable checkpoint .* Expected a generator '
                                                 r'checkpoint of this project \(net_g_\*\.pth\)\.$'):
        load_generator(str(tmp_path / 'cut.pth'))
    state = build_network(dict(type='MSRResNet', num_feat=8, num_block=1, upscale=4)).state_dict()
    state['conv_hr.weight'] = zeros(8, 8, 1, 1)  # a shape the options read from the keys cannot give
    torch.save(state, tmp_path / 'odd.pth')
    with pytest.raises(NotAGeneratorError, match=r'odd.pth: does not fit MSRResNet — 1 tensor\(s\) of another shape'):
        load_generator(str(tmp_path / 'odd.pth'))


def test_network_scale_reads_scale_or_upscale():
    assert network_scale({'scale': 2}) == 2 and network_scale({'upscale': 3}) == 3 and network_scale({}) == 4
    assert network_scale({'scale': 1, 'upscale': 3}) == 1


# ------------------------------------------------------------------------------------------------ tiling
class PerPixel(nn.Module):
    """×2 super-resolution that looks at one LR pixel per output pixel: tiles are exact."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 12, 1)
        self.shuffle = nn.PixelShuffle(2)

    def forward(self, x):
        return self.shuffle(self.conv(x))


class Radius1(PerPixel):
    """The same with a 3 × 3 convolution: a receptive radius of 1 LR pixel."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 12, 3, padding=1)


@pytest.mark.parametrize('tile', [1, 2, 3, 7, 20])
def test_tiles_of_a_per_pixel_network_equal_the_whole_image(tile):
    torch.manual_seed(0)
    net, lr = PerPixel().eval(), torch.rand(2, 3, 7, 5)
    whole = upscale(net, lr, 2)
    assert whole.shape == (2, 3, 14, 10) and whole.dtype == torch.float32
    assert torch.allclose(upscale(net, lr, 2, tile=tile, tile_pad=0), whole, atol=1e-6)


@pytest.mark.parametrize('tile', [2, 3, 4])
def test_context_of_the_receptive_radius_makes_tiles_exact_and_none_does_not(tile):
    torch.manual_seed(0)
    net, lr = Radius1().eval(), torch.rand(1, 3, 7, 6)
    whole = upscale(net, lr, 2)
    assert torch.allclose(upscale(net, lr, 2, tile=tile, tile_pad=1), whole, atol=1e-6)
    assert torch.allclose(upscale(net, lr, 2, tile=tile, tile_pad=3), whole, atol=1e-6)
    error = (upscale(net, lr, 2, tile=tile, tile_pad=0) - whole).abs().amax(dim=(0, 1))  # (14, 12)

    def by_a_seam(i, size):  # an LR row/column next to a tile border inside the image
        return (i % tile == 0 and i > 0) or ((i + 1) % tile == 0 and i + 1 < size)
    near = torch.tensor([[by_a_seam(y // 2, 7) or by_a_seam(x // 2, 6) for x in range(12)] for y in range(14)])
    assert error[~near].amax() < 1e-6 and error[near].amin() > 0  # without context: wrong exactly along the seams


def test_negative_context_is_refused():
    with pytest.raises(ValueError, match=r'^tile_pad must be >= 0, got -1\.$'):
        upscale(PerPixel(), torch.rand(1, 3, 4, 4), 2, tile=2, tile_pad=-1)
    upscale(PerPixel(), torch.rand(1, 3, 4, 4), 2, tile=0, tile_pad=-1)  # not tiled: no context used


@pytest.mark.parametrize('tile', [0, 3])
def test_mixed_precision_output_is_float32_close_to_full_precision(tile):
    torch.manual_seed(0)
    net, lr = Radius1().eval(), torch.rand(1, 3, 6, 6)
    full = upscale(net, lr, 2, tile=tile, tile_pad=1)
    bf16 = upscale(net, lr, 2, tile=tile, tile_pad=1, amp_dtype=torch.bfloat16)
    assert bf16.dtype == torch.float32 and not torch.equal(bf16, full)  # it did run in bfloat16
    assert torch.allclose(bf16, full, atol=0.05)


def test_fp16_runs_in_fp16_and_full_precision_without_autocast():
    torch.manual_seed(0)
    net, lr = Radius1().eval(), torch.rand(1, 3, 6, 6)
    full = upscale(net, lr, 2)
    fp16 = upscale(net, lr, 2, amp_dtype=torch.float16)
    bf16 = upscale(net, lr, 2, amp_dtype=torch.bfloat16)
    assert fp16.dtype == torch.float32 and not torch.equal(fp16, full) and not torch.equal(fp16, bf16)
    assert (fp16 - full).abs().max() < (bf16 - full).abs().max()  # 10 bits of mantissa against 7
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # e.g. "In CPU autocast, but the target dtype is not supported"
        assert torch.equal(upscale(net, lr, 2), full)


def test_the_output_is_assembled_where_asked_and_carries_no_graph():
    net, lr = PerPixel(), torch.rand(1, 3, 4, 4)
    for tile in (0, 2):
        out = upscale(net, lr, 2, tile=tile, out_device=torch.device('meta'))
        assert out.device.type == 'meta' and out.shape == (1, 3, 8, 8) and not out.requires_grad
        assert not upscale(net, lr, 2, tile=tile).requires_grad


def test_timer_synchronises_cuda_only(monkeypatch):
    synced = []
    monkeypatch.setattr(torch.cuda, 'synchronize', synced.append)
    with Timer('cpu') as timer:
        pass
    assert synced == [] and 0 <= timer.seconds < 1
    with Timer('cuda:1') as timer:
        assert synced == ['cuda:1']
    assert synced == ['cuda:1', 'cuda:1'] and timer.seconds >= 0
    assert Timer().seconds is None and Timer().device == 'cpu'
