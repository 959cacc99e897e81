"""Fix 5: BasicSR's own option loader reads plain data only.

``ordered_yaml`` (the YAML loader of BasicSR's ``parse_options``) builds Python objects from tags such as
``!!python/object/apply:os.system``; it now returns this package's bounded, safe option loader
(:class:`fasrgan_basicsr.utils.option_file.OptionLoader`), so even BasicSR's own ``basicsr/train.py`` run with
the plugin imported reads option files as plain data.
"""
import yaml

from fasrgan_basicsr.utils.option_file import OptionLoader


def safe_ordered_yaml():
    """Drop-in for ``basicsr.utils.options.ordered_yaml``: its loader builds plain data only (no Python objects)."""
    return OptionLoader, getattr(yaml, 'CDumper', yaml.Dumper)
