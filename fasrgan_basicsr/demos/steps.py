"""Running the demos' steps: each is one of this package's real commands, in a child process, as a user runs it."""
import os
import subprocess
import sys
from os import path as osp

from fasrgan_basicsr.utils.errors import UserError


class StepFailed(UserError):
    """A step of a demo exited with an error (its own message is above)."""

    def __init__(self, command, status):
        self.status = status
        super().__init__(f'{command} failed with exit status {status} (its output is above); the demo stopped.')


def run_step(command, args, root, capture=False):
    """Run ``python -m fasrgan_basicsr.cli.<command> ARGS`` in ``root`` (echoed); with ``capture``, return its stdout.

    A step that fails raises :class:`StepFailed` naming it.
    """
    print('$', command, ' '.join(args), flush=True)
    proc = subprocess.run([sys.executable, '-m', f'fasrgan_basicsr.cli.{command}', *args], cwd=root, text=True,
                          env=dict(os.environ, FASRGAN_ROOT=root), stdout=subprocess.PIPE if capture else None)
    if capture:
        print(proc.stdout, end='', flush=True)
    if proc.returncode != 0:
        raise StepFailed(command, proc.returncode)
    return proc.stdout


def checkpoint(models, net, iteration):
    """``net_<net>_<iteration>.pth`` (its title then names the iteration), else ``net_<net>_latest.pth``."""
    numbered = osp.join(models, f'net_{net}_{iteration}.pth')
    return numbered if osp.isfile(numbered) else osp.join(models, f'net_{net}_latest.pth')


def shortened(iterations):
    """``--force_yml`` entries that train ``iterations`` iterations, validating and saving at the end."""
    if iterations is None:
        return []
    return ['--force_yml', f'train:total_iter={iterations}', f'val:val_freq={iterations}',
            f'logger:save_checkpoint_freq={iterations}', 'logger:print_freq=1']
