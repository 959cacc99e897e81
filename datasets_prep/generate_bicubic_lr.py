"""In a clone, ``python datasets_prep/generate_bicubic_lr.py`` is the command ``fasrgan-generate-bicubic-lr``."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # a clone without an install can run it too

from fasrgan_basicsr.cli.generate_bicubic_lr import run  # noqa: E402

if __name__ == '__main__':
    sys.exit(run())
