"""Moved: ``fasrgan-score`` (``python -m fasrgan_basicsr.cli.score_outputs``).

This path keeps working until release 0.3.
"""
from fasrgan_basicsr.cli.score_outputs import run
from fasrgan_basicsr.utils.cli import moved

if __name__ == '__main__':
    raise SystemExit(moved('fasrgan_basicsr/score_outputs.py', 'fasrgan-score', run))
