"""Test: ``python fasrgan_basicsr/test.py -opt options/test/<file>.yml``.

BasicSR's ``test_pipeline`` with this plugin registered and the option file checked first.
Results go to ``results/<name>`` under the repository root.
"""
import fasrgan_basicsr  # noqa: F401  (registers the plugin, applies the compatibility layer)
from fasrgan_basicsr.utils import entry

if __name__ == '__main__':
    entry.test()
