"""Score another method's published SR images exactly as ``fasrgan_basicsr/test.py`` scores this project's.

    fasrgan-score --sr results_of_RCAN/Set5 --hr datasets/benchmarks/Set5/HR --name RCAN
    fasrgan-score --sr ESRGAN/Set14 --hr datasets/benchmarks/Set14/HR --name ESRGAN \\
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

A ``calculate_mse`` metric (the authors' protocol, ``options/test/authors_protocol/``) is logged as the mean MSE
and printed with its root, ``rmse_dataset``, the release's RMSE.

Output: ``<results>/<name>/test_<name>_<time>.log`` in test.py's format (``collect_results.py`` puts the method in
the same table and trade-off plot as this project's runs); existing files are never replaced. Where some HR
images were not scored, the dataset is logged as ``<dataset> (<n> of <N> images)``, so the table never shows a
subset's mean in the full set's row.

Exit status: 0 every HR image scored; 1 some HR images could not be scored (no SR image, wrong size, unreadable;
each named), the others were; 2 bad arguments or nothing to score (nothing written).
"""
import fasrgan_basicsr  # noqa: F401  (first: makes basicsr importable, registers the plugin's metrics)

# isort: split
import logging
import os
import re
import sys
from os import path as osp

from basicsr.utils import get_root_logger
from basicsr.utils.options import dict2str

from fasrgan_basicsr.evaluation.results import dataset_root_values
from fasrgan_basicsr.evaluation.scoring import (
    LOG_MARKER,
    check_pairs,
    check_results_folder,
    dataset_name,
    identical_pairs,
    image_names,
    log_validation,
    looks_swapped,
    match_files,
    metric_options,
    new_log_path,
    pyiqa_installed,
    reference_scores,
    same_folder_problem,
    score,
)
from fasrgan_basicsr.pipeline import validation
from fasrgan_basicsr.utils.cli import ArgumentParser, entry_point
from fasrgan_basicsr.utils.errors import UserError
from fasrgan_basicsr.utils.shipped_options import shipped_option_file

#: the shipped test option file whose ``val.metrics`` and ``scale`` are used unless ``--opt`` names another
DEFAULT_OPTIONS = osp.join('test', 'test_FASRGAN_x4.yml')


def main(argv=None):
    validation.install()  # a metric that cannot be computed is named, never logged with a best (as in test.py)
    parser = ArgumentParser(description=__doc__)
    parser.add_argument('--sr', required=True, help='folder of the method\'s SR images')
    parser.add_argument('--hr', required=True, help='folder of the benchmark\'s HR images')
    parser.add_argument('--name', required=True, help='method name: the results folder and the table\'s column')
    parser.add_argument('--dataset', help='dataset name in the table (default: the HR folder\'s, or its parent\'s '
                                          'when it is called HR or GT)')
    parser.add_argument('--metrics', nargs='+', help='names in the option file\'s val.metrics, plus pi (default: '
                                                     'all of them, pi when pyiqa is installed)')
    parser.add_argument('-o', '--results', default='results',
                        help='results root, as test.py\'s (default: %(default)s)')
    parser.add_argument('--opt', default=None,
                        help='test option file whose val.metrics and scale are used '
                        f'(default: the shipped {DEFAULT_OPTIONS})')
    args = parser.parse_args(argv)
    args.opt = args.opt or shipped_option_file(DEFAULT_OPTIONS)

    if not re.fullmatch(r'[A-Za-z0-9][\w.+-]*', args.name) or '_archived_' in args.name:
        raise UserError(f'--name {args.name!r}: expected letters, digits and _ . + - (no "_archived_"), '
                        f'as it names a folder.')
    dataset = args.dataset or dataset_name(args.hr)
    if not dataset.strip() or '\n' in dataset:
        raise UserError(f'--dataset {dataset!r}: expected a one-line name.')
    scale, metrics = metric_options(args.opt, args.metrics, args.metrics is None and pyiqa_installed())
    problem = same_folder_problem(args.sr, args.hr)
    if problem:
        raise UserError(problem)
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
    identical = identical_pairs(usable, args.sr, args.hr)
    if len(identical) == len(usable):
        raise UserError(f'--sr {args.sr}: every image is identical to its HR image in {args.hr} (PSNR would be inf): '
                        'is --sr the HR folder? Nothing was written.')

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
        if identical:
            logger.warning(f'{len(identical)} SR image(s) are identical to their HR image (PSNR inf): '
                           + ', '.join(identical))
        if cropped:
            logger.info(f'HR cropped to a multiple of {scale} (top-left, as BasicSR\'s test datasets) to match its SR: '
                        + ', '.join(cropped))
        means = score(usable, args.sr, args.hr, metrics, logger)
        references = reference_scores(usable, args.hr, metrics)
        if references:
            logger.info('no-reference scores of the HR images themselves (for comparison): '
                        + ', '.join(f'{n} {v:.4f}' for n, v in references.items()))
        for line in looks_swapped(means, references, metrics):
            logger.warning(line)
        name = dataset if len(usable) == len(hr_names) else f'{dataset} ({len(usable)} of {len(hr_names)} images)'
        log_validation(metrics, means, name, args.name)
    finally:
        logger.removeHandler(handler)
        handler.close()
        logger.setLevel(level)
    shown = dataset_root_values(means, {n: o.get('type') for n, o in metrics.items()})  # + the release's RMSE
    print(f'{name}: ' + ', '.join(f'{metric} {value:.4f}' for metric, value in shown.items()))
    print(f'wrote {log_path}')
    return 1 if problems else 0



run = entry_point(main)

if __name__ == '__main__':
    sys.exit(run())
