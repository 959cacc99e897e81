"""Training-step cost of FASRGAN, Fs-SRGAN and FA+Fs-SRGAN against BasicSR's ESRGANModel, and each step's floor.

    python benchmarks/bench_train_step.py                      # CPU here; --device cuda on a GPU
    python benchmarks/bench_train_step.py --batch 16 --device cuda

Each model is built from its paper option file (paper networks and patch sizes: 128 for FASRGAN and
FA+Fs-SRGAN, 192 for Fs-SRGAN) with random weights, VGG19 included (a random stand-in in a temporary
torch cache: timing does not depend on the values). The baseline of each is BasicSR's own
``ESRGANModel`` with the same generator, patch size and losses, and ESRGAN's VGG-style
discriminator (the 192 version for Fs-SRGAN's patches).

A comparison group (a model, its variants and its baseline) runs in one child process: every
configuration is built, warmed up, then timed round-robin — one step of each per round, ``--repeats``
rounds — so the ratios are not skewed by a shared machine's slow drifts. Reported: the median step
with min–max. Peak memory comes from one more child process per configuration (CUDA: peak
allocated; CPU: the process's peak resident size, weights and optimizer states included).

The floor of a step is the sum of its unavoidable passes, each timed alone in the same rounds:
generator forward+backward, perceptual network, the discriminator's forward on the real and the
generated batch (each once), its backward for the generator's loss (gradient to its input only) and
for its own loss (its parameters), the optimizer steps and EMA. A discriminator that shares the
generator's extractor changes with the generator's update, so its step must forward it again: its
floor counts those forwards twice.
Results are written to ``benchmarks/results/train_step_<machine>.md``.
"""
import fasrgan_basicsr  # noqa: F401  (first: makes basicsr importable, registers the plugin)

# isort: split
import argparse
import copy
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import yaml
from basicsr.models import build_model
from basicsr.utils.options import ordered_yaml
from torchvision.models import vgg19

from fasrgan_basicsr.losses.adversarial import generator_adversarial_loss

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

# name → (option file, overrides: 'train' keys merged (None removes one), other keys replaced)
ADAM = {'type': 'Adam', 'lr': 1e-4, 'weight_decay': 0, 'betas': [0.9, 0.999]}
CONFIGS = {
    'FASRGAN': ('train_FASRGAN_x4.yml', {}),
    'FASRGAN (four forwards)': ('train_FASRGAN_x4.yml', {'train': {'reuse_discriminator_outputs': False}}),
    'FASRGAN (four forwards, for-loop Adam)': ('train_FASRGAN_x4.yml', {'train': {
        'reuse_discriminator_outputs': False, 'optim_g': dict(ADAM, fused=False), 'optim_d': dict(ADAM, fused=False)}}),
    'FASRGAN + channels_last': ('train_FASRGAN_x4.yml', {'train': {'channels_last': True}}),
    'FASRGAN + bf16': ('train_FASRGAN_x4.yml', {'train': {'mixed_precision': 'bf16'}}),
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
# model → (its baseline, other configurations compared in the same process)
GROUPS = {
    'FASRGAN': ('ESRGAN (RRDBNet-23, 128)', ['FASRGAN (four forwards)', 'FASRGAN (four forwards, for-loop Adam)',
                                             'FASRGAN + channels_last', 'FASRGAN + bf16']),
    'Fs-SRGAN': ('ESRGAN (Fs generator, 192)', []),
    'FA+Fs-SRGAN': ('ESRGAN (Fs generator, 128)', []),
}


def build(name, device, batch):
    option_file, overrides = CONFIGS[name]
    with open(common.ROOT / 'options' / option_file) as f:
        opt = yaml.load(f, Loader=ordered_yaml()[0])
    for key, value in overrides.items():
        if key != 'train':
            opt[key] = copy.deepcopy(value)
            continue
        for k, v in value.items():
            if v is None:
                opt['train'].pop(k, None)
            else:
                opt['train'][k] = v
    root = Path(tempfile.mkdtemp())
    opt.update(num_gpu=1 if device == 'cuda' else 0, is_train=True, dist=False, rank=0, world_size=1)
    opt['path'] = {'pretrain_network_g': None, 'models': str(root), 'training_states': str(root)}
    model = build_model(opt)
    size = opt['datasets']['train']['gt_size']
    model.feed_data({'lq': torch.rand(batch, 3, size // 4, size // 4), 'gt': torch.rand(batch, 3, size, size)})
    return model


def step_function(model):
    state = {'iter': 0}

    def step():
        state['iter'] += 1
        model.optimize_parameters(state['iter'])
    return step


def pass_functions(model):
    """Each unavoidable pass of ``model``'s step, as a function to time alone."""
    lq, gt = model.lq, model.gt
    d_params = [p for group in model.optimizer_d.param_groups for p in group['params']]
    with torch.no_grad():
        sr = model.net_g(lq)

    def generator():
        model.net_g(lq).mean().backward()

    def perceptual():
        model.cri_perceptual(sr.clone().requires_grad_(True), gt)[0].backward()

    def d_forward():
        return model.discriminate(gt, for_update=True), model.discriminate(sr.requires_grad_(True), for_update=True)

    def d_backward_for_generator():
        real, fake = d_forward()
        generator_adversarial_loss(model.cri_gan, real.score.detach(), fake.score, model.relativistic).backward(
            inputs=[sr])

    def d_backward_for_discriminator():
        real, fake = d_forward()
        sum(model.discriminator_loss_terms(real, fake).values()).backward(inputs=d_params)

    def optimizers():
        model.optimizer_g.step()
        model.optimizer_d.step()
        if model.ema_decay > 0:
            model.model_ema(model.ema_decay)

    return {'generator forward+backward': generator, 'perceptual forward+backward': perceptual,
            'discriminator forward ×2': d_forward, '… + backward for G': d_backward_for_generator,
            '… + backward for D': d_backward_for_discriminator, 'optimizers + EMA': optimizers}


def child_group(main_name, device, batch, repeats, warmup):
    baseline, others = GROUPS[main_name]
    models = {name: build(name, device, batch) for name in [main_name, baseline] + others}
    functions = {name: step_function(model) for name, model in models.items()}
    functions[main_name]()  # optimizer states exist before the passes time an optimizer step
    passes = pass_functions(models[main_name])
    functions.update(passes)
    for fn in functions.values():
        for _ in range(warmup):
            fn()
    times = {label: [] for label in functions}
    for _ in range(repeats):
        for label, fn in functions.items():
            common.sync(device)
            start = time.perf_counter()
            fn()
            common.sync(device)
            times[label].append(time.perf_counter() - start)
    summary = {k: {'median': statistics.median(v), 'min': min(v), 'max': max(v)} for k, v in times.items()}
    return {'steps': {k: summary[k] for k in models}, 'passes': {k: summary[k] for k in passes},
            'shared': not models[main_name].discriminator_unchanged_by_generator_update()}


def child_memory(name, device, batch):
    model = build(name, device, batch)
    out = {}
    with common.peak_memory(device, out):
        step = step_function(model)
        step()
        step()
    return out


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
    parser.add_argument('--repeats', type=int, default=7, help='rounds of the round-robin timing')
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--models', default=','.join(GROUPS), help=f'comma-separated, from: {", ".join(GROUPS)}')
    parser.add_argument('--child', nargs='+', help=argparse.SUPPRESS)
    args = parser.parse_args()
    batch = args.batch or (16 if args.device == 'cuda' else 2)

    if args.child:  # kind, name
        kind, name = args.child
        result = (child_group(name, args.device, batch, args.repeats, args.warmup) if kind == 'group' else
                  child_memory(name, args.device, batch))
        print(json.dumps(result))
        return

    models = [m.strip() for m in args.models.split(',')]
    with tempfile.TemporaryDirectory() as torch_home:
        prepare_stand_in_vgg(torch_home)
        os.environ['TORCH_HOME'] = torch_home
        os.chdir(torch_home)  # BasicSR also looks for experiments/pretrained_models/vgg19 relative to here
        flags = ['--device', args.device, '--batch', str(batch), '--repeats', str(args.repeats),
                 '--warmup', str(args.warmup)]
        groups, memory = {}, {}
        for name in models:
            groups[name] = common.run_child(__file__, ['group', name] + flags)
            for config in groups[name]['steps']:
                memory[config] = common.run_child(__file__, ['memory', config] + flags)['peak_mib']
            print(f'{name}: ' + ', '.join(f'{k} {common.fmt_time(v)}' for k, v in groups[name]['steps'].items()),
                  flush=True)
    report(groups, memory, args.device, batch, args.repeats)


def report(groups, memory, device, batch, repeats):
    rows, breakdown, notes = [], [], []
    for name, group in groups.items():
        baseline = GROUPS[name][0]
        base = group['steps'][baseline]['median']
        floor, d_floor = floor_of(group['passes'], group['shared'])
        for config, t in group['steps'].items():
            vs_floor = f'{t["median"] / floor:.2f}×' if config != baseline else '–'
            rows.append([config, common.fmt_time(t), f'{memory[config]:.0f} MiB', f'{t["median"] / base:.2f}×',
                         vs_floor])
        breakdown.append([name] + [f'{v["median"] * 1000:.0f}' for v in group['passes'].values()] +
                         [f'{d_floor * 1000:.0f}', f'{floor * 1000:.0f}'])
        for other in GROUPS[name][1]:
            notes.append(f'{name}: {group["steps"][other]["median"] / group["steps"][name]["median"]:.2f}× faster '
                         f'than {other}.')
    table = common.markdown_table(['configuration', 'step, median (min–max)', 'peak memory',
                                   'vs its ESRGAN baseline', 'vs its floor'], rows)
    header = ['model'] + [f'{k} (ms)' for k in next(iter(groups.values()))['passes']] + ['D floor', 'step floor']
    body = (f'Batch {batch}; each group timed round-robin in one process, {repeats} rounds.\n\n{table}\n\n'
            + '\n'.join(notes) + '\n\n## Where the time goes\n\n' + common.markdown_table(header, breakdown) +
            '\n\n"discriminator forward ×2" runs it on the real and the generated batch; the two backward columns '
            'include those forwards (their own cost is the difference). The D floor counts the two forwards once, '
            'twice for a discriminator that shares the generator\'s extractor.\n\n'
            '    python benchmarks/bench_train_step.py' + (' --device cuda' if device == 'cuda' else ''))
    path = common.write_result('train_step', device, 'Training step: FASRGAN, Fs-SRGAN, FA+Fs-SRGAN vs ESRGAN', body)
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
