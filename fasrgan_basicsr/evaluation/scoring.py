"""Scoring another method's published SR images exactly as the test pipeline scores this project's.

The rules (which SR file belongs to which HR file, the sizes accepted, what is logged) are those of
``fasrgan-score --help`` (:mod:`fasrgan_basicsr.cli.score_outputs`).
"""
import importlib.util
import os
import re
from os import path as osp
from types import SimpleNamespace

from basicsr.metrics import calculate_metric
from basicsr.models.sr_model import SRModel
from basicsr.utils import get_time_str, imfrombytes, img2tensor, tensor2img
from basicsr.utils.registry import METRIC_REGISTRY

from fasrgan_basicsr.utils.errors import UserError
from fasrgan_basicsr.utils.files import file_kind
from fasrgan_basicsr.utils.image_files import IMG_EXTS, not_regular_problem
from fasrgan_basicsr.utils.option_file import read_option_file

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
    """Image files of ``folder`` in ``os.scandir`` order (BasicSR's order), hidden files skipped; entries named like
    images that are no regular files (a named pipe would block) are refused by name."""
    if not osp.isdir(folder):
        raise UserError(f'{option} {folder}: no such folder.')
    named = [e.name for e in os.scandir(folder) if not e.name.startswith('.') and e.name.lower().endswith(IMG_EXTS)]
    others = [osp.join(folder, n) for n in named if file_kind(osp.join(folder, n)) != 'file']
    if others:
        raise UserError(not_regular_problem(folder, others, option))
    names = [n for n in named if file_kind(osp.join(folder, n)) == 'file']
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


def same_folder_problem(sr_dir, hr_dir):
    """One line when ``--sr`` and ``--hr`` are the same folder (every score would compare an image with itself)."""
    if osp.realpath(sr_dir) == osp.realpath(hr_dir):
        return (f'--sr {sr_dir} and --hr {hr_dir} are the same folder: every image would be scored against itself '
                '(PSNR inf); give the method\'s SR images as --sr.')
    return None


def identical_pairs(usable, sr_dir, hr_dir):
    """The HR names of ``usable`` whose SR image is pixel for pixel its (cropped) HR image."""
    same = []
    for hr_name, sr_name, (h, w) in usable:
        sr, hr = read_float_bgr(osp.join(sr_dir, sr_name)), read_float_bgr(osp.join(hr_dir, hr_name))[:h, :w]
        if sr.shape == hr.shape and (sr == hr).all():
            same.append(hr_name)
    return same


#: metrics that score an image alone (no reference): their value on HR itself says which folder is which
NO_REFERENCE = {'calculate_niqe', 'calculate_pi', 'calculate_ma'}


def reference_scores(usable, hr_dir, metrics):
    """``{name: mean over the HR images themselves}`` of the no-reference metrics among ``metrics``."""
    chosen = {name: opt for name, opt in metrics.items() if opt.get('type') in NO_REFERENCE}
    if not chosen:
        return {}
    totals = {name: 0.0 for name in chosen}
    for hr_name, _, (h, w) in usable:
        data = {'img': as_metric_input(read_float_bgr(osp.join(hr_dir, hr_name))[:h, :w])}
        for name, opt in chosen.items():
            totals[name] += calculate_metric(data, opt)
    return {name: total / len(usable) for name, total in totals.items()}


def looks_swapped(means, references, metrics):
    """Lines for each no-reference metric whose SR mean is better than the HR images' own: worth a look."""
    lines = []
    for name, reference in references.items():
        value = means.get(name)
        lower = (metrics[name].get('better') or ('higher' if metrics[name]['type'] == 'calculate_ma' else 'lower')) \
            == 'lower'
        if value is not None and reference == reference and value == value and (
                value < reference if lower else value > reference):
            lines.append(f'the SR images score a better {name} ({value:.4f}) than their HR images ({reference:.4f}): '
                         'check that --sr and --hr are not swapped (a GAN can beat HR on no-reference scores).')
    return lines


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
