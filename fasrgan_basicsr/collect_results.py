"""Moved: ``fasrgan-collect`` (``python -m fasrgan_basicsr.cli.collect_results``).

This path keeps working until release 0.3.
"""
from fasrgan_basicsr.cli.collect_results import run
from fasrgan_basicsr.utils.cli import moved

if __name__ == '__main__':
    raise SystemExit(moved('fasrgan_basicsr/collect_results.py', 'fasrgan-collect', run))
