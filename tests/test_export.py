"""export.py: ONNX files run in onnxruntime as the torch network does on a real photograph; safetensors files load in
spandrel with the same outputs; earlier Fs checkpoints come out under plain names; refusals are one line, exit 2.

The two ONNX exports of the shared fixture (float32, float16) take most of this module's time (torch's exporter
traces the network: several seconds each, more on a busy machine).
"""
import json
import os
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime
import pytest
import spandrel
import torch
from basicsr.archs import build_network
from basicsr.archs.rrdbnet_arch import RRDBNet
from basicsr.archs.srresnet_arch import MSRResNet
from conftest import TINY_D
from safetensors import safe_open
from safetensors.torch import load_file

from fasrgan_basicsr.archs.fs_rrdbnet_arch import FsRRDBNet
from fasrgan_basicsr.archs.fs_split import to_split_state_dict
from fasrgan_basicsr.cli import export
from fasrgan_basicsr.demos.photos import load_photo
from fasrgan_basicsr.interop import spandrel as spandrel_support
from fasrgan_basicsr.utils.cli import run_cli

OPTIONS = {'type': 'RRDBNet', 'num_in_ch': 3, 'num_out_ch': 3, 'scale': 4, 'num_feat': 8, 'num_block': 1,
           'num_grow_ch': 32}
# Measured on this stack (torch 2.14.1, onnxruntime 1.32.0, CPU) for the network and photographs below:
# float32 ONNX vs torch max |difference| 1.07e-6 (mean 8e-8); float16 ONNX vs torch (float32) 9.6e-4 (mean 1.3e-4),
# a quarter of an 8-bit grey level. The bounds leave a factor of about 10 (float32) and 4 (float16).
FP32_BOUND = 1e-5
FP16_BOUND = 4e-3


def image_like_rrdbnet(seed=0):
    """A tiny RRDBNet (8 features, 1 RRDB, ESRGAN's growth 32) whose output is image-like: its convs outside the RRDB
    pass the RGB channels through (plus small random weights), so it upsamples roughly like nearest-neighbour and
    its outputs span [0, 1] as a trained generator's do; the RRDB and all other weights stay random."""
    torch.manual_seed(seed)
    net = RRDBNet(3, 3, num_feat=8, num_block=1, num_grow_ch=32)
    with torch.no_grad():
        for conv in (net.conv_first, net.conv_up1, net.conv_up2, net.conv_hr, net.conv_last):
            conv.weight.mul_(0.1)
            conv.bias.zero_()
            for c in range(3):
                conv.weight[c, c, 1, 1] += 1
    return net


def photos(h=40, w=28):
    """Two crops of scikit-image's astronaut (face, and flag/suit edges), (2, 3, h, w) in [0, 1]: not the export's
    example size, and a batch of 2, so the dynamic axes are exercised."""
    img = load_photo('astronaut')
    crops = [img[y:y + h, x:x + w] for y, x in ((180, 200), (250, 300))]
    return torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float().div(255)


def run_export(*args):
    return run_cli(export.main, [str(a) for a in args])


@pytest.fixture(scope='module')
def exported(tmp_path_factory):
    """net_g.pth (params + params_ema) exported to every default format, float32 and float16."""
    root = tmp_path_factory.mktemp('export')
    ema = image_like_rrdbnet(0).state_dict()
    torch.save({'params': image_like_rrdbnet(1).state_dict(), 'params_ema': ema}, root / 'net_g.pth')
    assert run_export('-i', root / 'net_g.pth', '-o', root / 'out', '--fp16') == 0
    return root, ema


def torch_output(state, x):
    net = RRDBNet(3, 3, num_feat=8, num_block=1, num_grow_ch=32).eval()
    net.load_state_dict(state, strict=True)
    with torch.no_grad():
        return net(x)


def test_writes_the_files_it_names(exported):
    root, _ = exported
    assert sorted(os.listdir(root / 'out')) == ['net_g.json', 'net_g.md', 'net_g.onnx', 'net_g.safetensors',
                                                 'net_g_example.png', 'net_g_example_lr.png', 'net_g_example_sr.png',
                                                 'net_g_fp16.onnx', 'net_g_fp16.safetensors']  # and the model card
    card = json.loads((root / 'out' / 'net_g.json').read_text())
    assert [(r['type'], r['size']) for r in card['resources']] == [
        ('onnx', os.path.getsize(root / 'out' / name)) for name in ('net_g.onnx', 'net_g_fp16.onnx')]


@pytest.mark.parametrize('name,dtype,bound', [('net_g.onnx', np.float32, FP32_BOUND),
                                              ('net_g_fp16.onnx', np.float16, FP16_BOUND)])
def test_onnx_runs_in_onnxruntime_as_torch_on_a_photograph(exported, name, dtype, bound):
    root, ema = exported
    model = onnx.load(str(root / 'out' / name))
    dims = [[d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim] for v in (*model.graph.input,
                                                                                        *model.graph.output)]
    assert dims == [['batch', 3, 'height', 'width'], ['batch', 3, '4*height', '4*width']]
    assert {o.domain: o.version for o in model.opset_import}[''] == 18
    session = onnxruntime.InferenceSession(str(root / 'out' / name), providers=['CPUExecutionProvider'])
    x = photos()
    result = session.run(None, {'input': x.numpy().astype(dtype)})[0]
    assert result.dtype == dtype and result.shape == (2, 3, 160, 112)
    expected = torch_output(ema, x)  # params_ema is what was exported
    assert 0.5 < expected.max() <= 1.05 and expected.min() > -0.05  # image-like outputs: the bound means something
    assert np.abs(result.astype(np.float32) - expected.numpy()).max() <= bound


def test_safetensors_loads_in_spandrel_and_basicsr_with_the_same_outputs(exported):
    root, ema = exported
    path = root / 'out' / 'net_g.safetensors'
    x = photos()[:1]
    model = spandrel.ModelLoader().load_from_file(path)
    assert model.architecture.id == 'ESRGAN' and model.scale == 4 and '1nb' in model.tags
    with torch.no_grad():
        assert (model.model(x) - torch_output(ema, x)).abs().max().item() <= 1e-6
    weights = load_file(path)
    assert weights.keys() == ema.keys() and all(torch.equal(weights[k], v) for k, v in ema.items())
    with safe_open(str(path), 'pt') as f:
        metadata = f.metadata()
    assert json.loads(metadata['network_g']) == OPTIONS and 'trained_as' not in metadata
    build_network(json.loads(metadata['network_g'])).load_state_dict(weights, strict=True)
    half = load_file(root / 'out' / 'net_g_fp16.safetensors')
    assert all(half[k].dtype == torch.float16 and torch.equal(half[k], v.half()) for k, v in ema.items())


def test_an_earlier_fs_checkpoint_is_written_under_plain_names(tmp_path):
    torch.manual_seed(0)
    fs = FsRRDBNet(num_feat=8, num_grow_ch=32, num_shared_block=1, num_block=2).eval()
    torch.save({'params': to_split_state_dict(fs.state_dict(), 1)}, tmp_path / 'fs_old.pth')  # extractor.* names
    out = tmp_path / 'out'
    assert run_export('-i', tmp_path / 'fs_old.pth', '-o', out, '--format', 'safetensors', 'pth',
                      '--no_card') == 0
    assert sorted(os.listdir(out)) == ['fs_old.pth', 'fs_old.safetensors']
    with safe_open(str(out / 'fs_old.safetensors'), 'pt') as f:
        assert json.loads(f.metadata()['network_g']) == dict(OPTIONS, num_block=3)
        assert json.loads(f.metadata()['trained_as']) == {
            'type': 'FsRRDBNet', 'num_in_ch': 3, 'num_out_ch': 3, 'num_feat': 8, 'num_shared_block': 1,
            'num_block': 2, 'num_grow_ch': 32}
    x = photos()[:1]
    with torch.no_grad():
        expected = fs(x)
        model = spandrel.ModelLoader().load_from_file(out / 'fs_old.safetensors')
        assert '3nb' in model.tags and (model.model(x) - expected).abs().max().item() <= 1e-6
        for weights in (load_file(out / 'fs_old.safetensors'), torch.load(out / 'fs_old.pth')['params']):
            rrdbnet = RRDBNet(3, 3, num_feat=8, num_block=3, num_grow_ch=32).eval()
            rrdbnet.load_state_dict(weights, strict=True)  # e.g. BasicSR's inference_esrgan.py reads ['params']
            assert torch.equal(rrdbnet(x), expected)


def test_msrresnet_onnx_keeps_the_bilinear_skip(tmp_path):
    torch.manual_seed(0)
    net = MSRResNet(num_feat=8, num_block=1, upscale=4).eval()  # SRGAN_FA / SRGAN_Fs: output = body + bilinear(x)
    torch.save({'params': net.state_dict()}, tmp_path / 'srgan.pth')
    assert run_export('-i', tmp_path / 'srgan.pth', '-o', tmp_path, '--format', 'onnx', '--opset', 17) == 0
    assert {o.domain: o.version for o in onnx.load(str(tmp_path / 'srgan.onnx')).opset_import}[''] == 17
    session = onnxruntime.InferenceSession(str(tmp_path / 'srgan.onnx'), providers=['CPUExecutionProvider'])
    x = photos()
    with torch.no_grad():
        expected = net(x).numpy()
    assert np.abs(session.run(None, {'input': x.numpy()})[0] - expected).max() <= FP32_BOUND
    spandrel_support.install()
    assert spandrel.ModelLoader().load_from_file(tmp_path / 'srgan.pth').architecture.id == 'MSRResNet'


# ------------------------------------------------------------------------------------------------------ refusals
def one_line_error(capsys):
    err = capsys.readouterr().err
    assert err.startswith('error: ') and err.count('\n') == 1, err
    return err


def test_an_existing_output_is_kept_byte_for_byte_and_nothing_is_written(exported, tmp_path, capsys):
    root, _ = exported
    out = tmp_path / 'out'
    out.mkdir()
    (out / 'net_g.onnx').write_bytes(b'mine')
    assert run_export('-i', root / 'net_g.pth', '-o', out) == 2
    assert 'net_g.onnx: exists; pass --overwrite to replace it.' in one_line_error(capsys)
    assert os.listdir(out) == ['net_g.onnx'] and (out / 'net_g.onnx').read_bytes() == b'mine'
    assert run_export('-i', root / 'net_g.pth', '-o', out, '--format', 'safetensors', '--overwrite', '--no_card') == 0
    assert sorted(os.listdir(out)) == ['net_g.onnx', 'net_g.safetensors']  # only what was asked for
    torch.save({'params': {'conv.weight': torch.zeros(1)}}, tmp_path / 'same.pth')
    assert run_export('-i', tmp_path / 'same.pth', '-o', tmp_path, '--format', 'pth', '--overwrite') == 2
    assert 'same.pth: is the input checkpoint' in one_line_error(capsys)  # never overwritten, even so


def test_a_discriminator_checkpoint_is_refused_before_anything_is_written(tmp_path, capsys):
    torch.save({'params': build_network(dict(TINY_D)).state_dict()}, tmp_path / 'net_d.pth')
    assert run_export('-i', tmp_path / 'net_d.pth', '-o', tmp_path / 'out') == 2
    err = one_line_error(capsys)
    assert 'net_d.pth: not a generator of this project' in err and 'UNetDiscriminatorFA' in err
    assert not (tmp_path / 'out').exists()
    (tmp_path / 'file').write_text('')
    assert run_export('-i', tmp_path / 'net_d.pth', '-o', tmp_path / 'file') == 2
    assert 'file: is a file; expected a folder.' in one_line_error(capsys)


class RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}',)


def test_a_code_running_pickle_is_refused_by_the_real_script(tmp_path):
    marker = tmp_path / 'ran'
    torch.save({'params': RunsCode(marker)}, tmp_path / 'evil.pth')
    proc = subprocess.run([sys.executable, '-m', 'fasrgan_basicsr.cli.export', '-i', str(tmp_path / 'evil.pth'),
                           '-o', str(tmp_path / 'out')],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and proc.stderr.count('\n') == 1, proc.stderr
    assert proc.stderr.startswith(f'error: {tmp_path / "evil.pth"}: refused') and 'arbitrary code' in proc.stderr
    assert not marker.exists() and not (tmp_path / 'out').exists() and proc.stdout == ''


def test_an_opset_below_what_the_exporter_writes_is_an_argument_error(capsys):
    assert run_cli(export.main, ['-i', 'g.pth', '-o', 'out', '--opset', '11']) == 2
    assert '--opset 11' in capsys.readouterr().err
