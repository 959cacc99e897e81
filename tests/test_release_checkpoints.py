"""The authors' released checkpoints (old ESRGAN key layout, bare state dicts; Fs models as two files) load through
every entry point that takes a generator, with the output of the release's own modules.

The release modules are this test suite's reconstruction (``release_modules.py``) with random weights: an RRDB
generator (``RRDB_net``), the SRResNet (``sr_resnet``) and the Fs pairs ``model_ex`` + ``RRDBNet_G`` of E1 (whose
lone RRDB the release stores without an index) and E2.
"""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import yaml
from basicsr.archs import build_network
from conftest import run_entry, srmodel_test_options
from release_modules import (
    ReleaseModelEx,
    ReleaseRRDBNet,
    ReleaseSRResNetModule,
    ReleaseUNet,
    randomised,
    save_bare,
)
from skimage import data

from fasrgan_basicsr.archs import release_layouts
from fasrgan_basicsr.cli import export, inference, join_fs
from fasrgan_basicsr.generators.loading import NotAGeneratorError, load_generator
from fasrgan_basicsr.utils.checkpoint import CheckpointError, read_weights
from fasrgan_basicsr.utils.cli import run_cli
from fasrgan_basicsr.utils.state_layouts import identify

NF = 8


def vivid(net, seed):
    """Weights of unit gain (N(0, 1/fan_in)), zero biases, a mid-grey output bias: image-like, varied outputs."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in net.named_parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * p[0].numel() ** -0.5 if name.endswith('weight') else
                    torch.zeros_like(p))
        last = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)][-1]
        if last.out_channels == 3:
            last.bias.fill_(0.5)
    return net.eval()


def lr_photo(h=12, w=16):
    """A crop of scikit-image's chelsea downscaled ×4 (BGR uint8): real LR content."""
    img = cv2.cvtColor(data.chelsea(), cv2.COLOR_RGB2BGR)[100:100 + 4 * h, 180:180 + 4 * w]
    return cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)


def as_tensor(bgr):
    return torch.from_numpy(np.ascontiguousarray(bgr[..., ::-1])).permute(2, 0, 1).float().div(255).unsqueeze(0)


def as_uint8_bgr(out):
    return (out[0].clamp(0, 1).permute(1, 2, 0).numpy()[..., ::-1] * 255).round().astype(np.uint8)


class Pair(torch.nn.Module):
    """The release's Fs test(): ``G(E(x))``."""

    def __init__(self, e, g):
        super().__init__()
        self.e, self.g = e, g

    def forward(self, x):
        return self.g(self.e(x))


@pytest.fixture(scope='module')
def release(tmp_path_factory):
    """``{name: (release module, its file)}``: the release's own files (bare state dicts) and two joined pairs."""
    root = tmp_path_factory.mktemp('release')
    nets = {
        'rrdb': vivid(ReleaseRRDBNet(nf=NF, nb=2, gc=32), 0),  # growth 32: spandrel's ESRGAN requires it
        'srresnet': vivid(ReleaseSRResNetModule(nf=NF, nb=2), 1),
        'fs_e1': vivid(ReleaseModelEx(nf=NF, nb=1, gc=4), 2),
        'fs_g1': vivid(ReleaseRRDBNet(in_nc=NF, nf=NF, nb=2, gc=4), 3),
        'fs_e2': vivid(ReleaseModelEx(nf=NF, nb=2, gc=4), 4),
        'fs_g2': vivid(ReleaseRRDBNet(in_nc=NF, nf=NF, nb=1, gc=4), 5),
        'unet_d': randomised(ReleaseUNet(), 6),
    }
    found = {name: (net, save_bare(net, root / f'{name}.pth')) for name, net in nets.items()}
    for pair in ('1', '2'):
        out = root / f'fs{pair}_joined.pth'
        code = run_cli(join_fs.main, ['--extractor', str(found[f'fs_e{pair}'][1]), '--generator',
                                      str(found[f'fs_g{pair}'][1]), '-o', str(out)])
        assert code == 0
        found[f'fs{pair}'] = (Pair(found[f'fs_e{pair}'][0], found[f'fs_g{pair}'][0]).eval(), out)
    return found


GENERATORS = {  # name → network_g recognised from the file
    'rrdb': dict(type='RRDBNet', num_in_ch=3, num_out_ch=3, scale=4, num_feat=NF, num_block=2, num_grow_ch=32),
    'srresnet': dict(type='ReleaseSRResNet', num_in_ch=3, num_out_ch=3, num_feat=NF, num_block=2, upscale=4),
    'fs1': dict(type='FsRRDBNet', num_in_ch=3, num_out_ch=3, num_feat=NF, num_shared_block=1, num_block=2,
                num_grow_ch=4, layout='stacked'),
    'fs2': dict(type='FsRRDBNet', num_in_ch=3, num_out_ch=3, num_feat=NF, num_shared_block=2, num_block=1,
                num_grow_ch=4, layout='stacked'),
}


def expected(net, x):
    with torch.no_grad():
        return net(x)


# ------------------------------------------------------------------------------------------ the reconstruction
def test_the_reconstruction_has_the_old_esrgan_key_layout(release):
    rrdb = list(release['rrdb'][0].state_dict())
    assert [k for k in rrdb if 'RDB' not in k] == [f'model.{i}.{p}' for i in ('0', '1.sub.2', '3', '6', '8', '10')
                                                   for p in ('weight', 'bias')]
    assert 'model.1.sub.0.RDB1.conv1.0.weight' in rrdb and 'model.1.sub.1.RDB3.conv5.0.bias' in rrdb
    assert list(release['fs_e1'][0].state_dict())[2] == 'model.1.sub.RDB1.conv1.0.weight'  # a lone block: no index
    assert 'model.1.sub.1.RDB1.conv1.0.weight' in release['fs_e2'][0].state_dict()
    assert tuple(release['fs_g1'][0].state_dict()['model.0.weight'].shape) == (NF, NF, 3, 3)  # RRDBNet(in_nc=nf)
    srres = [k for k in release['srresnet'][0].state_dict() if '.res.' not in k]
    assert srres == [f'model.{i}.{p}' for i in ('0', '1.sub.2', '2', '5', '8', '10') for p in ('weight', 'bias')]


@pytest.mark.parametrize('upscale', [2, 3, 4])
def test_release_srresnet_of_every_upscale_maps_onto_release_srresnet(tmp_path, upscale):
    net = vivid(ReleaseSRResNetModule(nf=NF, nb=3, upscale=upscale), 7)
    path = save_bare(net, tmp_path / 'srresnet.pth')
    loaded, opt = load_generator(str(path))
    assert opt == dict(type='ReleaseSRResNet', num_in_ch=3, num_out_ch=3, num_feat=NF, num_block=3, upscale=upscale)
    x = as_tensor(lr_photo())
    assert torch.allclose(expected(loaded, x), expected(net, x), atol=1e-6, rtol=0)


# ------------------------------------------------------------------------------------------ loading
@pytest.mark.parametrize('name', list(GENERATORS))
def test_load_generator_recognises_each_and_computes_the_release_output(release, name):
    net, path = release[name]
    loaded, opt = load_generator(str(path))
    assert opt == GENERATORS[name]
    x = as_tensor(lr_photo())
    want = expected(net, x)
    assert want.std() > 0.05 and want.shape == (1, 3, 48, 64)  # varied, image-like: the comparison means something
    assert torch.allclose(expected(loaded, x), want, atol=1e-6, rtol=0)


def test_the_loader_says_which_layout_it_read(release):
    stored = read_weights(str(release['rrdb'][1]))
    assert stored.layout.name == 'release-rrdbnet' and stored.param_key is None
    assert 'conv_first.weight' in stored.state and 'body.1.rdb3.conv5.bias' in stored.state
    assert read_weights(str(release['fs1'][1])).layout is None  # the joined file is this project's own


def test_joined_checkpoint_holds_the_stacked_generator_under_params(release):
    ckpt = torch.load(release['fs1'][1], weights_only=True)
    assert list(ckpt) == ['params']
    keys = list(ckpt['params'])
    assert keys[:3] == ['extractor.conv_first.weight', 'extractor.conv_first.bias',
                        'extractor.body.0.rdb1.conv1.weight']
    assert 'conv_entry.weight' in keys and 'body.1.rdb3.conv5.bias' in keys and 'body.2.rdb1.conv1.weight' not in keys
    e, g = release['fs_e1'][0].state_dict(), release['fs_g1'][0].state_dict()
    assert torch.equal(ckpt['params']['extractor.body.0.rdb2.conv3.weight'], e['model.1.sub.RDB2.conv3.0.weight'])
    assert torch.equal(ckpt['params']['conv_entry.weight'], g['model.0.weight'])
    assert torch.equal(ckpt['params']['conv_last.bias'], g['model.10.bias'])


def spandrel_loader():
    """spandrel's loader with this project's architectures installed in a copy of its registry (no global change)."""
    spandrel = pytest.importorskip('spandrel')
    from fasrgan_basicsr.interop import spandrel as support
    registry = spandrel.MAIN_REGISTRY.copy()
    support.install(registry)
    return spandrel.ModelLoader(registry=registry)


@pytest.mark.parametrize('name, arch', [('fs1', 'FsRRDBNet'), ('fs2', 'FsRRDBNet'), ('rrdb', 'ESRGAN')])
def test_spandrel_loads_the_joined_pairs_and_the_release_rrdb_file_with_equal_output(release, name, arch):
    net, path = release[name]
    model = spandrel_loader().load_from_file(str(path))
    assert model.architecture.id == arch and model.scale == 4
    x = as_tensor(lr_photo())
    want = expected(net, x)
    with torch.no_grad():
        assert torch.allclose(model.model(x), want, atol=1e-6, rtol=0)
        assert torch.allclose(model(x), want.clamp(0, 1), atol=1e-6, rtol=0)  # spandrel clamps to [0, 1]


# ------------------------------------------------------------------------------------------ fasrgan-infer
@pytest.mark.parametrize('name', list(GENERATORS))
def test_fasrgan_infer_takes_the_release_file_and_writes_the_release_output(release, name, tmp_path):
    net, path = release[name]
    lr = lr_photo()
    cv2.imwrite(str(tmp_path / 'cat.png'), lr)
    code = run_cli(inference.main, ['-i', str(tmp_path / 'cat.png'), '-o', str(tmp_path / 'out'), '--model_path',
                                    str(path)])
    assert code == 0
    got = cv2.imread(str(tmp_path / 'out' / 'cat_x4.png'))
    want = as_uint8_bgr(expected(net, as_tensor(lr)))
    diff = np.abs(got.astype(int) - want.astype(int))
    assert diff.max() <= 1 and (diff == 0).mean() > 0.99  # equal but for a rounding at .5 from float round-off


# ------------------------------------------------------------------------------------------ test.py
@pytest.mark.subprocess
@pytest.mark.parametrize('name', ['rrdb', 'srresnet', 'fs1'])
def test_test_py_loads_the_release_file_through_pretrain_network_g(release, name, tmp_path, tiny_data):
    net, path = release[name]
    network_g = {k: v for k, v in GENERATORS[name].items() if k != 'scale'}
    opt = srmodel_test_options(tiny_data, f'release_{name}', network_g, str(path), param_key='params')
    run_entry('test.py', opt, tmp_path)
    results = tmp_path / 'results' / f'release_{name}'
    log = next(results.glob('test_*.log')).read_text()
    if name != 'fs1':
        assert 'in the old ESRGAN layout' in log or 'old layout, which_model_G sr_resnet' in log
    sr = cv2.imread(str(next((results / 'visualization' / 'tiny_val').glob('*.png'))))
    lq = cv2.imread(str(sorted(Path(tiny_data['val_lq']).glob('*.png'))[0]))
    want = as_uint8_bgr(expected(net, as_tensor(lq)))
    diff = np.abs(sr.astype(int) - want.astype(int))
    assert sr.shape == want.shape and diff.max() <= 1 and (diff == 0).mean() > 0.99


# ------------------------------------------------------------------------------------------ fasrgan-export
@pytest.mark.parametrize('name, plain', [('rrdb', True), ('srresnet', False), ('fs1', False)])
def test_fasrgan_export_writes_the_release_generator(release, name, plain, tmp_path):
    from safetensors import safe_open
    from safetensors.torch import load_file
    net, path = release[name]
    code = run_cli(export.main, ['-i', str(path), '-o', str(tmp_path), '--format', 'safetensors'])
    assert code == 0
    out = tmp_path / f'{path.stem}.safetensors'
    with safe_open(str(out), 'pt') as f:
        network_g = json.loads(f.metadata()['network_g'])
    rebuilt = build_network(dict(network_g)).eval()
    rebuilt.load_state_dict(load_file(out), strict=True)
    x = as_tensor(lr_photo())
    assert torch.allclose(expected(rebuilt, x), expected(net, x), atol=1e-6, rtol=0)
    assert (network_g['type'] == 'RRDBNet') == plain
    if name == 'srresnet':  # this project's names: spandrel reads them once this project's archs are installed
        model = spandrel_loader().load_from_file(str(out))
        assert model.architecture.id == 'ReleaseSRResNet'
        with torch.no_grad():
            assert torch.allclose(model.model(x), expected(net, x), atol=1e-6, rtol=0)


@pytest.mark.subprocess
def test_fasrgan_export_onnx_of_the_joined_pair_runs_as_the_release(release, tmp_path, capsys):
    onnxruntime = pytest.importorskip('onnxruntime')
    net, path = release['fs2']
    assert run_cli(export.main, ['-i', str(path), '-o', str(tmp_path), '--format', 'onnx']) == 0
    session = onnxruntime.InferenceSession(str(tmp_path / 'fs2_joined.onnx'), providers=['CPUExecutionProvider'])
    x = as_tensor(lr_photo())
    got = session.run(None, {'input': x.numpy()})[0]
    assert np.abs(got - expected(net, x).numpy()).max() < 1e-4


# ------------------------------------------------------------------------------------------ what is refused
ONE_LINERS = {
    'fs_g1': ("the authors' release Fs generator part (RRDBNet_G", 'fasrgan-join-fs'),
    'fs_e1': ("the authors' release shared feature extractor (model_ex", 'fasrgan-join-fs'),
    'unet_d': ("the authors' release UNet discriminator", 'not a generator'),
}


@pytest.mark.parametrize('name', list(ONE_LINERS))
def test_a_partial_file_or_a_discriminator_is_named_by_the_loader(release, name):
    _, path = release[name]
    with pytest.raises(NotAGeneratorError) as err:
        load_generator(str(path))
    message = str(err.value)
    assert '\n' not in message and message.startswith(f'{path}: ')
    assert all(part in message for part in ONE_LINERS[name])
    with pytest.raises(CheckpointError, match='not loadable on its own'):
        read_weights(str(path))


@pytest.mark.parametrize('command', ['infer', 'export'])
@pytest.mark.parametrize('name', list(ONE_LINERS))
def test_the_commands_refuse_it_in_one_line_with_status_2(release, name, command, tmp_path, capsys):
    _, path = release[name]
    cv2.imwrite(str(tmp_path / 'a.png'), lr_photo())
    argv = (['-i', str(tmp_path / 'a.png'), '-o', str(tmp_path / 'out'), '--model_path', str(path)]
            if command == 'infer' else ['-i', str(path), '-o', str(tmp_path / 'out')])
    assert run_cli(inference.main if command == 'infer' else export.main, argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f'error: {path}: ') and ONE_LINERS[name][0] in lines[0]
    assert not (tmp_path / 'out').exists() or not any((tmp_path / 'out').iterdir())


@pytest.mark.subprocess
def test_test_py_refuses_the_generator_part_in_one_line(release, tmp_path, tiny_data):
    _, path = release['fs_g1']
    opt = srmodel_test_options(tiny_data, 'part', {k: v for k, v in GENERATORS['fs1'].items()}, str(path))
    proc = run_entry('test.py', opt, tmp_path, check=False)
    assert proc.returncode == 2
    assert "the authors' release Fs generator part (RRDBNet_G" in proc.stderr and 'fasrgan-join-fs' in proc.stderr
    assert str(path) in proc.stderr


def join(release, extractor, generator, out, *extra):
    return run_cli(join_fs.main, ['--extractor', str(release[extractor][1]) if extractor in release else extractor,
                                  '--generator', str(release[generator][1]) if generator in release else generator,
                                  '-o', str(out), *extra])


@pytest.mark.parametrize('extractor, generator, says', [
    ('fs_g1', 'fs_e1', 'the files are swapped: --extractor {fs_g1} is the authors\' release Fs generator part'),
    ('rrdb', 'fs_g1', '--extractor {rrdb} is the authors\' release RRDB generator (old ESRGAN layout, which_model_G '
                      'RRDB_net: 2 RRDBs, 8 features, ×4) — a whole generator, which loads as it is and needs no '
                      'joining; expected the release\'s shared extractor (model_ex, *_E.pth).'),
    ('fs_e1', 'unet_d', '--generator {unet_d} is the authors\' release UNet discriminator (FASRGAN / FA+Fs-SRGAN '
                        '*_D.pth); expected the release\'s Fs generator part (RRDBNet_G, *_G.pth).'),
    ('fs_e1', 'fs_e2', '--generator {fs_e2} is the authors\' release shared feature extractor (model_ex'),
    ('fs_e1', 'srresnet', '--generator {srresnet} is the authors\' release SRResNet'),
])
def test_join_names_what_each_wrong_file_is(release, extractor, generator, says, tmp_path, capsys):
    assert join(release, extractor, generator, tmp_path / 'j.pth') == 2
    err = capsys.readouterr().err.strip().splitlines()
    paths = {name: str(release[name][1]) for name in release}
    assert len(err) == 1 and err[0].startswith('error: ' + says.format(**paths)), err
    assert not (tmp_path / 'j.pth').exists()


def test_join_refuses_halves_of_two_networks_and_an_existing_output(release, tmp_path, capsys):
    other = save_bare(vivid(ReleaseRRDBNet(in_nc=12, nf=12, nb=1, gc=4), 9), tmp_path / 'g12.pth')
    assert join(release, 'fs_e1', str(other), tmp_path / 'j.pth') == 2
    assert 'gives 8 features (growth 4)' in capsys.readouterr().err and not (tmp_path / 'j.pth').exists()
    (tmp_path / 'j.pth').write_bytes(b'keep')
    assert join(release, 'fs_e1', 'fs_g1', tmp_path / 'j.pth') == 2
    assert 'exists; pass --overwrite' in capsys.readouterr().err and (tmp_path / 'j.pth').read_bytes() == b'keep'
    assert join(release, 'fs_e1', 'fs_g1', tmp_path / 'j.pth', '--overwrite') == 0
    out = capsys.readouterr().out
    assert yaml.safe_load(out.split('network_g:\n', 1)[1].split('wrote')[0]) == {
        k: v for k, v in GENERATORS['fs1'].items()}


def test_an_rrdb_release_generator_of_another_scale_is_refused_saying_why(tmp_path):
    path = save_bare(vivid(ReleaseRRDBNet(nf=NF, nb=1, gc=4, upscale=2), 10), tmp_path / 'x2.pth')
    with pytest.raises(NotAGeneratorError, match=r'upsamples ×2; only the release\'s ×4 RRDB_net'):
        load_generator(str(path))


def test_release_layouts_leave_this_projects_checkpoints_alone():
    for opt in (dict(type='RRDBNet', num_in_ch=3, num_out_ch=3, num_feat=8, num_block=1, num_grow_ch=4),
                dict(type='MSRResNet', num_feat=8),
                dict(type='UNetDiscriminatorFA', num_feat=4, input_size=32),
                dict(type='VGGFeatureDiscriminator', num_feat=4, input_size=32), GENERATORS['fs2']):
        state = build_network(dict(opt)).state_dict()
        assert release_layouts.parse(state) is None and identify(state) is None
