"""The option table as the documentation's "Options reference" page (``docs/options.md``), in Markdown.

Every key of every section with its value, default (a component's own default is read from its signature), the
classes that read it, its meaning and where the paper's or the release's value comes from. ``python
tools/generate_option_docs.py`` writes the page and the JSON Schema; a test fails when either is stale.
"""
import torch
from basicsr.models import lr_scheduler
from basicsr.utils.registry import ARCH_REGISTRY, DATASET_REGISTRY, LOSS_REGISTRY, METRIC_REGISTRY, MODEL_REGISTRY

from fasrgan_basicsr.utils import markdown

from .option_structure import SCHEDULERS, signature_default, train_options
from .option_table import SECTIONS, SIGNATURE, UNSET, options_of

TITLES = {'': 'Top level', 'datasets:*': '`datasets:<phase>`', 'datasets:*:io_backend': '`datasets:<phase>:io_backend`',
          'network_g': '`network_g`', 'network_d': '`network_d`', 'path': '`path`', 'train': '`train`',
          'train:*_opt': '`train:<loss>_opt` (losses)', 'train:optim_*': '`train:optim_g`, `train:optim_d`',
          'train:scheduler': '`train:scheduler`', 'val': '`val`', 'val:metrics:*': '`val:metrics:<name>`',
          'logger': '`logger`', 'logger:wandb': '`logger:wandb`', 'dist_params': '`dist_params`'}
#: the models whose train keys the reference lists by reader: BasicSR's SR family and this package's
MODEL_MODULES = ('basicsr.models.sr_model', 'basicsr.models.srgan_model', 'basicsr.models.esrgan_model',
                 'basicsr.models.realesrgan_model', 'basicsr.models.realesrnet_model', 'fasrgan_basicsr.')
HEADER = """# Options reference

<!-- Generated from fasrgan_basicsr/pipeline/option_table.py by `python tools/generate_option_docs.py`; do not
edit by hand: a test fails when this page and the table disagree. -->

Every key an option file of this package may hold, section by section. The option check (`fasrgan-train`,
`fasrgan-test`) refuses any other key of a known model, dataset or component with a did-you-mean, and a value of
another kind, before any work starts. The same table makes the JSON Schema shipped with the option files
(`options/options.schema.json`): start an option file with

```yaml
# yaml-language-server: $schema=options.schema.json
```

(`../options.schema.json` from a subfolder such as `options/test/`; `fasrgan-options where` prints the folder) and an
editor with the YAML language server (VS Code's YAML extension, for one) completes keys and marks typos.

*read by*: the classes (or metric functions) that read the key; none listed means whoever reads the section.
*default*: a component's own default comes from its signature; "required" must be given. Keys marked *set by the
pipeline* are derived from the command line or other keys and replaced if a file gives them.
"""


def _components():
    """``{class or function name: the component}`` of every registry, optimizer and scheduler."""
    found = {}
    for registry in (ARCH_REGISTRY, LOSS_REGISTRY, METRIC_REGISTRY, DATASET_REGISTRY, MODEL_REGISTRY):
        for _, component in registry:
            found.setdefault(getattr(component, '__name__', ''), component)
    for name in ('Adam', 'AdamW', 'Adamax', 'SGD', 'ASGD', 'RMSprop', 'Rprop'):
        if hasattr(torch.optim, name):
            found.setdefault(name, getattr(torch.optim, name))
    for scheduler in set(SCHEDULERS.values()) | {lr_scheduler.MultiStepRestartLR}:
        found.setdefault(scheduler.__name__, scheduler)
    return found


def _value(value):
    if value is None:
        return '`~`'
    if isinstance(value, bool):
        return f'`{str(value).lower()}`'
    return f'`{value!r}`' if isinstance(value, str) else f'`{value}`'


def default_text(option, components):
    if option.derived:
        return 'set by the pipeline'
    if option.required is True:
        return 'required'
    if option.required == 'train':
        return 'required (training)'
    if option.default is UNSET:
        return ''
    if option.default is not SIGNATURE:
        return _value(option.default)
    defaults = {}
    for reader in option.readers:
        component = components.get(reader)
        if component is None:
            continue
        default = signature_default(component, option.key)
        if default is not SIGNATURE:
            defaults[reader] = default
    values = {repr(v) for v in defaults.values()}
    if len(values) == 1:
        return _value(next(iter(defaults.values())))
    return ' · '.join(f'{reader} {_value(value)}' for reader, value in defaults.items())


def train_readers():
    """``{train key: [model names]}`` over the SR family's and this package's registered models."""
    readers = {}
    for name, model in MODEL_REGISTRY:
        if not model.__module__.startswith(MODEL_MODULES):
            continue
        for key in train_options(model) or ():
            readers.setdefault(key, []).append(name)
    return readers


def readers_text(option, train):
    if option.section == 'train':
        return ', '.join(sorted(train.get(option.key, [])))
    return ', '.join(option.readers)


def reference_text():
    """The Markdown of ``docs/options.md``."""
    components, train = _components(), train_readers()
    lines = [HEADER]
    for section in SECTIONS:
        lines += [f'## {TITLES[section.path]}', '', section.meaning, '',
                  '| key | value | default | read by | meaning | source |', '|---|---|---|---|---|---|']
        for option in options_of(section.path):
            value = 'any' if option.derived else option.describe()
            lines.append(markdown.row((
                f'`{option.key}`', value, default_text(option, components), readers_text(option, train),
                option.meaning, option.source)))
        lines.append('')
    return '\n'.join(lines).rstrip() + '\n'


def keys_documented():
    """Every ``section:key`` the page documents (its tables' first cells)."""
    return {option.path for section in SECTIONS for option in options_of(section.path)}

