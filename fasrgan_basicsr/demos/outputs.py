"""Everything the demos write under their root, and ``make clean``, which removes exactly that.

    python fasrgan_basicsr/demos/outputs.py [ROOT]      # what `make clean` runs (ROOT: the current folder)

Standard library only, so that ``make clean`` runs without the package's dependencies (and without importing it).
"""
import os
import shutil
import sys
from os import path as osp

#: the runs of the demos (their folders under experiments/, results/ and tb_logger/, and their lock files)
TRAINING_RUNS = ('RRDBNet_PSNR_demo', 'FASRGAN_demo', 'RealESRNet_demo', 'RealESRGAN_FA_demo')
TEST_RUNS = ('FASRGAN_demo_test', 'RealESRGAN_FA_demo_test')
#: what the demos write, relative to their root
OUTPUTS = (('datasets/demo',)
           + tuple(f'experiments/{run}' for run in TRAINING_RUNS)
           + tuple(f'experiments/.{run}.lock' for run in TRAINING_RUNS)
           + tuple(f'results/{run}' for run in TEST_RUNS)
           + tuple(f'results/.{run}.lock' for run in TEST_RUNS)
           + tuple(f'tb_logger/{run}' for run in TRAINING_RUNS)
           + ('results/demo_summary.md', 'results/demo_panel.png', 'results/demo.log', 'results/demo_realworld.log'))
#: folders the demos create and that stay only when something else is in them
PARENTS = ('experiments', 'results', 'tb_logger', 'datasets')


def archived(root, relative):
    """Folders BasicSR moved aside for an output (``<name>_archived_<time>``), relative to ``root``."""
    parent, name = osp.split(relative)
    folder = osp.join(root, parent)
    if not osp.isdir(folder):
        return []
    return [osp.join(parent, entry) for entry in sorted(os.listdir(folder)) if entry.startswith(f'{name}_archived_')]


def clean(root='.'):
    """Remove what the demos wrote under ``root`` (and their now-empty parent folders); returns what was removed."""
    removed = []
    for relative in OUTPUTS:
        for target in [relative] + archived(root, relative):
            path = osp.join(root, target)
            if osp.isdir(path) and not osp.islink(path):
                shutil.rmtree(path)
            elif osp.lexists(path):
                os.remove(path)
            else:
                continue
            removed.append(target)
    for parent in PARENTS:
        path = osp.join(root, parent)
        if osp.isdir(path) and not os.listdir(path):
            os.rmdir(path)
            removed.append(parent)
    return removed


if __name__ == '__main__':
    gone = clean(sys.argv[1] if len(sys.argv) > 1 else '.')
    print('removed: ' + ', '.join(gone) if gone else 'nothing of the demos to remove')
