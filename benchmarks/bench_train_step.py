"""Training-step cost of FASRGAN, Fs-SRGAN and FA+Fs-SRGAN against BasicSR's ESRGANModel, and each step's floor.

    python benchmarks/bench_train_step.py                      # CPU here; --device cuda on a GPU
    python benchmarks/bench_train_step.py --batch 16 --device cuda --out_dir OUT
    python benchmarks/bench_train_step.py --dry_run            # tiny networks, one round: proves every path starts

Each model is built from its paper option file (paper networks and patch sizes: 128 for FASRGAN and
FA+Fs-SRGAN, 192 for Fs-SRGAN) with random weights, VGG19 included (a random stand-in in a temporary
torch cache: timing does not depend on the values). The baseline of each is BasicSR's own
``ESRGANModel`` with the same generator, patch size and losses, and ESRGAN's VGG-style
discriminator (the 192 version for Fs-SRGAN's patches). Variants of each model: the speed options
(``channels_last``, ``mixed_precision`` bf16 / fp16, both, ``compile``); for FASRGAN also the
straightforward step (four discriminator forwards instead of reusing two) and for-loop Adam. On CUDA,
cuDNN's autotuner is on, as in BasicSR's training pipeline, and TF32 stays at PyTorch's defaults.

A comparison group (a model, its variants and its baseline) runs in one child process: every
configuration is built, warmed up, then timed round-robin — one step of each per round, ``--repeats``
rounds — so the ratios are not skewed by a shared machine's slow drifts. Reported: the median step
with min–max, and the first step (cuDNN autotuning, torch.compile's compilation). ``torch.compile``
runs in groups of its own (the model eager against compiled), last, as compiling takes long.
Peak memory (see ``common.py``): on CUDA measured in the group's process over each configuration's
building and warm-up steps; on the CPU one more child process per configuration.
``--child_timeout`` bounds each child process: a group that runs past it is reported as such and the
next group runs. The report is rewritten after every group, so an interrupted run leaves what it measured.

The floor of a step is the sum of its unavoidable passes, each timed alone in the same rounds:
generator forward+backward, perceptual network, the discriminator's forward on the real and the
generated batch (each once), its backward for the generator's loss (gradient to its input only) and
for its own loss (its parameters), the optimizer steps and EMA. A discriminator that shares the
generator's extractor changes with the generator's update, so its step must forward it again: its
floor counts those forwards twice.
Results are written to ``<out_dir>/train_step[_<tag>]_<machine>.md`` (default ``benchmarks/results``).
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
from basicsr.models import build_model

from fasrgan_basicsr.losses.adversarial import generator_adversarial_loss
from fasrgan_basicsr.utils.option_file import read_option_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

# name → (option file, overrides: 'train' keys merged (None removes one), other keys replaced)
ADAM = {'type': 'Adam', 'lr': 1e-4, 'weight_decay': 0, 'betas': [0.9, 0.999]}
CONFIGS = {
    'FASRGAN': ('train_FASRGAN_x4.yml', {}),
    'FASRGAN (four forwards)': ('train_FASRGAN_x4.yml', {'train': {'reuse_discriminator_outputs': False}}),
    'FASRGAN (four forwards, for-loop Adam)': ('train_FASRGAN_x4.yml', {'train': {
        'reuse_discriminator_outputs': False, 'optim_g': dict(ADAM, fused=False), 'optim_d': dict(ADAM, fused=False)}}),
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
MODELS = ('FASRGAN', 'Fs-SRGAN', 'FA+Fs-SRGAN')
SPEED_OPTIONS = {
    '+ channels_last': {'channels_last': True},
    '+ bf16': {'mixed_precision': 'bf16'},
    '+ fp16': {'mixed_precision': 'fp16'},
    '+ channels_last + bf16': {'channels_last': True, 'mixed_precision': 'bf16'},
    '+ compile': {'compile': True},
}
for _model in MODELS:
    for _suffix, _train in SPEED_OPTIONS.items():
        CONFIGS[f'{_model} {_suffix}'] = (CONFIGS[_model][0], {'train': _train})
EAGER_OPTIONS = [s for s in SPEED_OPTIONS if s != '+ compile']
# group → its configurations (the first is the model whose floor is measured, if any), its baseline
GROUPS = {
    'FASRGAN': dict(baseline='ESRGAN (RRDBNet-23, 128)', floor=True, configs=[
        'FASRGAN', 'FASRGAN (four forwards)', 'FASRGAN (four forwards, for-loop Adam)'] +
        [f'FASRGAN {s}' for s in EAGER_OPTIONS]),
    'Fs-SRGAN': dict(baseline='ESRGAN (Fs generator, 192)', floor=True,
                     configs=['Fs-SRGAN'] + [f'Fs-SRGAN {s}' for s in EAGER_OPTIONS]),
    'FA+Fs-SRGAN': dict(baseline='ESRGAN (Fs generator, 128)', floor=True,
                        configs=['FA+Fs-SRGAN'] + [f'FA+Fs-SRGAN {s}' for s in EAGER_OPTIONS]),
}
for _model in MODELS:  # after the others: compiling takes long
    GROUPS[f'{_model} compiled'] = dict(baseline=_model, floor=False, configs=[f'{_model} + compile'])


def dry_run_networks(opt):
    """Shrink the networks (the dry run proves every code path starts, in seconds): 8 features, one deep block, no
    perceptual term (loading VGG19's 548 MB of weights for every configuration would take most of the time)."""
    opt['train'].pop('perceptual_opt', None)
    g = opt['network_g']
    g.update(num_feat=8, num_grow_ch=4, num_block=1)
    d = opt['network_d']
    d['num_feat'] = 4
    if d.get('num_in_ch', 3) != 3:  # a head reading the shared extractor's features
        d['num_in_ch'] = g['num_feat']


def build(name, device, batch, dry_run=False):
    option_file, overrides = CONFIGS[name]
    opt = read_option_file(str(common.ROOT / 'options' / option_file))
    for key, value in overrides.items():
        if key != 'train':
            opt[key] = copy.deepcopy(value)
            continue
        for k, v in value.items():
            if v is None:
                opt['train'].pop(k, None)
            else:
                opt['train'][k] = copy.deepcopy(v)
    if dry_run:
        dry_run_networks(opt)
        if opt['train'].get('compile') and device == 'cpu':
            opt['train']['compile'] = 'aot_eager'  # inductor's C++ compilation takes minutes on a small CPU
    root = Path(tempfile.mkdtemp())
    opt.update(num_gpu=1 if device == 'cuda' else 0, is_train=True, dist=False, rank=0, world_size=1)
    opt['path'] = {'pretrain_network_g': None, 'models': str(root), 'training_states': str(root)}
    model = build_model(opt)
    size = opt['datasets']['train']['gt_size']
    model.feed_data({'lq': torch.rand(batch, 3, size // 4, size // 4), 'gt': torch.rand(batch, 3, size, size)})
    return model


def pass_functions(model):
    """Each unavoidable pass of ``model``'s step, as a function to time alone."""
    lq, gt = model.lq, model.gt
    d_params = [p for group in model.optimizer_d.param_groups for p in group['params']]
    with torch.no_grad():
        sr = model.net_g(lq)

    def generator():
        model.net_g(lq).mean().backward()

    def perceptual():
        if model.cri_perceptual:  # none in a dry run
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


def timed(fn, device):
    common.sync(device)
    start = time.perf_counter()
    fn()
    common.sync(device)
    return time.perf_counter() - start


def child_group(group_name, device, batch, repeats, warmup, dry_run):
    group = GROUPS[group_name]
    names = group['configs'] + [group['baseline']]
    models, functions, first, memory = {}, {}, {}, {}
    for name in names:  # built and warmed up one after another: on CUDA, each one's peak memory on the way
        out = {}
        with common.peak_memory(device, out):
            models[name] = build(name, device, batch, dry_run)
            functions[name] = common.step_function(models[name])
            first[name] = timed(functions[name], device)
            for _ in range(warmup - 1):
                functions[name]()
        if device == 'cuda':
            memory[name] = out['peak_mib']
    passes = pass_functions(models[names[0]]) if group['floor'] else {}
    for fn in passes.values():
        for _ in range(warmup):
            fn()
    functions.update(passes)
    times = {label: [] for label in functions}
    for _ in range(repeats):
        for label, fn in functions.items():
            times[label].append(timed(fn, device))
    summary = {k: {'median': statistics.median(v), 'min': min(v), 'max': max(v)} for k, v in times.items()}
    return {'steps': {k: summary[k] for k in names}, 'first': first, 'memory': memory,
            'passes': {k: summary[k] for k in passes},
            'shared': not models[names[0]].discriminator_unchanged_by_generator_update()}


def child_memory(name, device, batch, dry_run):
    model = build(name, device, batch, dry_run)
    return common.peak_memory_of_two_steps(model, device)


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
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu', choices=['cuda', 'cpu'])
    parser.add_argument('--batch', type=int, default=None, help='default: 16 on CUDA, 2 on CPU (1 in a dry run)')
    parser.add_argument('--repeats', type=int, default=None, help='rounds of the round-robin timing (default 7, '
                        'dry run 1)')
    parser.add_argument('--warmup', type=int, default=None, help='steps before timing (default and least 2: the '
                        'second step holds the optimizer states; 1 in a dry run, which measures no memory)')
    parser.add_argument('--models', default=','.join(GROUPS), help=f'comma-separated groups, from: {", ".join(GROUPS)}')
    parser.add_argument('--out_dir', default=None, help='where the result table goes (default benchmarks/results)')
    parser.add_argument('--child_timeout', type=float, default=None, help='seconds per child process (default: none)')
    parser.add_argument('--tag', default='', help='added to the result file name: train_step_<tag>_<machine>.md')
    parser.add_argument('--dry_run', action='store_true', help='tiny networks without the perceptual term, batch 1, '
                        'one warm-up step and one round, no memory measured, aot_eager instead of inductor on the CPU: '
                        'proves every configuration runs')
    parser.add_argument('--child', nargs='+', help=argparse.SUPPRESS)
    args = parser.parse_args()
    batch = args.batch or (1 if args.dry_run else 16 if args.device == 'cuda' else 2)
    repeats = args.repeats or (1 if args.dry_run else 7)
    warmup = max(args.warmup or 0, 1 if args.dry_run else 2)
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda: no CUDA device is available.')
    groups = [m.strip() for m in args.models.split(',')]
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        parser.error(f'--models: unknown group(s) {", ".join(unknown)}; choose from {", ".join(GROUPS)}.')
    common.setup_device(args.device)

    if args.child:  # kind, name
        kind, name = args.child
        result = (child_group(name, args.device, batch, repeats, warmup, args.dry_run) if kind == 'group' else
                  child_memory(name, args.device, batch, args.dry_run))
        print(json.dumps(result))
        return

    flags = ['--device', args.device, '--batch', str(batch), '--repeats', str(repeats), '--warmup', str(warmup)]
    flags += ['--dry_run'] if args.dry_run else []
    results, failed = {}, {}
    with tempfile.TemporaryDirectory() as torch_home:
        if not args.dry_run:
            common.prepare_stand_in_vgg(torch_home)
        os.environ['TORCH_HOME'] = torch_home
        os.chdir(torch_home)  # BasicSR also looks for experiments/pretrained_models/vgg19 relative to here
        for name in groups:
            start = time.perf_counter()
            try:
                group = common.run_child(__file__, ['group', name] + flags, args.child_timeout)
                if args.device == 'cpu' and not args.dry_run:  # the process's peak resident size: one each
                    for config in group['steps']:
                        group['memory'][config] = common.run_child(__file__, ['memory', config] + flags,
                                                                   args.child_timeout)['peak_mib']
            except (common.ChildTimeout, RuntimeError) as err:
                failed[name] = str(err).splitlines()[0] if isinstance(err, common.ChildTimeout) else str(err)
                print(f'{name}: FAILED: {failed[name]}', flush=True)
                continue
            results[name] = group
            print(f'{name} ({time.perf_counter() - start:.0f} s): ' +
                  ', '.join(f'{k} {common.fmt_time(v)}' for k, v in group['steps'].items()), flush=True)
            report(results, failed, args, batch, repeats, final=False)
    report(results, failed, args, batch, repeats, final=True)


def report(results, failed, args, batch, repeats, final):
    sections, breakdown, pass_names = [], [], []
    for name, group in results.items():
        spec = GROUPS[name]
        base = group['steps'][spec['baseline']]['median']
        main_name = spec['configs'][0]
        default = group['steps'][main_name]['median']
        floor, d_floor = floor_of(group['passes'], group['shared']) if spec['floor'] else (None, None)
        rows = []
        for config, t in group['steps'].items():
            memory = group['memory'].get(config)
            rows.append([config, common.fmt_time(t), f'{group["first"][config] * 1000:.0f} ms',
                         f'{memory:.0f} MiB' if memory is not None else '–', f'{t["median"] / base:.2f}×',
                         f'{t["median"] / default:.2f}×', f'{t["median"] / floor:.2f}×' if floor else '–'])
        sections.append(f'### {name}\n\n' + common.markdown_table(
            ['configuration', 'step, median (min–max)', 'first step', 'peak memory', f'vs {spec["baseline"]}',
             f'vs {main_name}', 'vs its floor'], rows))
        if spec['floor']:
            pass_names = list(group['passes'])
            breakdown.append([name] + [f'{v["median"] * 1000:.0f}' for v in group['passes'].values()] +
                             [f'{d_floor * 1000:.0f}', f'{floor * 1000:.0f}'])
    memory_note = ('peak allocated while building and warming up, weights and optimizer states included'
                   if args.device == 'cuda' else 'peak resident size of a process running two steps'
                   if not args.dry_run else 'not measured in a dry run')
    body = (('**Dry run** (8-feature networks, one deep block, no perceptual term): proves every configuration '
             'runs; the times mean nothing.\n\n' if args.dry_run else '') +
            f'Batch {batch}; each group timed round-robin in one process, {repeats} rounds; "vs X" columns are median '
            f'step times divided by X\'s (below 1: faster than X). Baselines: BasicSR\'s ESRGANModel with the same '
            f'generator; for the compiled groups, the model eager. Memory: {memory_note}. First step: cuDNN '
            f'autotuning and compilation included.\n\n' + '\n\n'.join(sections))
    if failed:
        body += '\n\nNot measured:\n' + '\n'.join(f'- {k}: {v}' for k, v in failed.items())
    if not final:
        body += f'\n\n(partial: {len(results)} of {len(results) + len(failed)} groups so far)'
    if breakdown:
        header = ['model'] + [f'{k} (ms)' for k in pass_names] + ['D floor', 'step floor']
        body += ('\n\n## Where the time goes\n\n' + common.markdown_table(header, breakdown) +
                 '\n\n"discriminator forward ×2" runs it on the real and the generated batch; the two backward '
                 'columns include those forwards (their own cost is the difference). The D floor counts the two '
                 'forwards once, twice for a discriminator that shares the generator\'s extractor.')
    body += ('\n\n    python benchmarks/bench_train_step.py' + (f' --device {args.device} --batch {batch}'
             if args.device == 'cuda' else '') + f' --models "{",".join(results) or args.models}"' +
             (' --dry_run' if args.dry_run else ''))
    title = 'Training step: FASRGAN, Fs-SRGAN, FA+Fs-SRGAN vs ESRGAN'
    name = '_'.join(['train_step'] + [t for t in (args.tag, 'dry_run' if args.dry_run else '') if t])
    path = common.write_result(name, args.device, title, body, args.out_dir)
    if final:
        print('\n' + body + f'\n\nwritten to {path}')


if __name__ == '__main__':
    main()
