"""Moved: ``fasrgan-demo-realworld`` (``python -m fasrgan_basicsr.cli.demo_realworld``).

This path keeps working until release 0.3.
"""
from fasrgan_basicsr.cli.demo_realworld import run
from fasrgan_basicsr.utils.cli import moved

if __name__ == '__main__':
    raise SystemExit(moved('fasrgan_basicsr/demo_realworld.py', 'fasrgan-demo-realworld', run))
