"""Running the demos' steps: each is one of this package's real commands, in a child process, as a user runs it.

The screen gets one line per step (what it does, then how long it took and its result); everything the commands
print goes to the demo's log file (``results/demo.log``), and to the screen too with ``-v``. A step that fails
shows the end of its output and the log's path.
"""
import os
import subprocess
import sys
import time
from os import path as osp

from fasrgan_basicsr.evaluation.results import parse_validations
from fasrgan_basicsr.utils.errors import UserError

#: lines of a failed step's output shown on the screen
TAIL_LINES = 30


class StepFailed(UserError):
    """A step of a demo exited with an error (its own message is above)."""

    def __init__(self, command, status, log):
        self.status = status
        super().__init__(f'{command} failed with exit status {status} (the end of its output is above; all of it in '
                         f'{log}); the demo stopped.')


class Steps:
    """The steps of one demo run: ``total`` of them, numbered on the screen, their output in ``log_path``."""

    def __init__(self, log_path, total, verbose=False):
        self.log_path, self.total, self.verbose = log_path, total, verbose
        self.number = 0
        os.makedirs(osp.dirname(log_path) or '.', exist_ok=True)
        with open(log_path, 'w', encoding='utf-8'):
            pass

    def _start(self, title):
        self.number += 1
        print(f'[{self.number}/{self.total}] {title}', end='\n' if self.verbose else ' ...', flush=True)
        return time.monotonic()

    def _end(self, started, result=''):
        line = f'done in {time.monotonic() - started:.0f} s' + (f': {result}' if result else '')
        print(('    ' if self.verbose else ' ') + line, flush=True)

    def do(self, title, function, *args, result=None):
        """An in-process step: ``function(*args)``; ``result(value)`` gives the text after "done" (optional)."""
        started = self._start(title)
        value = function(*args)
        self._end(started, result(value) if result else '')
        return value

    def run(self, title, command, args, root, result=None):
        """Run ``python -m fasrgan_basicsr.cli.<command> ARGS`` in ``root``; returns its output (stdout and
        stderr, merged). ``result(output)`` gives the text after "done". A failure raises :class:`StepFailed`."""
        started = self._start(title)
        argv = [sys.executable, '-m', f'fasrgan_basicsr.cli.{command}', *args]
        lines = []
        with open(self.log_path, 'a', encoding='utf-8') as log:
            log.write(f'$ {" ".join(argv[2:])}\n')
            log.flush()
            proc = subprocess.Popen(argv, cwd=root, text=True, env=dict(os.environ, FASRGAN_ROOT=root),
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, errors='replace')
            for line in proc.stdout:
                lines.append(line)
                log.write(line)
                if self.verbose:
                    print(line, end='', flush=True)
            status = proc.wait()
        output = ''.join(lines)
        if status != 0:
            print(' FAILED', flush=True)
            if not self.verbose:
                sys.stderr.write(''.join(lines[-TAIL_LINES:]))
            raise StepFailed(command, status, self.log_path)
        self._end(started, result(output) if result else '')
        return output


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


def metrics_text(output):
    """``validation PSNR 25.12, SSIM 0.7012`` of the last validation in ``output`` ('' when none was logged)."""
    blocks = parse_validations(output.splitlines())
    found = blocks[-1][2] if blocks else {}
    if not found:
        return ''
    return 'validation ' + ', '.join(f'{name.upper()} {value:.4g}' if name != 'psnr' else f'PSNR {value:.2f} dB'
                                     for name, value in found.items())


def score_map_range(output):
    """``M 0.12–0.87, mean 0.51`` from fasrgan-score-map's lines (``<panel>  M min … max … mean …``)."""
    for line in output.splitlines():
        if '  M ' in line:
            return 'score map ' + line.partition('  M ')[2].strip()
    return ''
