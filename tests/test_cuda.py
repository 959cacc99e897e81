"""The CUDA paths against their references: training steps, mixed precision, channels_last, torch.compile (inductor),
fused Adam, exact resume, torchrun with NCCL, fp16 tiled inference and LPIPS.

Every test takes ``device``: ``cuda`` (marked ``cuda``, skipped without a GPU; ``benchmarks/gpu_check.sh`` runs
``pytest -m cuda``) and, where the same code means something on a CPU, ``cpu``: a dry run of the test's own
machinery, with one model (the CPU's reference is the CPU itself, its half type bf16). What the CPU versions of
test_step_speedups, test_resilience and test_distributed already check runs here on CUDA only.

fp32 comparisons run with TF32 off (cuDNN convolutions and cuBLAS matrix products in full float32). Tolerance
between two fp32 computations with different kernels (CPU/CUDA, channels_last, inductor): losses relative 1e-4,
every gradient within 1e-3 × the largest gradient (test_step_speedups' measure). For scale, on the CPU: fp32 against
float64 is within 2e-5 for the three models; oneDNN's channels_last kernels are within 4e-4 for FA+Fs-SRGAN. A
wrong or missing gradient path is off by the size of the gradient itself.
"""
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
import yaml
from basicsr.archs import build_network
from conftest import NO_DATA, REPO, TINY_G, build_training_model, tiny_batch, tiny_options, write_stand_in_weights
from test_resilience import MODELS, assert_identical, opts, weights
from test_step_speedups import assert_same

CUDA = pytest.param('cuda', id='cuda', marks=[
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason='no CUDA device (benchmarks/gpu_check.sh on a GPU)')])
DEVICES = ['cpu', CUDA]
# (device, model): the three models on CUDA; the CPU dry run with FASRGAN
CASES = [('cpu', 'FASRGANModel')] + [pytest.param('cuda', m, id=f'cuda-{m}', marks=CUDA.marks) for m in MODELS]
CUDA_CASES = CASES[1:]
TOLERANCE = dict(grad_tol=1e-3, loss_rel=1e-4)
# half precision against fp32, on the same batch: losses (l_* terms) within `loss`, relative; the gradient of each
# network (all its parameters as one vector) at cosine similarity above `cos` to fp32's
HALF = {'bf16': dict(loss=0.05, cos=0.5), 'fp16': dict(loss=0.01, cos=0.8)}


@pytest.fixture(autouse=True)
def full_float32():
    """TF32 off for the test (fp32 references must be fp32); restored afterwards."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def build(tmp_path, device, model_type, lr=0, fused=None, **extra):
    """A tiny model of ``model_type`` on ``device``; with learning rate 0 a step leaves the weights as they are."""
    torch.manual_seed(0)
    opt = tiny_options(NO_DATA, model_type=model_type, **{**MODELS[model_type], **extra})
    opt['num_gpu'] = int(device == 'cuda')
    for key in ('optim_g', 'optim_d'):
        opt['train'][key].update(lr=lr, **({} if fused is None else {'fused': fused}))
    return build_training_model(opt, tmp_path / device)


def same_weights(model, source):
    """Give ``model`` the weights (and buffers) of ``source``, whatever their devices."""
    for net in ('net_g', 'net_d'):
        getattr(model, net).load_state_dict(getattr(source, net).state_dict())
    return model


def step(model, batch=None):
    """One iteration on ``batch``: (None, losses, gradients on the CPU), what test_step_speedups.assert_same takes."""
    model.feed_data(batch or tiny_batch())
    model.optimize_parameters(current_iter=1)
    grads = {f'{n}.{k}': p.grad.detach().float().cpu() for n, net in (('g', model.net_g), ('d', model.net_d))
             for k, p in net.named_parameters() if p.grad is not None}
    return None, {k: v.item() for k, v in model._last_terms.items()}, grads


@pytest.mark.parametrize('device, model_type', CASES)
def test_a_step_on_the_device_equals_the_cpu_step(tmp_path, device, model_type):
    reference = build(tmp_path, 'cpu', model_type)
    on_device = same_weights(build(tmp_path, device, model_type), reference)
    assert next(on_device.net_g.parameters()).device.type == device
    expected = step(reference)
    assert len(expected[2]) > 10 and set(expected[1]) >= {'l_g_pix', 'l_g_gan', 'l_d_real', 'l_d_fake'}
    assert_same(expected, step(on_device), **TOLERANCE)


@pytest.mark.parametrize('precision', list(HALF))
@pytest.mark.parametrize('device, model_type', CASES)
def test_half_precision_steps_are_finite_and_close_to_fp32(tmp_path, device, model_type, precision):
    fp32 = build(tmp_path, device, model_type)
    half = same_weights(build(tmp_path, device, model_type, mixed_precision=precision), fp32)
    assert half.grad_scaler.is_enabled() == (precision == 'fp16')
    _, losses, grads = step(fp32)
    # fp16: the scaler starts at 2^16; a step whose scaled gradients overflow is skipped (learning rate 0 here
    # anyway) and the scale halved, until the gradients fit. bf16 needs no scaler: its first step is finite
    scales = []
    for _ in range(12):
        scales.append(half.grad_scaler.get_scale() if precision == 'fp16' else None)
        _, half_losses, half_grads = step(half)
        if all(torch.isfinite(g).all() for g in half_grads.values()):
            break
        assert precision == 'fp16', 'non-finite bf16 gradients'
    else:
        raise AssertionError(f'fp16 gradients still overflow at scale {scales[-1]}')
    assert scales == [scales[0] / 2 ** i for i in range(len(scales))] if precision == 'fp16' else len(scales) == 1
    assert half_losses != losses  # autocast ran: the losses are computed in half precision
    for k, v in losses.items():
        if k.startswith('l_'):  # out_* are means of raw scores near 0, coarse in half precision
            assert half_losses[k] == pytest.approx(v, rel=HALF[precision]['loss'], abs=1e-3), k
    for part in ('g.', 'd.'):
        a = torch.cat([g.flatten() for k, g in grads.items() if k.startswith(part)])
        b = torch.cat([g.flatten() for k, g in half_grads.items() if k.startswith(part)])
        assert torch.nn.functional.cosine_similarity(a, b, dim=0) > HALF[precision]['cos'], part


@pytest.mark.parametrize('device, model_type', CASES)
def test_channels_last_step_equals_contiguous(tmp_path, device, model_type):
    contiguous = build(tmp_path, device, model_type)
    fast = same_weights(build(tmp_path, device, model_type, channels_last=True), contiguous)
    assert next(p for p in fast.net_g.parameters() if p.dim() == 4).is_contiguous(memory_format=torch.channels_last)
    assert_same(step(contiguous), step(fast), **TOLERANCE)


# on the CPU, test_step_speedups compiles with aot_eager (inductor's C++ compilation takes minutes there)
@pytest.mark.parametrize('device, model_type', CUDA_CASES)
def test_inductor_compiled_step_equals_eager(tmp_path, device, model_type):
    eager = build(tmp_path, device, model_type)
    compiled = same_weights(build(tmp_path, device, model_type, compile=True), eager)
    assert compiled.generator_forward is not compiled.net_g  # the compiled wrapper runs the step
    assert_same(step(eager), step(compiled), **TOLERANCE)


@pytest.mark.parametrize('device', DEVICES)
def test_fused_adam_on_the_device_makes_the_same_update(tmp_path, device):
    # the option files' fused Adam (one kernel) against the default Adam (multi-tensor on CUDA, for-loop on the CPU),
    # fed the same gradients: the step's own gradients are not bit-reproducible on CUDA (atomic adds)
    loop, fused = (build(tmp_path, device, 'FASRGANModel', lr=1e-3, fused=f) for f in (False, True))
    assert (loop.optimizer_g.defaults['fused'], fused.optimizer_g.defaults['fused']) == (False, True)
    step(loop)  # its forward, backward and Adam step
    before = [p.detach().clone() for p in fused.net_g.parameters()]
    for net in ('net_g', 'net_d'):
        for p, q in zip(getattr(loop, net).parameters(), getattr(fused, net).parameters()):
            q.grad = None if p.grad is None else p.grad.clone()
    fused.optimizer_g.step()
    fused.optimizer_d.step()
    moved = max((p.detach() - p0).abs().max().item() for p, p0 in zip(fused.net_g.parameters(), before))
    assert moved == pytest.approx(1e-3, rel=0.01)  # Adam's first step: lr · g / (|g| + eps)
    for net in ('net_g', 'net_d'):
        a, b = (dict(getattr(m, net).named_parameters()) for m in (loop, fused))
        for k in a:
            meaningful = a[k].grad.abs() > 1e-6  # see test_step_speedups: |g| at round-off level steps arbitrarily
            assert torch.allclose(a[k][meaningful], b[k][meaningful], rtol=0, atol=1e-7), f'{net}.{k}'


@pytest.mark.parametrize('device, model_type', CUDA_CASES)
def test_the_step_never_synchronises_with_the_host(tmp_path, device, model_type):
    model = build(tmp_path, device, model_type)
    step(model)  # first iteration: optimizer states are created
    model.feed_data(tiny_batch(seed=1))
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode('error')
    try:
        model.optimize_parameters(current_iter=2)
    finally:
        torch.cuda.set_sync_debug_mode('default')
    assert set(model.get_current_log()) >= {'l_g_gan', 'l_d_real'}  # read at the logging interval


# ------------------------------------------------------------------------------------------- real entry points
# Every training iteration adds noise drawn from the device's generator to its LR batch (as Real-ESRGAN's models
# degrade on the GPU), and the runner records a checksum of each draw: an exact resume must restore the CUDA
# generators too. Two processes compute alike only with deterministic kernels: the runner turns PyTorch's
# deterministic algorithms on (an op without a deterministic kernel raises, naming itself), keeps cuDNN's autotuner
# (which BasicSR's pipeline turns on) off, and computes the UNet discriminator's bilinear ×2 upsampling as two
# matrix products — the same values to rounding; CUDA's own kernel adds its gradient with atomics, in any order,
# after which training runs drift apart by round-off (measured on the CPU with 1 against 2 threads: 5e-4 in the
# generator's weights after 6 iterations). Without these settings a resumed CUDA run equals the uninterrupted one
# only to that drift.
RUNNER = '''import atexit, json, runpy
import torch
import torch.nn.functional as F
import fasrgan_basicsr
import basicsr.train as pipeline
import torch.distributed as dist
from fasrgan_basicsr.pipeline.resilience import SESSION

torch.use_deterministic_algorithms(True)
_build_model = pipeline.build_model
_interpolate = F.interpolate
DRAWS = []


def bilinear_matrix(n_out, n_in, align_corners, like):
    i = torch.arange(n_out, dtype=torch.float64)
    if align_corners:
        src = i * ((n_in - 1) / (n_out - 1) if n_out > 1 else 0.)
    else:
        src = ((i + 0.5) * n_in / n_out - 0.5).clamp(min=0)
    i0 = src.floor().long().clamp(max=n_in - 1)
    m = torch.zeros(n_out, n_in, dtype=torch.float64)
    m.index_put_((i.long(), i0), 1 - (src - i0), accumulate=True)
    m.index_put_((i.long(), (i0 + 1).clamp(max=n_in - 1)), src - i0, accumulate=True)
    return m.to(like)


def interpolate(x, size=None, scale_factor=None, mode='nearest', align_corners=None, **kwargs):
    if mode != 'bilinear' or kwargs or x.dim() != 4:
        return _interpolate(x, size, scale_factor, mode, align_corners, **kwargs)
    h, w = x.shape[-2:]
    out_h, out_w = size or (int(h * scale_factor), int(w * scale_factor))
    return torch.einsum('ih,nchw,jw->ncij', bilinear_matrix(out_h, h, align_corners, x), x,
                        bilinear_matrix(out_w, w, align_corners, x))


def build_model(opt):
    torch.backends.cudnn.benchmark = False
    model = _build_model(opt)
    optimize_parameters = model.optimize_parameters

    def noisy(current_iter):
        noise = 0.01 * torch.randn_like(model.lq)
        DRAWS.append([current_iter, noise.double().sum().item()])
        model.lq = model.lq + noise
        optimize_parameters(current_iter)
    model.optimize_parameters = noisy
    return model


def report():
    model = SESSION.model
    with open('run.json', 'w') as f:
        json.dump({'backend': dist.get_backend() if dist.is_initialized() else None,
                   'device': str(next(model.net_g.parameters()).device) if model else None, 'draws': DRAWS}, f)


F.interpolate = interpolate
pipeline.build_model = build_model
atexit.register(report)
'''


def train(root, opt, *args, torchrun=False):
    root.mkdir(parents=True, exist_ok=True)
    (root / 'opt.yml').write_text(yaml.safe_dump(opt, sort_keys=False))
    train_py = str(REPO / 'fasrgan_basicsr' / 'train.py')
    (root / 'runner.py').write_text(RUNNER + f'runpy.run_path({train_py!r}, run_name="__main__")\n')
    launcher = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=1'] if torchrun \
        else [sys.executable]
    proc = subprocess.run([*launcher, 'runner.py', '-opt', 'opt.yml', *args] +
                          (['--launcher', 'pytorch'] if torchrun else []), cwd=root, capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, FASRGAN_ROOT=str(root), OMP_NUM_THREADS='2',
                                                CUBLAS_WORKSPACE_CONFIG=':4096:8'))
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads((root / 'run.json').read_text())


def device_opts(data, name, model_type, total_iter, device):
    opt = opts(data, name, model_type, total_iter)
    opt['num_gpu'] = int(device == 'cuda')
    return opt


def resume_runs(tmp_path, data, model_type, device, torchrun=False):
    """6 iterations straight; 3, then resumed to 6: the same weights, bit for bit, and the same generator draws."""
    straight = train(tmp_path / 'a', device_opts(data, 'straight', model_type, 6, device), torchrun=torchrun)
    first = train(tmp_path / 'b', device_opts(data, 'split', model_type, 3, device), torchrun=torchrun)
    state = torch.load(tmp_path / 'b/experiments/split/training_states/3.state', weights_only=True)
    assert device == 'cpu' or 'cuda' in state['rng']  # the CUDA generators are saved with the state
    resumed = train(tmp_path / 'b', device_opts(data, 'split', model_type, 6, device), '--auto_resume',
                    torchrun=torchrun)
    log = sorted((tmp_path / 'b' / 'experiments' / 'split').glob('train_*.log'))[-1].read_text()
    assert 'Resuming training from epoch: 0, iter: 3.' in log and 'Resuming epoch 0 after its first 3 batches.' in log
    # the device's generator continued where the interrupted run left it
    assert [it for it, _ in straight['draws']] == [1, 2, 3, 4, 5, 6]
    assert first['draws'] + resumed['draws'] == straight['draws']
    assert_identical(weights(tmp_path / 'a', 'straight', 6), weights(tmp_path / 'b', 'split', 6))
    return straight, resumed


@pytest.mark.parametrize('device, model_type', CASES)
def test_resume_on_the_device_is_bit_identical_to_training_straight(tiny_data, tmp_path, device, model_type):
    straight, _ = resume_runs(tmp_path, tiny_data, model_type, device)
    assert straight['device'].startswith(device)


# CUDA only: on the CPU, test_distributed runs torchrun (gloo); this test's CPU version takes minutes on 2 cores.
@pytest.mark.parametrize('device', [CUDA])
def test_one_process_torchrun_trains_and_resumes_exactly(tiny_data, tmp_path, device):
    straight, resumed = resume_runs(tmp_path, tiny_data, 'FAFsSRGANModel', device, torchrun=True)
    backend = {'cuda': 'nccl', 'cpu': 'gloo'}[device]
    assert (straight['backend'], resumed['backend']) == (backend, backend)
    assert straight['device'] == ('cuda:0' if device == 'cuda' else 'cpu')


# ------------------------------------------------------------------------------------------- inference, LPIPS
@pytest.mark.parametrize('device', DEVICES)
def test_inference_in_half_precision_and_tiles_equals_fp32(tmp_path, device):
    # fp16 on CUDA (the CLI's default there), bf16 on the CPU (--fp16 is CUDA only); whole-image fp32 the reference.
    # Tolerance in grey levels of the 8-bit outputs: fp16 keeps 11 significant bits, bf16 8
    # measured on the CPU (autocast, the same tiles): fp16 max 1, mean 0.011; bf16 max 1, mean 0.35
    half, max_diff, mean_diff = ('--fp16', 2, 0.1) if device == 'cuda' else ('--bf16', 3, 0.75)
    torch.manual_seed(0)
    net = build_network(dict(TINY_G))
    with torch.no_grad():
        net.conv_last.bias += 0.5  # outputs around mid-grey: nothing clipped, every pixel compared
    torch.save({'params': net.state_dict()}, tmp_path / 'net_g.pth')
    from skimage import data
    lr = np.ascontiguousarray(data.astronaut()[::8, ::8][:40, :56, ::-1])  # 40×56 BGR
    (tmp_path / 'in').mkdir()
    cv2.imwrite(str(tmp_path / 'in' / 'astronaut.png'), lr)
    outputs = {}
    for name, flags in (('fp32', ['--fp32']), ('half_tiled', [half, '--tile', '16', '--tile_pad', '19'])):
        proc = subprocess.run([sys.executable, '-m', 'fasrgan_basicsr.cli.inference', '-i',
                               str(tmp_path / 'in'), '-o', str(tmp_path / name), '--model_path',
                               str(tmp_path / 'net_g.pth'), '--device', device, '--suffix', 'x4', '--ext', 'png',
                               *flags], capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert f'on {device}' in proc.stdout
        outputs[name] = cv2.imread(str(tmp_path / name / 'astronaut_x4.png')).astype(int)
    assert outputs['fp32'].shape == (160, 224, 3) and 20 < outputs['fp32'].mean() < 235
    assert outputs['fp32'].std() > 5  # an image, not a constant
    diff = np.abs(outputs['half_tiled'] - outputs['fp32'])
    assert diff.max() <= max_diff and diff.mean() <= mean_diff, (diff.max(), diff.mean())


@pytest.mark.parametrize('device', DEVICES)
def test_lpips_on_the_device_equals_the_cpu(tmp_path, monkeypatch, device):
    from basicsr.metrics import calculate_metric
    from skimage import data
    from torchvision.models import alexnet

    from fasrgan_basicsr.metrics import lpips_metric

    write_stand_in_weights(tmp_path / 'torch_home', alexnet, lpips_metric.ALEXNET_FILE, std=0.05)
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    lpips_metric.clear_cache()
    try:
        img, other = data.astronaut()[100:164, 150:230, ::-1], data.coffee()[100:164, 150:230, ::-1]
        values = {d: calculate_metric({'img': img, 'img2': other}, {'type': 'calculate_lpips', 'device': d})
                  for d in ('cpu', device)}
        assert next(lpips_metric.get_lpips_network('alex', '0.0', device).parameters()).device.type == device
        if device == 'cuda':  # the default device when there is a GPU
            assert next(lpips_metric.get_lpips_network().parameters()).device.type == 'cuda'
    finally:
        lpips_metric.clear_cache()
    assert values['cpu'] > 0 and values[device] == pytest.approx(values['cpu'], rel=1e-4)
