"""The commands, one module each: a thin ``main(argv)`` over the library layers below, and its console entry point.

Each module runs as ``python -m fasrgan_basicsr.cli.<module>`` and is installed as a console command
(``setup.py``'s ``console_scripts``, listed in ``fasrgan-options --help`` and the README). Commands never
import each other: what two of them share lives in a layer below (``docs/architecture.md``).
"""
