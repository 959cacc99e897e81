"""Capture and restore every random number generator a training run draws from."""
import random
from contextlib import contextmanager

import numpy as np
import torch


def capture():
    """The states of Python's, NumPy's and torch's (CPU and CUDA) generators.

    Only plain types and tensors, so the dict saves into a training state that loads with
    ``torch.load(weights_only=True)``.
    """
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        'python': random.getstate(),
        'numpy': (name, keys.tolist(), int(pos), int(has_gauss), float(cached)),
        'torch': torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def restore(state):
    """Put back what :func:`capture` returned."""
    version, internal, gauss = state['python']
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = state['numpy']
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


@contextmanager
def isolated():
    """Run a block (e.g. validation) without disturbing the generators' sequence for what follows."""
    saved = capture()
    try:
        yield
    finally:
        restore(saved)
