"""Score another method's published SR images exactly as ``fasrgan_basicsr/test.py`` scores this project's.

    python fasrgan_basicsr/score_outputs.py --sr results_of_RCAN/Set5 --hr datasets/benchmarks/Set5/HR --name RCAN
    python fasrgan_basicsr/score_outputs.py --sr ESRGAN/Set14 --hr datasets/benchmarks/Set14/HR --name ESRGAN \\
        [--dataset Set14] [--metrics psnr ssim lpips niqe pi rmse] [-o results] [--opt options/test/test_FASRGAN_x4.yml]

Metrics: the ``val.metrics`` entries (and ``scale``) of a test option file, by default the shipped
``options/test/test_FASRGAN_x4.yml`` — PSNR/SSIM on Y with a 4-pixel crop, LPIPS (AlexNet, v0.0, whole image),
NIQE, RMSE — through BasicSR's ``calculate_metric`` with the images as BasicSR's test pipeline hands them over
(uint8 BGR via ``tensor2img``, ``img`` = SR, ``img2`` = HR), averaged over the HR folder's images in the order
BasicSR's ``PairedImageDataset`` reads them. So the same SR images give the same numbers as ``test.py``. PI
(``((10 − Ma) + NIQE)/2``) is added by default when pyiqa is installed; without an entry of its own in the option
file it takes NIQE's crop.

Matching: an SR file belongs to the HR file whose name (less extension) is the longest one the SR name starts
with, followed by nothing, a separator (``_ - . + space``) or a scale tag ``x<N>`` that ends the name or is
followed by a separator: ``baby_x4_SR``, ``babyx4_RCAN``, ``baby_RCAN_x4``, ``babyx4_<name>`` (test.py's own) all
belong to ``baby``; ``baby2`` and ``img_0011`` (with HR ``img_001``) belong to nothing. Two SR files for one HR
file is an error naming both.

Sizes: an SR image must have its HR image's size, or the size BasicSR's test datasets crop HR to (height and width
floored to a multiple of ``scale``, top-left); then HR is cropped so. Any other size is reported with both sizes
and that image is not scored; SR images are never cropped or resized.

Output: ``<results>/<name>/test_<name>_<time>.log`` in test.py's format (``collect_results.py`` puts the method in
the same table and trade-off plot as this project's runs); existing files are never replaced. Where some HR
images were not scored, the dataset is logged as ``<dataset> (<n> of <N> images)``, so the table never shows a
subset's mean in the full set's row.

Exit status: 0 every HR image scored; 1 some HR images could not be scored (no SR image, wrong size, unreadable;
each named), the others were; 2 bad arguments or nothing to score (nothing written).
"""
import fasrgan_basicsr  # noqa: F401  (first: makes basicsr importable, registers the plugin's metrics)

# isort: split
import argparse
import importlib.util
import logging
import os
import re
import sys
from os import path as osp
from types import SimpleNamespace

from basicsr.metrics import calculate_metric
from basicsr.models.sr_model import SRModel
from basicsr.utils import get_root_logger, get_time_str, imfrombytes, img2tensor, tensor2img
from basicsr.utils.options import dict2str
from basicsr.utils.registry import METRIC_REGISTRY

from fasrgan_basicsr.utils.cli import UserError, run_cli
from fasrgan_basicsr.utils.entry import ROOT
from fasrgan_basicsr.utils.image_files import IMG_EXTS
from fasrgan_basicsr.utils.options import read_option_file

#: the test option file whose ``val.metrics`` and ``scale`` are used unless ``--opt`` names another
DEFAULT_OPTIONS = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'options', 'test', 'test_FASRGAN_x4.yml')
#: what may follow the HR name in a released SR file name
SEPARATORS = '_-.+ '
SCALE_TAG = re.compile(r'[xX]\d+(?:$|[_\-.+ ])')
#: the first words of every log this command writes (how it tells its own logs from test.py's)
LOG_MARKER = 'score_outputs.py:'


def is_release_suffix(rest):
    """Whether ``rest`` may follow an HR name in an SR name: empty, a separator first, or a scale tag ``x<N>``."""
    return rest == '' or rest[0] in SEPARATORS or SCALE_TAG.match(rest) is not None


def hr_stem_of(sr_stem, hr_stems):
    """The longest of ``hr_stems`` that ``sr_stem`` starts with, followed by a release suffix; None if none."""
    found = [stem for stem in hr_stems if sr_stem.startswith(stem) and is_release_suffix(sr_stem[len(stem):])]
    return max(found, key=len, default=None)


def match_files(sr_names, hr_names):
    """Pair SR file names with HR file names by name (see the module's docstring for the rule).

    Returns:
        tuple: ``(pairs, unmatched)``: ``{HR name: SR name}`` and the SR names that belong to no HR name.

    Raises:
        UserError: two HR names with the same stem, or two SR names that belong to the same HR name.
    """
    hr_by_stem = {}
    for name in hr_names:
        stem = osp.splitext(name)[0]
        if stem in hr_by_stem:
            raise UserError(f'{hr_by_stem[stem]} and {name} are both HR images named {stem!r}; keep one.')
        hr_by_stem[stem] = name
    pairs, unmatched = {}, []
    for name in sorted(sr_names):
        stem = hr_stem_of(osp.splitext(name)[0], hr_by_stem)
        if stem is None:
            unmatched.append(name)
        elif hr_by_stem[stem] in pairs:
            raise UserError(f'{pairs[hr_by_stem[stem]]} and {name} both match HR image {hr_by_stem[stem]}; '
                            f'keep one of them (one SR image per HR image).')
        else:
            pairs[hr_by_stem[stem]] = name
    return pairs, unmatched


def image_names(folder, option):
    """Image files of ``folder`` in ``os.scandir`` order (BasicSR's order), hidden files skipped."""
    if not osp.isdir(folder):
        raise UserError(f'{option} {folder}: no such folder.')
    names = [e.name for e in os.scandir(folder)
             if e.is_file() and not e.name.startswith('.') and e.name.lower().endswith(IMG_EXTS)]
    if not names:
        raise UserError(f'{option} {folder}: no images ({", ".join(IMG_EXTS)}) in this folder.')
    return names


def read_float_bgr(path):
    """``(H, W, 3)`` float32 BGR in [0, 1], read as BasicSR's ``PairedImageDataset`` reads it; None if unreadable."""
    try:
        with open(path, 'rb') as f:
            return imfrombytes(f.read(), float32=True)
    except (OSError, AttributeError, ValueError):  # cv2.imdecode gives None for what it cannot decode
        return None


def as_metric_input(img):
    """The uint8 BGR image BasicSR's test pipeline passes to metrics: ``tensor2img`` of the dataset's tensor."""
    return tensor2img(img2tensor(img, bgr2rgb=True, float32=True))


def hr_size_for(sr_size, hr_size, scale):
    """``(H, W)`` of HR to compare with an SR of ``sr_size``: HR's own, or HR floored to multiples of ``scale``
    (as BasicSR's paired test datasets crop it); None when SR has neither size."""
    modcrop = tuple(n - n % scale for n in hr_size)
    return tuple(hr_size) if tuple(sr_size) == tuple(hr_size) else (modcrop if tuple(sr_size) == modcrop else None)


def size_text(size):
    return f'{size[1]}×{size[0]}'


def pyiqa_installed():
    return importlib.util.find_spec('pyiqa') is not None


def pi_options(niqe_options):
    """PI's metric options where an option file has none (the test files keep theirs commented out): NIQE's crop."""
    return {'type': 'calculate_pi', 'crop_border': niqe_options.get('crop_border', 0), 'better': 'lower'}


def metric_options(opt_path, names, pi_available):
    """``(scale, {name: options})`` of the metrics to compute: ``names`` (default: all) of ``opt_path``'s
    ``val.metrics``, and ``pi`` (also by default when ``pi_available``) from NIQE's entry when the file has none."""
    opt = read_option_file(opt_path)
    scale = opt.get('scale')
    if not isinstance(scale, int) or isinstance(scale, bool) or scale < 1:
        raise UserError(f'{opt_path}: scale: expected a positive integer, got {scale!r}.')
    metrics = opt['val'].get('metrics') if isinstance(opt.get('val'), dict) else None
    if not isinstance(metrics, dict) or not metrics:
        raise UserError(f'{opt_path}: val.metrics: expected the metrics to score with, got {metrics!r}.')
    metrics = dict(metrics)
    if names is None:  # the option file's metrics, and PI where it can be computed
        names = list(metrics) + (['pi'] if pi_available and 'pi' not in metrics and 'niqe' in metrics else [])
    if 'pi' not in metrics and 'niqe' in metrics:  # PI = ((10 − Ma) + NIQE)/2 on NIQE's crop
        metrics['pi'] = pi_options(metrics['niqe'])
    unknown = [n for n in names if n not in metrics]
    if unknown:
        raise UserError(f'--metrics: {", ".join(unknown)} not in {opt_path} val.metrics '
                        f'(available: {", ".join(metrics)}).')
    for name in names:
        if not isinstance(metrics[name], dict) or metrics[name].get('type') not in METRIC_REGISTRY:
            raise UserError(f'{opt_path}: val.metrics.{name}.type: expected a registered metric, '
                            f'got {metrics[name]!r}.')
    return scale, {n: metrics[n] for n in names}


def dataset_name(hr_folder):
    """``datasets/benchmarks/Set5/HR`` → ``Set5``: the folder's name, or its parent's when it is HR/GT."""
    folder = osp.abspath(hr_folder)
    name = osp.basename(folder)
    return osp.basename(osp.dirname(folder)) if name.lower() in ('hr', 'gt') else name


def check_results_folder(folder):
    """Refuse a results folder that holds a test.py run: this command's log would hide it in the table."""
    if not osp.isdir(folder):
        return
    for name in sorted(os.listdir(folder)):
        if name.startswith('test_') and name.endswith('.log'):
            with open(osp.join(folder, name), errors='replace') as f:
                first = f.readline()
            if LOG_MARKER not in first:
                raise UserError(f'{folder} holds a test.py result ({name}); choose another --name.')


def new_log_path(folder, name):
    """``<folder>/test_<name>_<time>.log`` (``_2``, ``_3`` … when a log of that second exists)."""
    stem = osp.join(folder, f'test_{name}_{get_time_str()}')
    path, n = f'{stem}.log', 1
    while osp.exists(path):
        n += 1
        path = f'{stem}_{n}.log'
    return path


def check_pairs(pairs, sr_dir, hr_dir, scale):
    """Read every pair once, before any scoring.

    Returns:
        tuple: ``(usable, cropped, problems)``: ``[(HR name, SR name, (H, W) of HR to score)]``, the HR images
        cropped to a multiple of ``scale`` (``'name (W×H → W×H)'``), and one line per pair that cannot be scored.
    """
    usable, cropped, problems = [], [], []
    for hr_name, sr_name in pairs.items():
        hr, sr = read_float_bgr(osp.join(hr_dir, hr_name)), read_float_bgr(osp.join(sr_dir, sr_name))
        if hr is None or sr is None:
            which = ' and '.join(f'{d}/{n}' for d, n, img in ((hr_dir, hr_name, hr), (sr_dir, sr_name, sr))
                                 if img is None)
            problems.append(f'{hr_name}: cannot read {which} as an image; not scored.')
            continue
        size = hr_size_for(sr.shape[:2], hr.shape[:2], scale)
        if size is None:
            modcrop = tuple(n - n % scale for n in hr.shape[:2])
            problems.append(f'{hr_name}: SR {sr_name} is {size_text(sr.shape)}, HR is {size_text(hr.shape)} '
                            f'(cropped to a multiple of {scale}: {size_text(modcrop)}); not scored.')
            continue
        if size != hr.shape[:2]:
            cropped.append(f'{hr_name} ({size_text(hr.shape)} → {size_text(size)})')
        usable.append((hr_name, sr_name, size))
    return usable, cropped, problems


def score(usable, sr_dir, hr_dir, metrics, logger):
    """Mean of each metric over ``usable``, summed and divided as BasicSR's ``SRModel.nondist_validation``."""
    results = {name: 0 for name in metrics}
    for hr_name, sr_name, (h, w) in usable:
        metric_data = {'img': as_metric_input(read_float_bgr(osp.join(sr_dir, sr_name))),
                       'img2': as_metric_input(read_float_bgr(osp.join(hr_dir, hr_name))[:h, :w])}
        values = {name: calculate_metric(metric_data, opt) for name, opt in metrics.items()}
        for name, value in values.items():
            results[name] += value
        logger.info(f'{hr_name} <- {sr_name}: ' + ', '.join(f'{n} {float(v):.4f}' for n, v in values.items()))
    return {name: total / len(usable) for name, total in results.items()}


def log_validation(metrics, means, dataset, name):
    """Log the block test.py's log holds, through the same methods of BasicSR's ``SRModel`` (its "Best" part
    included: ``SRModel`` keeps best values when testing too, with the run's name as the iteration)."""
    validation = SimpleNamespace(opt={'val': {'metrics': metrics}}, metric_results=means)
    SRModel._initialize_best_metric_results(validation, dataset)
    for metric, value in means.items():
        SRModel._update_best_metric_result(validation, dataset, metric, value, name)
    SRModel._log_validation_metric_values(validation, name, dataset, None)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--sr', required=True, help='folder of the method\'s SR images')
    parser.add_argument('--hr', required=True, help='folder of the benchmark\'s HR images')
    parser.add_argument('--name', required=True, help='method name: the results folder and the table\'s column')
    parser.add_argument('--dataset', help='dataset name in the table (default: the HR folder\'s, or its parent\'s '
                                          'when it is called HR or GT)')
    parser.add_argument('--metrics', nargs='+', help='names in the option file\'s val.metrics, plus pi (default: '
                                                     'all of them, pi when pyiqa is installed)')
    parser.add_argument('-o', '--results', default=osp.join(ROOT, 'results'),
                        help='results root, as test.py\'s (default: %(default)s)')
    parser.add_argument('--opt', default=DEFAULT_OPTIONS,
                        help='test option file whose val.metrics and scale are used (default: %(default)s)')
    args = parser.parse_args(argv)

    if not re.fullmatch(r'[A-Za-z0-9][\w.+-]*', args.name) or '_archived_' in args.name:
        raise UserError(f'--name {args.name!r}: expected letters, digits and _ . + - (no "_archived_"), '
                        f'as it names a folder.')
    dataset = args.dataset or dataset_name(args.hr)
    if not dataset.strip() or '\n' in dataset:
        raise UserError(f'--dataset {dataset!r}: expected a one-line name.')
    scale, metrics = metric_options(args.opt, args.metrics, args.metrics is None and pyiqa_installed())
    hr_names, sr_names = image_names(args.hr, '--hr'), image_names(args.sr, '--sr')
    try:
        pairs, unmatched_sr = match_files(sr_names, hr_names)
    except UserError as err:
        raise UserError(f'--sr {args.sr}: {err}') from None
    if not pairs:
        raise UserError(f'--sr {args.sr}: none of its {len(sr_names)} images matches an HR image of {args.hr} '
                        f'(e.g. {sorted(sr_names)[0]}; HR: {", ".join(sorted(hr_names)[:5])}'
                        f'{", ..." if len(hr_names) > 5 else ""}). SR names must start with the HR name.')
    pairs = {hr: pairs[hr] for hr in hr_names if hr in pairs}  # BasicSR's order: the HR folder's
    results_dir = osp.join(args.results, args.name)
    check_results_folder(results_dir)
    usable, cropped, problems = check_pairs(pairs, args.sr, args.hr, scale)
    problems = [f'{hr}: no SR image in {args.sr}; not scored.' for hr in hr_names if hr not in pairs] + problems
    if not usable:
        for line in problems:
            print(line, file=sys.stderr)
        raise UserError(f'--sr {args.sr}: no image could be scored against {args.hr} (see above).')

    os.makedirs(results_dir, exist_ok=True)
    log_path = new_log_path(results_dir, args.name)
    logger = get_root_logger()  # BasicSR's logger: its console handler and format, and the metrics' errors
    handler = logging.FileHandler(log_path, mode='x', encoding='utf-8')
    handler.setFormatter(logging.Formatter('%(asctime)s %(levelname)s: %(message)s'))
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        logger.info(f'{LOG_MARKER} {args.name} on {dataset}: SR images of {osp.abspath(args.sr)} against HR images '
                    f'of {osp.abspath(args.hr)}; metrics from {osp.abspath(args.opt)} (scale {scale}):'
                    + dict2str(metrics))
        if 'pi' not in metrics and args.metrics is None:
            logger.info('PI not computed: it needs pyiqa (pip install -e .[pi]).')
        if unmatched_sr:
            logger.warning(f'{len(unmatched_sr)} SR image(s) of {args.sr} match no HR image (not scored): '
                           + ', '.join(unmatched_sr))
        for line in problems:
            logger.warning(line)
        if cropped:
            logger.info(f'HR cropped to a multiple of {scale} (top-left, as BasicSR\'s test datasets) to match its SR: '
                        + ', '.join(cropped))
        means = score(usable, args.sr, args.hr, metrics, logger)
        name = dataset if len(usable) == len(hr_names) else f'{dataset} ({len(usable)} of {len(hr_names)} images)'
        log_validation(metrics, means, name, args.name)
    finally:
        logger.removeHandler(handler)
        handler.close()
        logger.setLevel(level)
    print(f'{name}: ' + ', '.join(f'{metric} {value:.4f}' for metric, value in means.items()))
    print(f'wrote {log_path}')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(run_cli(main))
