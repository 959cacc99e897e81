"""Moved: ``fasrgan-score-map`` (``python -m fasrgan_basicsr.cli.visualize_score_map``).

This path keeps working until release 0.3.
"""
from fasrgan_basicsr.cli.visualize_score_map import run
from fasrgan_basicsr.utils.cli import moved

if __name__ == '__main__':
    raise SystemExit(moved('fasrgan_basicsr/visualize_score_map.py', 'fasrgan-score-map', run))
