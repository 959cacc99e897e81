"""Fix 1: ``import basicsr`` on torchvision >= 0.17, which removed ``torchvision.transforms.functional_tensor``.

``basicsr.data.degradations`` imports ``rgb_to_grayscale`` from it; an alias module re-exporting the public
``torchvision.transforms.functional`` (where the function lives now) is registered before BasicSR is imported.
"""
import sys
import types

NAME = 'torchvision.transforms.functional_tensor'


def alias_functional_tensor():
    if NAME in sys.modules:
        return
    try:
        import torchvision.transforms.functional_tensor  # noqa: F401  (old torchvision: nothing to do)
        return
    except ImportError:
        pass
    import torchvision.transforms.functional as functional
    alias = types.ModuleType(NAME)
    alias.__doc__ = 'Alias of torchvision.transforms.functional installed by fasrgan_basicsr.compat.'
    alias.rgb_to_grayscale = functional.rgb_to_grayscale
    sys.modules[NAME] = alias
