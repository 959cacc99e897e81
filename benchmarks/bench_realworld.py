"""Real-world FA at a practical cost: RealESRGAN_FA's two score heads against BasicSR's Real-ESRGAN, and the data path.

    python benchmarks/bench_realworld.py                       # CPU here (batch 2); --device cuda on a GPU
    python benchmarks/bench_realworld.py --device cuda         # batch 12, the recipe's
    python benchmarks/bench_realworld.py --dry_run             # tiny networks, one round: proves every path starts

Three configurations, built from the shipped option files with random weights (VGG19 included: a random stand-in
in a temporary torch cache, as in ``bench_train_step.py``; timing does not depend on the values), the recipe's
generator (RRDBNet, 23 blocks, 64 features), gt_size 256 and the same batch:

- **RealESRGAN_FA, pooled head**: ``options/realworld/train_RealESRGAN_FA_x4plus.yml`` as shipped
  (``UNetDiscriminatorFA``, ``score_head: pooled``);
- **RealESRGAN_FA, FC head**: the same file with the paper's head sized for 256 (``score_head: fc``,
  ``input_size: 256``), what that file held before;
- **Real-ESRGAN (BasicSR)**: ``options/realworld/train_RealESRGAN_x4plus.yml``, BasicSR's own ``RealESRGANModel``
  and ``UNetDiscriminatorSN`` (64 features, skip connections): the baseline of every ratio.

Measured, all in one run:

1. **parameters** of each discriminator (and the generator), ratios to ``UNetDiscriminatorSN``;
2. **training step** (``optimize_parameters`` on one fixed batch that the model's own ``feed_data`` degraded): the
   three models built and warmed up in one child process, then timed round-robin (one step each per round,
   ``--repeats`` rounds) so a shared machine's drifts do not skew the ratios; peak memory of each: on CUDA the peak
   allocated while it was built and warmed up, on the CPU the peak resident size of a child process of its own
   running two steps (see ``common.py``);
3. **USM sharpening**: BasicSR's ``USMSharp`` (one 51×51 2-D convolution) against the compatibility layer's two 1-D
   passes (``fasrgan_basicsr/compat/usm_sharp.py``) on the batch's 400×400 HR crops and 256×256 patches, with the
   largest difference;
4. **profile of one real-world iteration** (the pooled-head model of the recipe, or with ``--profile demo`` the CPU
   demo's): the batch read by BasicSR's ``RealESRGANDataset`` (image reading, crop, the random blur and sinc
   kernels), each step of ``RealESRGANModel.feed_data`` (USM, the blurs, resizes, noise, JPEG, crop, the pool) and the
   training step, each as a share of the iteration: with BasicSR's data path, with the two-pass USM (compat fix 7),
   with the FFT filtering of CPU batches too (fix 8), and with the Poisson noise's level count by histogram (fix 9).

The data are the HR photographs that ship with scikit-image, cut to 400×400 (what ``RealESRGANDataset`` crops).
Results go to ``<out_dir>/realworld[_dry_run]_<machine>.md`` (default ``benchmarks/results``); ratios against the
BasicSR baseline of the same run are printed; nothing here is a pass/fail threshold.
"""
import fasrgan_basicsr  # noqa: F401  (first: makes basicsr importable, registers the plugin)

# isort: split
import argparse
import copy
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from basicsr.archs import build_network
from basicsr.data import degradations
from basicsr.models import build_model
from basicsr.models import realesrgan_model as basicsr_realesrgan
from basicsr.utils.img_process_util import USMSharp
from basicsr.utils.img_process_util import filter2D as basicsr_filter2d

from fasrgan_basicsr.compat.usm_sharp import SeparableUSMSharp
from fasrgan_basicsr.demos.photos import load_photo
from fasrgan_basicsr.utils.option_file import read_option_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

FA_FILE = 'realworld/train_RealESRGAN_FA_x4plus.yml'
PLAIN_FILE = 'realworld/train_RealESRGAN_x4plus.yml'
POOLED, FC, BASELINE = 'RealESRGAN_FA, pooled head', 'RealESRGAN_FA, FC head', 'Real-ESRGAN (BasicSR)'
# name → (option file, network_d keys replaced)
CONFIGS = {
    POOLED: (FA_FILE, {}),
    FC: (FA_FILE, {'score_head': 'fc', 'input_size': 256}),
    BASELINE: (PLAIN_FILE, {}),
}
#: what the profile runs: the recipe's pooled-head model, or the CPU demo's (3 RRDBs of 32 features, 64×64 patches)
PROFILES = {'recipe': POOLED, 'demo': 'RealESRGAN_FA demo (options/demo)'}
DEMO_CONFIG = ('demo/train_RealESRGAN_FA_demo.yml', {})
PHOTOS = ('astronaut', 'coffee', 'rocket', 'motorcycle')
HR_CROP = 400  # RealESRGANDataset crops (or pads) every HR image to 400×400


# ------------------------------------------------------------------------------------------------ building
def options(name, device, batch, dry_run, data_root):
    option_file, net_d = CONFIGS.get(name, DEMO_CONFIG)
    opt = read_option_file(str(common.ROOT / 'options' / option_file))
    opt['network_d'].update(net_d)
    if dry_run:  # the dry run proves every code path starts, in seconds
        opt['train'].pop('perceptual_opt', None)
        opt['network_g'].update(num_feat=8, num_grow_ch=4, num_block=1)
        opt['network_d']['num_feat'] = 4
    root = Path(tempfile.mkdtemp())
    opt.update(num_gpu=1 if device == 'cuda' else 0, is_train=True, dist=False, rank=0, world_size=1)
    opt['path'] = {'pretrain_network_g': None, 'models': str(root), 'training_states': str(root)}
    opt['queue_size'] = batch * (opt['queue_size'] // batch)  # a multiple of the batch, as the checker demands
    train = opt['datasets']['train']
    train.update(dataroot_gt=str(data_root), meta_info=str(Path(data_root) / 'meta_info.txt'),
                 batch_size_per_gpu=batch, num_worker_per_gpu=0)
    return opt


def write_photos(folder):
    """The scikit-image photographs cut to 400×400 (their top-left corner) and the meta-info list."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in PHOTOS:
        img = load_photo(name)[:HR_CROP, :HR_CROP]
        cv2.imwrite(str(folder / f'{name}.png'), cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_RGB2BGR))
    (folder / 'meta_info.txt').write_text(''.join(f'{n}.png\n' for n in PHOTOS))
    return folder


def dataset(opt):
    from basicsr.data.realesrgan_dataset import RealESRGANDataset
    return RealESRGANDataset(dict(opt['datasets']['train'], phase='train', scale=opt['scale']))


def read_batch(data, batch, seed):
    """``batch`` samples of ``data`` collated as BasicSR's loader does (same seed: same images and kernels)."""
    seed_all(seed)
    samples = [data[i % len(data)] for i in range(batch)]
    return torch.utils.data.default_collate(samples)


def seed_all(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def degrade(model, batch, seed=0):
    """``model.feed_data`` (the degradations on the fly, the pool) on ``batch`` with a fixed seed."""
    seed_all(seed)
    model.feed_data(batch)


def build(name, device, batch, dry_run, data_root, seed=0):
    opt = options(name, device, batch, dry_run, data_root)
    model = build_model(opt)
    degrade(model, read_batch(dataset(opt), batch, seed))
    return model


def n_params(net):
    return sum(p.numel() for p in net.parameters())


def parameters(dry_run):
    """Parameters of each configuration's networks (built on the meta device) and of UNetDiscriminatorSN."""
    counts = {}
    for name, (option_file, net_d) in CONFIGS.items():
        opt = read_option_file(str(common.ROOT / 'options' / option_file))
        if dry_run:
            opt['network_g'].update(num_feat=8, num_grow_ch=4, num_block=1)
            opt['network_d']['num_feat'] = 4
        with torch.device('meta'):
            g = build_network(copy.deepcopy(opt['network_g']))
            d = build_network(dict(opt['network_d'], **net_d))
        counts[name] = {'net_d': n_params(d), 'net_g': n_params(g), 'net_d_type': opt['network_d']['type']}
    return counts


# ------------------------------------------------------------------------------------------------ timing
def clock(device):
    """What the times are: wall-clock seconds on CUDA (synchronised); on the CPU the process's CPU seconds, which on a
    machine shared with other jobs count this process's work, not the others' (run single-threaded: ``--threads 1``,
    the default there, so that no thread's waiting for another is counted either)."""
    return time.perf_counter if device == 'cuda' else time.process_time


def timed(fn, device):
    now = clock(device)
    common.sync(device)
    start = now()
    fn()
    common.sync(device)
    return now() - start


def summary(times):
    return {'median': statistics.median(times), 'min': min(times), 'max': max(times)}


def step_groups(device):
    """Which configurations share a process (and are timed round-robin): all on CUDA; on the CPU the FC head alone,
    as its step needs about 11 GiB more than the others (they would not fit beside it in a small machine's memory)."""
    return [list(CONFIGS)] if device == 'cuda' else [[POOLED, BASELINE], [FC]]


def child_steps(names, device, batch, repeats, warmup, dry_run, data_root):
    """The configurations ``names`` built and warmed up in turn, then their steps timed round-robin."""
    functions, first, memory = {}, {}, {}
    for name in names:
        out = {}
        with common.peak_memory(device, out):
            model = build(name, device, batch, dry_run, data_root)
            functions[name] = common.step_function(model)
            first[name] = timed(functions[name], device)
            for _ in range(warmup - 1):
                functions[name]()
        if device == 'cuda':
            memory[name] = out['peak_mib']
    times = {name: [] for name in functions}
    for _ in range(repeats):
        for name, fn in functions.items():
            times[name].append(timed(fn, device))
    return {'steps': {k: summary(v) for k, v in times.items()}, 'first': first, 'memory': memory}


def child_memory(name, device, batch, dry_run, data_root):
    model = build(name, device, batch, dry_run, data_root)
    return common.peak_memory_of_two_steps(model, device)


def child_usm(device, batch, repeats, data_root):
    """BasicSR's USMSharp against the two 1-D passes on the batch's HR crops and on gt_size patches."""
    opt = options(POOLED, device, batch, False, data_root)
    hr = read_batch(dataset(opt), batch, 0)['gt'].to(device)
    patches = hr[:, :, :opt['gt_size'], :opt['gt_size']].contiguous()
    two_d, two_pass = USMSharp().to(device), SeparableUSMSharp().to(device)
    result = {}
    for label, images in ((f'{batch}×3×{HR_CROP}×{HR_CROP} (the HR crops)', hr),
                          (f'{batch}×3×{opt["gt_size"]}×{opt["gt_size"]} (the GT patches)', patches)):
        with torch.no_grad():
            diff = (two_d(images) - two_pass(images)).abs().max().item()
            # the threshold mask |I − blur(I)|·255 > 10 of each: where round-off tips it, the outputs differ more
            masks = [(images - blur(images)).abs() * 255 > 10 for blur in
                     (lambda x: basicsr_filter2d(x, two_d.kernel), two_pass.blur)]
            flips = int((masks[0] != masks[1]).sum())
            same_mask = (usm_with_mask(images, masks[0], lambda x: basicsr_filter2d(x, two_d.kernel)) -
                         usm_with_mask(images, masks[0], two_pass.blur)).abs().max().item()
            times = {'BasicSR USMSharp': [], 'two 1-D passes': []}
            for fn, key in ((two_d, 'BasicSR USMSharp'), (two_pass, 'two 1-D passes')):
                fn(images)  # warm-up
            for _ in range(repeats):  # round-robin
                for fn, key in ((two_d, 'BasicSR USMSharp'), (two_pass, 'two 1-D passes')):
                    times[key].append(timed(lambda f=fn: f(images), device))
        result[label] = {'times': {k: summary(v) for k, v in times.items()}, 'max_diff': diff, 'flips': flips,
                         'pixels': images.numel(), 'max_diff_same_mask': same_mask}
    return result


def usm_with_mask(img, mask, blur, weight=0.5):
    """USMSharp's output with a given threshold mask: ``blur(mask)·clip(I + w·(I − blur(I))) + (1 − blur(mask))·I``."""
    soft = blur(mask.to(img.dtype))
    return soft * torch.clip(img + weight * (img - blur(img)), 0, 1) + (1 - soft) * img


class _Timers:
    """Seconds spent in each named part, summed over the iterations of a profile (:func:`clock`'s seconds)."""

    def __init__(self, device):
        self.device, self.total, self.now = device, {}, clock(device)

    def wrap(self, label, fn):
        def timed_fn(*args, **kwargs):
            common.sync(self.device)
            start = self.now()
            out = fn(*args, **kwargs)
            common.sync(self.device)
            self.total[label] = self.total.get(label, 0.0) + self.now() - start
            return out
        return timed_fn


class _TimedFunctional:
    """``torch.nn.functional`` for BasicSR's Real-ESRGAN module, with ``interpolate`` (its resizes) timed."""

    def __init__(self, functional, timers):
        self._f, self.interpolate = functional, timers.wrap('resize (F.interpolate, 4×)', functional.interpolate)

    def __getattr__(self, name):
        return getattr(self._f, name)


def _conv_filter2d(img, kernel):
    return basicsr_filter2d(img.contiguous(), kernel)


#: the profile's variants: (USM class, filter2D, the ``torch`` of basicsr.data.degradations) — BasicSR's own data
#: path, then with the compatibility layer's fixes 7, 8 and 9 added one by one (None: what the layer installed)
PROFILE_VARIANTS = {
    'BasicSR': (USMSharp, _conv_filter2d, torch),
    '+ two-pass USM (fix 7)': (SeparableUSMSharp, _conv_filter2d, torch),
    '+ FFT filter2D (fix 8)': (SeparableUSMSharp, None, torch),
    '+ Poisson levels by histogram (fix 9)': (SeparableUSMSharp, None, None),
}


def child_profile(profile, device, batch, iterations, dry_run, data_root):
    """One real-world iteration part by part, with BasicSR's data path and with the compatibility layer's fixes."""
    module = basicsr_realesrgan
    result = {}
    installed_torch = degradations.torch
    for variant, (usm, filter2d, module_torch) in PROFILE_VARIANTS.items():
        degradations.torch = module_torch or installed_torch
        opt = options(PROFILES[profile], device, batch, dry_run, data_root)
        model = build_model(opt)
        model.usm_sharpener = usm().to(device)
        data = dataset(opt)
        timers = _Timers(device)
        originals = {k: getattr(module, k) for k in ('filter2D', 'random_add_gaussian_noise_pt',
                                                    'random_add_poisson_noise_pt', 'paired_random_crop', 'F')}
        module.filter2D = timers.wrap('blur and sinc (filter2D, 3×)', filter2d or originals['filter2D'])
        noise = timers.wrap('noise (Gaussian or Poisson, 2×)', lambda fn, *a, **k: fn(*a, **k))
        module.random_add_gaussian_noise_pt = lambda *a, **k: noise(originals['random_add_gaussian_noise_pt'], *a, **k)
        module.random_add_poisson_noise_pt = lambda *a, **k: noise(originals['random_add_poisson_noise_pt'], *a, **k)
        module.paired_random_crop = timers.wrap('crop', originals['paired_random_crop'])
        module.F = _TimedFunctional(originals['F'], timers)
        model.usm_sharpener.forward = timers.wrap('USM sharpening (2×)', model.usm_sharpener.forward)
        model.jpeger.forward = timers.wrap('JPEG (DiffJPEG, 2×)', model.jpeger.forward)
        model._dequeue_and_enqueue = timers.wrap('training-pair pool', model._dequeue_and_enqueue)
        step = common.step_function(model)
        try:
            for i in range(iterations + 1):  # the first is a warm-up
                if i == 1:  # measured from here, with the pool full (Real-ESRGAN's steady state: it shuffles it)
                    timers.total = {}
                    model.queue_ptr = model.queue_size
                start = timers.now()
                batch_data = timers.wrap('dataset: read, crop, kernels (RealESRGANDataset)',
                                         lambda: read_batch(data, batch, i))()
                timers.wrap('feed_data (all of the above but the dataset)', lambda: degrade(model, batch_data, i))()
                timers.wrap('training step (optimize_parameters)', step)()
                timers.total['iteration'] = timers.total.get('iteration', 0.0) + timers.now() - start
        finally:
            for k, v in originals.items():
                setattr(module, k, v)
            degradations.torch = installed_torch
        result[variant] = {k: v / iterations for k, v in timers.total.items()}
        model = data = None  # freed before the next variant is built
    return result


# ------------------------------------------------------------------------------------------------ report
def report(results, args, batch, repeats, final):
    params, steps, usm, profile = (results.get(k) for k in ('params', 'steps', 'usm', 'profile'))
    sections = []
    if params:
        sn = params[BASELINE]['net_d']
        rows = [[name, p['net_d_type'], f'{p["net_d"] / 1e6:.2f} M', f'{p["net_d"] / sn:.2f}×',
                 f'{p["net_g"] / 1e6:.2f} M'] for name, p in params.items()]
        sections.append('## Parameters\n\n' + common.markdown_table(
            ['configuration', 'network_d', 'network_d parameters', 'vs UNetDiscriminatorSN', 'network_g parameters'],
            rows))
    if steps:
        base = steps['steps'][BASELINE]['median']
        rows = []
        for name, t in steps['steps'].items():
            memory = steps['memory'].get(name)
            rows.append([name, common.fmt_time(t), f'{steps["first"][name] * 1000:.0f} ms',
                         f'{memory:.0f} MiB' if memory is not None else '–', f'{t["median"] / base:.2f}×'])
        memory_note = ('peak allocated while building and warming up, weights and optimizer states included'
                       if args.device == 'cuda' else 'peak resident size of a process running two steps'
                       if not args.dry_run else 'not measured in a dry run')
        groups = ' and '.join('(' + ', '.join(g) + ')' for g in step_groups(args.device))
        time_note = ('wall-clock' if args.device == 'cuda' else
                     f'CPU seconds of the process with {args.threads} thread(s), which other jobs on the machine do '
                     f'not inflate as they do wall-clock')
        sections.append(
            f'## Training step\n\nBatch {batch}, gt_size 256, `optimize_parameters` on one batch degraded by the '
            f'model\'s own `feed_data`; times: {time_note}. Timed round-robin ({repeats} rounds) within each process: '
            f'{groups}. Memory: {memory_note}.\n\n'
            + common.markdown_table(['configuration', 'step, median (min–max)', 'first step', 'peak memory',
                                     f'vs {BASELINE}'], rows))
    if usm:
        rows = []
        for label, r in usm.items():
            t2d, t1d = r['times']['BasicSR USMSharp'], r['times']['two 1-D passes']
            rows.append([label, common.fmt_time(t2d), common.fmt_time(t1d), f'{t2d["median"] / t1d["median"]:.1f}×',
                         f'{r["max_diff"]:.1e}', f'{r["flips"]} of {r["pixels"]:,}', f'{r["max_diff_same_mask"]:.1e}'])
        sections.append('## USM sharpening\n\n' + common.markdown_table(
            ['images', 'BasicSR USMSharp (2-D 51×51)', 'two 1-D passes', 'speed-up', 'max |difference|',
             'threshold mask differs at', 'max |difference| with the same mask'], rows) +
            '\n\nThe mask `|I − blur(I)|·255 > 10` is a step: a pixel whose residual lies within round-off of the '
            'threshold may fall either side in two float32 computations, which moves the output around it (the '
            '"max |difference|" column); with the same mask the two differ by the float32 round-off of the blurs '
            '(BasicSR\'s 2601-term sums: about 3e-6 from the exact blur; the two passes: about 4e-7).')
    if profile:
        variants = list(profile)
        labels = [k for k in profile[variants[0]] if k != 'iteration'] + ['iteration']
        rows = []
        for label in labels:
            row = [label]
            for variant in variants:
                seconds = profile[variant].get(label, 0.0)
                share = seconds / profile[variant]['iteration']
                row += [f'{seconds * 1000:.0f} ms', f'{share * 100:.1f} %']
            rows.append(row)
        def data_path(v):
            return sum(profile[v].get(k, 0.0) for k in profile[v] if k.startswith(('dataset', 'feed_data')))

        base, base_iteration = data_path(variants[0]), profile[variants[0]]['iteration']
        gains = 'The data path (dataset + feed_data): ' + '; '.join(
            f'{v}: {data_path(v) * 1000:.0f} ms ({base / data_path(v):.2f}× as fast as BasicSR\'s '
            f'{base * 1000:.0f} ms; {(base - data_path(v)) / base_iteration * 100:.1f} % of BasicSR\'s iteration '
            f'saved)' for v in variants[1:])
        sections.append(
            f'## Profile of one real-world iteration ({PROFILES[args.profile]}, batch {batch}, '
            f'mean of {args.profile_iterations}; '
            f'{"wall-clock" if args.device == "cuda" else "CPU seconds, " + str(args.threads) + " thread(s)"})\n\n'
            + common.markdown_table(['part'] + [h for v in variants for h in (v, 'share')], rows)
            + f'\n\nThe parts inside feed_data are included in its row. {gains}. The training step does not change '
            f'between the variants (its differences are the spread of repeated steps).')
    body = (('**Dry run** (8-feature generator of one block, 4-feature discriminators, no perceptual term): proves '
             'every path runs; the times mean nothing.\n\n' if args.dry_run else '') + '\n\n'.join(sections))
    if not final:
        body += '\n\n(partial)'
    body += ('\n\n    python benchmarks/bench_realworld.py' + (' --device cuda' if args.device == 'cuda' else '')
             + (f' --batch {args.batch}' if args.batch else '') + (' --dry_run' if args.dry_run else '')
             + (f' --profile {args.profile} --skip {args.skip}' if args.profile != 'recipe' else ''))
    name = '_'.join(['realworld'] + (['dry_run'] if args.dry_run else []) +
                    ([f'{args.profile}_profile'] if args.profile != 'recipe' else []))
    path = common.write_result(name, args.device, 'Real-world FA: discriminator heads, training step, data path',
                               body, args.out_dir)
    if final:
        print('\n' + body + f'\n\nwritten to {path}')


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu', choices=['cuda', 'cpu'])
    parser.add_argument('--batch', type=int, default=None, help='default: 12 on CUDA (the recipe), 2 on CPU, 1 in a '
                        'dry run')
    parser.add_argument('--repeats', type=int, default=None, help='rounds of the round-robin timing (default 5 on '
                        'CUDA, 3 on CPU, 1 in a dry run)')
    parser.add_argument('--warmup', type=int, default=None, help='steps before timing (default and least 2: the '
                        'second step holds the optimizer states; 1 in a dry run)')
    parser.add_argument('--profile_iterations', type=int, default=None, help='iterations averaged in the profile '
                        '(default 3, 1 in a dry run)')
    parser.add_argument('--profile', choices=list(PROFILES), default='recipe', help='the model the profile runs: '
                        'the recipe\'s (default) or the CPU demo\'s (options/demo/train_RealESRGAN_FA_demo.yml)')
    parser.add_argument('--skip', default='', help='comma-separated parts not to run: steps, memory, usm, profile')
    parser.add_argument('--out_dir', default=None, help='where the result table goes (default benchmarks/results)')
    parser.add_argument('--child_timeout', type=float, default=None, help='seconds per child process (default: none)')
    parser.add_argument('--threads', type=int, default=None, help='torch threads of every child process (default: 1 '
                        'on CPU, where the times are CPU seconds; torch\'s default on CUDA)')
    parser.add_argument('--dry_run', action='store_true', help='tiny networks without the perceptual term, batch 1, '
                        'one warm-up step and one round, no memory measured')
    parser.add_argument('--child', nargs='+', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda: no CUDA device is available.')
    batch = args.batch or (1 if args.dry_run else 12 if args.device == 'cuda' else 2)
    repeats = args.repeats or (1 if args.dry_run else 5 if args.device == 'cuda' else 3)
    warmup = max(args.warmup or 0, 1 if args.dry_run else 2)
    args.profile_iterations = args.profile_iterations or (1 if args.dry_run else 3)
    skip = {s.strip() for s in args.skip.split(',') if s.strip()}
    args.threads = args.threads or (1 if args.device == 'cpu' else torch.get_num_threads())
    torch.set_num_threads(args.threads)
    common.setup_device(args.device)

    if args.child:  # kind [name] data_root
        kind, data_root = args.child[0], args.child[-1]
        if kind == 'steps':
            result = child_steps(args.child[1].split('|'), args.device, batch, repeats, warmup, args.dry_run,
                                 data_root)
        elif kind == 'memory':
            result = child_memory(args.child[1], args.device, batch, args.dry_run, data_root)
        elif kind == 'usm':
            result = child_usm(args.device, batch, repeats, data_root)
        else:
            result = child_profile(args.profile, args.device, batch, args.profile_iterations, args.dry_run, data_root)
        print(json.dumps(result))
        return

    flags = ['--device', args.device, '--batch', str(batch), '--repeats', str(repeats), '--warmup', str(warmup),
             '--profile_iterations', str(args.profile_iterations), '--threads', str(args.threads),
             '--profile', args.profile] + \
        (['--dry_run'] if args.dry_run else [])
    os.environ['OMP_NUM_THREADS'] = str(args.threads)
    results = {'params': parameters(args.dry_run)}
    with tempfile.TemporaryDirectory() as work:
        data_root = str(write_photos(Path(work) / 'hr'))
        torch_home = Path(work) / 'torch'
        if not args.dry_run:
            common.prepare_stand_in_vgg(torch_home)
        os.environ['TORCH_HOME'] = str(torch_home)
        os.chdir(work)  # BasicSR also looks for experiments/pretrained_models/vgg19 relative to here

        def child(*kind):
            start = time.perf_counter()
            out = common.run_child(__file__, [*kind, data_root] + flags, args.child_timeout)
            print(f'{" ".join(kind)}: {time.perf_counter() - start:.0f} s', flush=True)
            return out

        if 'steps' not in skip:
            results['steps'] = {'steps': {}, 'first': {}, 'memory': {}}
            for group in step_groups(args.device):
                for key, values in child('steps', '|'.join(group)).items():
                    results['steps'][key].update(values)
            results['steps'] = {k: {name: v[name] for name in CONFIGS if name in v}  # the table's order
                                for k, v in results['steps'].items()}
            if args.device == 'cpu' and not args.dry_run and 'memory' not in skip:
                for name in CONFIGS:  # the process's peak resident size: one process each
                    results['steps']['memory'][name] = child('memory', name)['peak_mib']
            report(results, args, batch, repeats, final=False)
        if 'usm' not in skip:
            results['usm'] = child('usm')
            report(results, args, batch, repeats, final=False)
        if 'profile' not in skip:
            results['profile'] = child('profile')
    report(results, args, batch, repeats, final=True)


if __name__ == '__main__':
    main()
