"""Training-step cost of FASRGAN, Fs-SRGAN and FA+Fs-SRGAN against BasicSR's ESRGANModel, and each step's floor.

    python benchmarks/bench_train_step.py                      # CPU here; --device cuda on a GPU
    python benchmarks/bench_train_step.py --batch 16 --device cuda

Each model is built from its paper option file (paper networks and patch sizes: 128 for FASRGAN and
FA+Fs-SRGAN, 192 for Fs-SRGAN) with random weights, VGG19 included (a random stand-in in a temporary
torch cache: timing does not depend on the values). The baseline of each is BasicSR's own
``ESRGANModel`` with the same generator, patch size and losses, and ESRGAN's VGG-style
discriminator. Every configuration runs in its own child process (clean peak memory) and reports the
median step time over ``--repeats`` steps after ``--warmup`` steps, with min–max.

The breakdown times each unavoidable pass alone — generator forward+backward, perceptual network,
one discriminator forward on a batch, the discriminator's backward for the generator's loss
(gradient to its input only) and for its own loss (its parameters), the optimizer steps and EMA —
and the floor of a step is their sum with two discriminator forwards (real and generated, each
once). Models whose discriminator shares the generator's extractor must run the discriminator
again after the generator's update, so their floor counts four forwards.
Results are written to ``benchmarks/results/train_step_<machine>.md``.
"""
import fasrgan_basicsr  # noqa: F401  (first: makes basicsr importable, registers the plugin)

# isort: split
import argparse
import copy
import json
import os
import sys
import tempfile
from pathlib import Path

import torch
import yaml
from basicsr.models import build_model
from basicsr.utils.options import ordered_yaml
from torchvision.models import vgg19

from fasrgan_basicsr.losses.adversarial import generator_adversarial_loss

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

# name → (option file, overrides of the train section / networks, the ESRGAN baseline it is compared with)
CONFIGS = {
    'FASRGAN': ('train_FASRGAN_x4.yml', {}),
    'FASRGAN (four forwards)': ('train_FASRGAN_x4.yml', {'train': {'reuse_discriminator_outputs': False}}),
    'ESRGAN (RRDBNet-23, 128)': ('train_ESRGAN_x4.yml', {}),
    'Fs-SRGAN': ('train_FsSRGAN_x4.yml', {}),
    'ESRGAN (Fs generator, 192)': ('train_FsSRGAN_x4.yml', {
        'model_type': 'ESRGANModel', 'train': {'share_extractor': None, 'relativistic': None},
        'network_d': {'type': 'VGGFeatureDiscriminator', 'num_in_ch': 3, 'num_feat': 64, 'input_size': 192}}),
    'FA+Fs-SRGAN': ('train_FAFsSRGAN_x4.yml', {}),
    'ESRGAN (Fs generator, 128)': ('train_FAFsSRGAN_x4.yml', {
        'model_type': 'ESRGANModel',
        'train': {'share_extractor': None, 'relativistic': None, 'map_gan_opt': None, 'attention_opt': None},
        'network_d': {'type': 'VGGStyleDiscriminator', 'num_in_ch': 3, 'num_feat': 64, 'input_size': 128}}),
}
BASELINE = {'FASRGAN': 'ESRGAN (RRDBNet-23, 128)', 'FASRGAN (four forwards)': 'ESRGAN (RRDBNet-23, 128)',
            'Fs-SRGAN': 'ESRGAN (Fs generator, 192)', 'FA+Fs-SRGAN': 'ESRGAN (Fs generator, 128)'}


def build(name, device, batch):


    option_file, overrides = CONFIGS[name]
    with open(common.ROOT / 'options' / option_file) as f:
        opt = yaml.load(f, Loader=ordered_yaml()[0])
    for key, value in overrides.items():
        if key == 'train':  # merge; None removes a key
            for k, v in value.items():
                if v is None:
                    opt['train'].pop(k, None)
                else:
                    opt['train'][k] = v
        else:
            opt[key] = copy.deepcopy(value)
    root = Path(tempfile.mkdtemp())
    opt.update(num_gpu=1 if device == 'cuda' else 0, is_train=True, dist=False, rank=0, world_size=1)
    opt['path'] = {'pretrain_network_g': None, 'models': str(root), 'training_states': str(root)}
    model = build_model(opt)
    size = opt['datasets']['train']['gt_size']
    data = {'lq': torch.rand(batch, 3, size // 4, size // 4), 'gt': torch.rand(batch, 3, size, size)}
    return model, data


def child_step(name, device, batch, repeats, warmup):
    model, data = build(name, device, batch)
    state = {'iter': 0}

    def step():
        state['iter'] += 1
        model.feed_data(data)
        model.optimize_parameters(state['iter'])

    out = {}
    with common.peak_memory(device, out):
        out['step'] = common.time_it(step, device, repeats, warmup)
    return out


def child_passes(name, device, batch, repeats, warmup):
    """Each unavoidable pass of ``name``'s step, timed alone."""

    model, data = build(name, device, batch)
    model.feed_data(data)
    lq, gt = model.lq, model.gt
    g_params = list(model.net_g.parameters())
    d_params = [p for group in model.optimizer_d.param_groups for p in group['params']]
    with torch.no_grad():
        sr = model.net_g(lq)

    def generator():
        model.net_g(lq).mean().backward()

    def perceptual():
        leaf = sr.clone().requires_grad_(True)
        model.cri_perceptual(leaf, gt)[0].backward()

    def d_forward():
        return model.discriminate(gt, for_update=True), model.discriminate(sr.requires_grad_(True), for_update=True)

    def d_backward_for_generator():
        real, fake = d_forward()
        loss = generator_adversarial_loss(model.cri_gan, real.score.detach(), fake.score, model.relativistic)
        loss.backward(inputs=[sr])

    def d_backward_for_discriminator():
        real, fake = d_forward()
        sum(model.discriminator_loss_terms(real, fake).values()).backward(inputs=d_params)

    def optimizers():
        model.optimizer_g.step()
        model.optimizer_d.step()
        if model.ema_decay > 0:
            model.model_ema(model.ema_decay)

    for p in g_params + d_params:
        p.grad = torch.zeros_like(p)
    times = {label: common.time_it(fn, device, repeats, warmup) for label, fn in (
        ('generator forward+backward', generator), ('perceptual forward+backward', perceptual),
        ('discriminator forward ×2', d_forward), ('… + backward for G', d_backward_for_generator),
        ('… + backward for D', d_backward_for_discriminator), ('optimizers + EMA', optimizers))}
    return {'passes': times, 'shared': not model.discriminator_unchanged_by_generator_update()}


def floor_of(passes, shared):
    med = {k: v['median'] for k, v in passes.items()}
    d_fwd = med['discriminator forward ×2']
    d_floor = d_fwd + (med['… + backward for G'] - d_fwd) + (med['… + backward for D'] - d_fwd)
    if shared:  # the discriminator's update must forward again after the generator's update changed it
        d_floor += d_fwd
    return (med['generator forward+backward'] + med['perceptual forward+backward'] + d_floor +
            med['optimizers + EMA']), d_floor


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--batch', type=int, default=None, help='default: 16 on CUDA, 2 on CPU')
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--models', default=','.join(BASELINE), help=f'comma-separated, from: {", ".join(BASELINE)}')
    parser.add_argument('--child', nargs='+', help=argparse.SUPPRESS)
    args = parser.parse_args()
    batch = args.batch or (16 if args.device == 'cuda' else 2)

    if args.child:  # kind, name
        kind, name = args.child
        fn = child_step if kind == 'step' else child_passes
        print(json.dumps(fn(name, args.device, batch, args.repeats, args.warmup)))
        return

    with tempfile.TemporaryDirectory() as torch_home:
        prepare_stand_in_vgg(torch_home)
        os.environ['TORCH_HOME'] = torch_home
        os.chdir(torch_home)  # BasicSR also looks for experiments/pretrained_models/vgg19 relative to here
        flags = ['--device', args.device, '--batch', str(batch), '--repeats', str(args.repeats),
                 '--warmup', str(args.warmup)]
        models = [m.strip() for m in args.models.split(',')]
        names = list(dict.fromkeys(models + [BASELINE[m] for m in models]))
        steps = {}
        for name in names:
            steps[name] = common.run_child(__file__, ['step', name] + flags)
            print(f'{name}: {common.fmt_time(steps[name]["step"])}, peak {steps[name]["peak_mib"]:.0f} MiB', flush=True)
        passes = {}
        for name in (m for m in models if m != 'FASRGAN (four forwards)'):
            passes[name] = common.run_child(__file__, ['passes', name] + flags)
            print(f'{name} passes: ' + ', '.join(f'{k} {v["median"] * 1000:.0f} ms'
                                                 for k, v in passes[name]['passes'].items()), flush=True)
    report(steps, passes, models, args.device, batch)


def report(steps, passes, models, device, batch):
    rows = []
    for name in models:
        t = steps[name]['step']['median']
        base = steps[BASELINE[name]]['step']['median']
        key = 'FASRGAN' if name == 'FASRGAN (four forwards)' else name
        floor, d_floor = floor_of(passes[key]['passes'], passes[key]['shared']) if key in passes else (None, None)
        rows.append([name, common.fmt_time(steps[name]['step']), f'{steps[name]["peak_mib"]:.0f} MiB',
                     f'{t / base:.2f}× {BASELINE[name]}', f'{t / floor:.2f}×' if floor else '–'])
    table = common.markdown_table(['step', 'time, median (min–max)', 'peak memory', 'vs ESRGAN', 'vs its floor'],
                                  rows)
    breakdown = []
    for name, result in passes.items():
        floor, d_floor = floor_of(result['passes'], result['shared'])
        breakdown.append([name] + [f'{v["median"] * 1000:.0f}' for v in result['passes'].values()] +
                         [f'{d_floor * 1000:.0f}', f'{floor * 1000:.0f}'])
    header = ['model'] + [f'{k} (ms)' for k in next(iter(passes.values()))['passes']] + ['D floor', 'step floor']
    extra = ''
    if 'FASRGAN' in steps and 'FASRGAN (four forwards)' in steps:
        speedup = steps['FASRGAN (four forwards)']['step']['median'] / steps['FASRGAN']['step']['median']
        extra = f'\nReusing the discriminator\'s outputs: FASRGAN step {speedup:.2f}× faster than four forwards.\n'
    body = (f'Batch {batch} per step; medians of the child processes\' repeated steps.\n\n{table}\n{extra}\n'
            f'## Where the time goes\n\n{common.markdown_table(header, breakdown)}\n\n'
            '"discriminator forward ×2" runs it on the real and the generated batch; the backward columns include '
            'those forwards (their cost is the difference). The D floor counts two forwards (four when the '
            'discriminator shares the generator\'s extractor, which the generator\'s update changes).\n\n'
            '    python benchmarks/bench_train_step.py' + (' --device cuda' if device == 'cuda' else ''))
    path = common.write_result('train_step', device, 'Training step: FASRGAN, Fs-SRGAN, FA+Fs-SRGAN vs ESRGAN',
                               body)
    print('\n' + body + f'\n\nwritten to {path}')


def prepare_stand_in_vgg(torch_home):
    """Random VGG19 weights where torchvision's loader looks, so the perceptual term runs offline."""
    with torch.device('meta'):
        shapes = {k: v.shape for k, v in vgg19().state_dict().items()}
    folder = Path(torch_home) / 'hub' / 'checkpoints'
    folder.mkdir(parents=True)
    torch.save({k: torch.randn(s) * 0.01 for k, s in shapes.items()}, folder / 'vgg19-dcbb9e9d.pth')


if __name__ == '__main__':
    main()
