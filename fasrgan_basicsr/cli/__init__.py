"""The commands, one module each: a thin ``main(argv)`` over the library layers below, and its console entry point.

Each module runs as ``python -m fasrgan_basicsr.cli.<module>`` and is installed as a console command
(``setup.py``'s ``console_scripts``, listed in the README's table of commands). Commands never
import each other: what two of them share lives in a layer below (``docs/architecture.md``).
"""
