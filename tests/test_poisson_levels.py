"""Fix 9 (compat/poisson_levels.py): BasicSR's Poisson noise counts its 8-bit levels by a histogram, bit for bit."""
import random

import numpy as np
import pytest
import torch
from basicsr.data import degradations

import fasrgan_basicsr  # noqa: F401
from fasrgan_basicsr.compat.poisson_levels import TorchWithLevelUnique, level_unique


@pytest.mark.parametrize('values', ['all levels', 'a few levels', 'one level'])
def test_level_unique_is_torch_unique_on_8_bit_levels(values):
    g = torch.Generator().manual_seed(0)
    k = {'all levels': torch.randint(0, 256, (3, 40, 50), generator=g),
         'a few levels': torch.randint(0, 4, (3, 40, 50), generator=g) * 60,
         'one level': torch.full((1, 8, 8), 17)}[values]
    x = torch.clamp((k.float() / 255 * 255.0).round(), 0, 255) / 255.  # what BasicSR counts
    got, expected = level_unique(x), torch.unique(x)
    assert got.dtype == expected.dtype and torch.equal(got, expected)


def test_anything_else_is_left_to_torch_unique():
    for x in (torch.rand(2, 3, 8, 8), torch.tensor([0.0, 2.0]), torch.tensor([-1 / 255, 0.0]),
              torch.randint(0, 5, (10,)), torch.zeros(0)):
        assert level_unique(x) is None
    proxy = TorchWithLevelUnique()
    x = torch.tensor([3 / 255, 0.0, 3 / 255])
    values, counts = proxy.unique(x, return_counts=True)  # arguments: torch's own
    assert torch.equal(counts, torch.tensor([1, 2])) and proxy.poisson is torch.poisson


@pytest.mark.parametrize('gray_prob', [0.0, 1.0, 0.5])
def test_basicsrs_poisson_noise_is_bit_for_bit_the_same(gray_prob):
    assert isinstance(degradations.torch, TorchWithLevelUnique)  # installed by import fasrgan_basicsr
    img = torch.rand(3, 3, 48, 40, generator=torch.Generator().manual_seed(1))
    outputs = []
    for module_torch in (torch, TorchWithLevelUnique()):  # BasicSR's own torch.unique, then the histogram
        degradations.torch = module_torch
        random.seed(0)
        np.random.seed(0)
        torch.manual_seed(0)
        outputs.append(degradations.random_add_poisson_noise_pt(img, scale_range=(0.05, 3), gray_prob=gray_prob,
                                                                clip=True, rounds=False))
    degradations.torch = TorchWithLevelUnique()
    assert torch.equal(outputs[0], outputs[1]) and not torch.equal(outputs[0], img)
