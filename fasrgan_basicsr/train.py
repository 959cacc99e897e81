"""Train: ``python fasrgan_basicsr/train.py -opt options/train_FASRGAN_x4.yml [--auto_resume]``.

BasicSR's ``train_pipeline`` with this plugin's archs, losses, models and metrics registered
and the option file checked before any work starts. Experiments go to ``experiments/<name>``
under the repository root.
"""
import fasrgan_basicsr  # noqa: F401  (registers the plugin, applies the compatibility layer)
from fasrgan_basicsr.utils import entry

if __name__ == '__main__':
    entry.train()
