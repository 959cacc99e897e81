"""Test: ``python fasrgan_basicsr/test.py -opt options/test/<file>.yml`` (BasicSR's way).

The command ``fasrgan-test`` (:mod:`fasrgan_basicsr.cli.test`) under BasicSR's script path.
"""
from fasrgan_basicsr.cli.test import main

if __name__ == '__main__':
    main()
