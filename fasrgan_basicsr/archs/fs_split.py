"""Key mapping between feature-sharing generators and their plain BasicSR equivalents.

``FsRRDBNet`` / ``FsMSRResNet`` with an extractor of E blocks and a deep part of G blocks compute
exactly ``RRDBNet`` / ``MSRResNet`` with E + G blocks; only parameter names differ:
``extractor.conv_first`` ↔ ``conv_first``, ``extractor.body.i`` ↔ ``body.i`` and
``body.j`` ↔ ``body.(E + j)``. This module converts in both directions and lets an Fs generator
load plain weights, or weights of another E/G split of the same total, transparently.
"""
import re

EXTRACTOR = 'extractor.'


def num_shared_blocks(state):
    """E: the number of blocks in the extractor of an Fs generator state dict (0 if none)."""
    indices = {int(m.group(1)) for k in state if (m := re.match(r'extractor\.body\.(\d+)\.', k))}
    return max(indices) + 1 if indices else 0


def is_split(state):
    return any(k.startswith(EXTRACTOR) for k in state)


def to_plain_state_dict(state):
    """Fs generator state dict → the plain ``RRDBNet``/``MSRResNet`` state dict (same tensors)."""
    if not is_split(state):
        raise ValueError('not a feature-sharing generator: no "extractor." parameters.')
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
    """Plain ``RRDBNet``/``MSRResNet`` state dict → an Fs generator's with ``num_shared_block`` shared blocks."""
    split = {}
    for key, value in plain.items():
        if key.startswith('conv_first.'):
            key = EXTRACTOR + key
        elif key.startswith('body.'):
            index, rest = key[len('body.'):].split('.', 1)
            index = int(index)
            if index < num_shared_block:
                key = f'{EXTRACTOR}body.{index}.{rest}'
            else:
                key = f'body.{index - num_shared_block}.{rest}'
        split[key] = value
    return split


def resplit_on_load(module, state_dict, prefix, *args):
    """``load_state_dict`` pre-hook of the Fs generators: accept plain weights or another split."""
    keys = [k for k in state_dict if k.startswith(prefix)]
    local = {k[len(prefix):] for k in keys}
    if local == set(module.state_dict()) or not any(k.startswith(('conv_first.', EXTRACTOR)) for k in local):
        return
    entries = {k[len(prefix):]: state_dict.pop(k) for k in keys}
    plain = to_plain_state_dict(entries) if is_split(entries) else entries
    for key, value in to_split_state_dict(plain, module.num_shared_block).items():
        state_dict[prefix + key] = value
