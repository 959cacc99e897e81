"""Capture and restore of every random generator a training run draws from (utils/rng_state.py)."""
import io
import random

import numpy as np
import pytest
import torch

from fasrgan_basicsr.utils import rng_state


def draws():
    """The next values of Python's, NumPy's (uniform and the cached Gaussian) and torch's generators."""
    return random.random(), float(np.random.rand()), float(np.random.randn()), torch.rand(3).tolist()


def test_restore_replays_every_generator_from_the_captured_point():
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    np.random.randn()  # one Gaussian of a pair drawn: NumPy caches the other (has_gauss = 1)
    state = rng_state.capture()
    assert state['numpy'][3] == 1
    expected = draws()
    draws()
    rng_state.restore(state)
    assert draws() == expected


def test_the_captured_state_is_plain_data_that_a_weights_only_load_accepts():
    random.seed(4)
    np.random.seed(5)
    state = rng_state.capture()
    name, keys, pos, has_gauss, cached = state['numpy']
    assert (name, type(keys), type(pos), type(has_gauss), type(cached)) == ('MT19937', list, int, int, float)
    assert len(keys) == 624 and all(type(k) is int for k in keys)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=True)
    expected = draws()
    rng_state.restore(loaded)  # a Python state loads back as lists: restore turns them into tuples again
    assert draws() == expected


def test_isolated_block_leaves_the_sequence_as_if_it_never_ran():
    torch.manual_seed(0)
    random.seed(0)
    np.random.seed(0)
    expected = draws()
    torch.manual_seed(0)
    random.seed(0)
    np.random.seed(0)
    with rng_state.isolated():
        draws()
        np.random.randn()
    assert draws() == expected


def test_isolated_block_restores_when_it_raises():
    torch.manual_seed(7)
    expected = torch.rand(2).tolist()
    torch.manual_seed(7)
    with pytest.raises(KeyError):
        with rng_state.isolated():
            torch.rand(5)
            raise KeyError('validation failed')
    assert torch.rand(2).tolist() == expected


def test_cuda_generators_are_captured_and_restored_when_cuda_is_in_use(monkeypatch):
    restored = []
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'is_initialized', lambda: True)
    monkeypatch.setattr(torch.cuda, 'get_rng_state_all', lambda: ['gpu0 state'])
    monkeypatch.setattr(torch.cuda, 'set_rng_state_all', restored.append)
    state = rng_state.capture()
    assert state['cuda'] == ['gpu0 state']
    rng_state.restore(state)
    assert restored == [['gpu0 state']]


@pytest.mark.parametrize('available, initialized', [(True, False), (False, True), (False, False)])
def test_cuda_generators_are_left_alone_unless_cuda_is_available_and_initialized(monkeypatch, available,
                                                                                 initialized):
    # touching CUDA's generators would initialise CUDA (in a CPU run, or before the DataLoader forks)
    def forbidden(*args):
        raise AssertionError('CUDA generators touched')

    monkeypatch.setattr(torch.cuda, 'is_available', lambda: available)
    monkeypatch.setattr(torch.cuda, 'is_initialized', lambda: initialized)
    monkeypatch.setattr(torch.cuda, 'get_rng_state_all', forbidden)
    monkeypatch.setattr(torch.cuda, 'set_rng_state_all', forbidden)
    state = rng_state.capture()
    assert 'cuda' not in state
    rng_state.restore(state)
    if not available:  # a state saved on a GPU machine, resumed on a CPU one
        rng_state.restore(dict(state, cuda=['gpu0 state']))
