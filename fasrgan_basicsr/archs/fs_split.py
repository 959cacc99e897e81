"""Parameter names of the feature-sharing generators: split in memory, BasicSR's plain names on disk.

``FsRRDBNet`` / ``FsMSRResNet`` with an extractor of E blocks and a deep part of G blocks compute
exactly ``RRDBNet`` / ``MSRResNet`` with E + G blocks; only the module tree differs:

================================  ==================================
in memory (``named_parameters``)  ``state_dict`` (checkpoints)
================================  ==================================
``extractor.conv_first.*``        ``conv_first.*``
``extractor.body.i.*``            ``body.i.*``
``body.j.*``                      ``body.(E + j).*``
anything else                     unchanged
================================  ==================================

In memory the extractor stays its own submodule (the feature-sharing models hand it to the
discriminator; BasicSR's optimizers and EMA walk ``named_parameters``). ``state_dict`` gives the
plain names (:func:`save_plain_names`), so every checkpoint a training run writes is an ordinary
``RRDBNet`` / ``MSRResNet`` checkpoint for BasicSR, spandrel, chaiNNer and ComfyUI.
``load_state_dict`` (:func:`load_any_names`) takes the plain names (hence any E/G split of the
same total) and the split names that checkpoints written before this layout hold.
"""
import re

EXTRACTOR = 'extractor.'


def num_shared_blocks(state):
    """E of a state dict with split names: the number of ``extractor.body`` blocks (0 if none)."""
    indices = {int(m.group(1)) for k in state if (m := re.match(r'extractor\.body\.(\d+)\.', k))}
    return max(indices) + 1 if indices else 0


def to_plain_state_dict(state):
    """Split names → plain names (same tensors, same order), E read from the keys; plain names stay as they are."""
    shared = num_shared_blocks(state)
    plain = {}
    for key, value in state.items():
        if key.startswith(EXTRACTOR):
            key = key[len(EXTRACTOR):]
        elif key.startswith('body.'):
            index, rest = key[len('body.'):].split('.', 1)
            key = f'body.{int(index) + shared}.{rest}'
        plain[key] = value
    return plain


def to_split_state_dict(plain, num_shared_block):
    """Plain names → split names with ``num_shared_block`` extractor blocks (same tensors)."""
    split = {}
    for key, value in plain.items():
        if key.startswith('conv_first.'):
            key = EXTRACTOR + key
        elif key.startswith('body.'):
            index, rest = key[len('body.'):].split('.', 1)
            index = int(index)
            key = f'{EXTRACTOR}body.{index}.{rest}' if index < num_shared_block else \
                f'body.{index - num_shared_block}.{rest}'
        split[key] = value
    return split


def _take(state_dict, prefix):
    """Remove and return this module's entries (prefix stripped), in order."""
    keys = [k for k in state_dict if k.startswith(prefix)]
    return {k[len(prefix):]: state_dict.pop(k) for k in keys}


def save_plain_names(module, state_dict, prefix, local_metadata):
    """``state_dict`` post-hook of the Fs generators: their entries under the plain arch's names.

    The module's entries are the last ones of ``state_dict`` when the hook runs, so re-inserting them
    keeps the plain arch's order; a wrapper's prefix (``module.`` of DDP) is kept.
    """
    for key, value in to_plain_state_dict(_take(state_dict, prefix)).items():
        state_dict[prefix + key] = value


def load_any_names(module, state_dict, prefix, *args):
    """``load_state_dict`` pre-hook of the Fs generators: plain names (any split) or split names → the module's."""
    local = {k[len(prefix):] for k in state_dict if k.startswith(prefix)}
    if not any(k.startswith(('conv_first.', EXTRACTOR)) for k in local):
        return  # nothing of either layout: load_state_dict reports what is missing
    plain = to_plain_state_dict(_take(state_dict, prefix))
    for key, value in to_split_state_dict(plain, module.num_shared_block).items():
        state_dict[prefix + key] = value
