"""The paper's Table I from your test results: each measured value beside the published one, and the difference.

    fasrgan-table1 --results results -o results/table1                      # the authors' released weights
    fasrgan-table1 --results results -o results/table1 --weights paper     # this project's paper-profile runs
    fasrgan-table1 --results results -o results/table1 --run "FASRGAN (default protocol)=FASRGAN_x4=FASRGAN"

Rows: FASRGAN, Fs-SRGAN, FA+Fs-SRGAN and ESRGAN, read from the results folders that the test option files of
``options/test/authors_protocol/`` write (scored with the authors' protocol, as the paper's numbers are):

- ``--weights release_weights`` (default): the authors' released weights (``*_x4_release_weights_authors_protocol``;
  ESRGAN: ESRGAN's own released model);
- ``--weights paper``: runs of this project's paper-profile option files (``*_x4_authors_protocol``);
- ``--weights authors_release``: runs of ``options/authors_release/`` (``*_x4_authors_release_authors_protocol``;
  ESRGAN: its released weights, the release profile has no ESRGAN).

``--run LABEL=FOLDER[=METHOD]`` adds a row for any results folder (yours, or a default-protocol run); it gets the
published values of ``METHOD`` (one of Table I's methods) or, without it, of the method named ``LABEL`` if there is
one. ``--only`` shows the ``--run`` rows alone.

Columns: PSNR, SSIM, PI, LPIPS for each of Table I's sets (Set5, Urban100, BSD100, DIV2K val, PIRM val;
``--datasets`` for others, e.g. Set14, whose published cells are empty). Each cell is ``measured / published
(measured − published)``; ``–`` where there is no value, ``nan`` where a metric could not be computed (PI
without pyiqa). The published values come from one file, ``fasrgan_basicsr/evaluation/published_table1.yml``,
which says where each comes from (the paper's text; the columns the text does not attribute are left out).

Written to the output folder: ``table1.md`` (the table and notes) and ``table1.csv`` (per method: measured,
published and difference of every column, full precision).

Exit status: 0 written; 2 no results folder, no test logs, a ``--run`` folder without results, or a bad argument.
"""
import fasrgan_basicsr  # noqa: F401  (first: makes basicsr importable)

# isort: split
import os
import sys
from os import path as osp

from fasrgan_basicsr.evaluation import results as res
from fasrgan_basicsr.evaluation import table1
from fasrgan_basicsr.utils.cli import ArgumentParser, entry_point
from fasrgan_basicsr.utils.errors import UserError


def parse_run(text, published):
    """``LABEL=FOLDER[=METHOD]`` → ``(label, folder, method or None)``."""
    parts = text.split('=')
    if len(parts) not in (2, 3) or not all(p.strip() for p in parts):
        raise UserError(f'--run {text!r}: expected LABEL=FOLDER or LABEL=FOLDER=METHOD.')
    label, folder = parts[0].strip(), parts[1].strip()
    method = parts[2].strip() if len(parts) == 3 else (label if label in published else None)
    if method is not None and method not in published:
        raise UserError(f'--run {text!r}: {method!r} is not a method of Table I ({", ".join(published)}).')
    return label, folder, method


def main(argv=None):
    parser = ArgumentParser(description=__doc__)
    parser.add_argument('--results', default='results', help='folder of test results (default: results)')
    parser.add_argument('-o', '--output', required=True, help='folder for table1.md and table1.csv (created)')
    parser.add_argument('--weights', choices=sorted(table1.WEIGHTS), default='release_weights',
                        help='which results the default rows are (default: release_weights)')
    parser.add_argument('--run', nargs='+', default=[], metavar='LABEL=FOLDER[=METHOD]', help='rows to add')
    parser.add_argument('--only', action='store_true', help='show the --run rows only')
    parser.add_argument('--datasets', nargs='+', default=list(table1.TABLE_DATASETS),
                        help='benchmarks, in this column order (default: Table I\'s)')
    args = parser.parse_args(argv)
    published, source = table1.load_published()
    added = [parse_run(text, published) for text in args.run]
    if args.only and not added:
        raise UserError('--only: give the rows with --run.')
    if not osp.isdir(args.results):
        raise UserError(f'--results {args.results}: no such folder (fasrgan_basicsr/test.py writes results/<name>).')
    skipped = []
    results = res.collect_results(args.results, skipped=skipped)
    for line in skipped:
        print(f'warning: {line}', file=sys.stderr)
    if not results:
        raise UserError(f'--results {args.results}: no test logs (results/<name>/test_<name>_*.log) found.')
    missing = [folder for _, folder, _ in added if folder not in results]
    if missing:
        raise UserError(f'--run: no results in {", ".join(osp.join(args.results, m) for m in missing)} '
                        f'(found: {", ".join(sorted(results))}).')
    defaults = [] if args.only else [(m, table1.WEIGHTS[args.weights][m], m) for m in table1.METHODS]
    table = table1.build(results, defaults + added, published, args.datasets)
    markdown = (table1.to_markdown(table, args.datasets) + '\n'
                + table1.notes(table, source, args.weights))
    os.makedirs(args.output, exist_ok=True)
    written = []
    for name, text in (('table1.md', markdown), ('table1.csv', table1.to_csv(table, args.datasets))):
        with open(osp.join(args.output, name), 'w', encoding='utf-8') as f:
            f.write(text)
        written.append(osp.join(args.output, name))
    print(markdown)
    print('\n'.join(f'wrote {p}' for p in written))
    return 0


run = entry_point(main)

if __name__ == '__main__':
    sys.exit(run())
