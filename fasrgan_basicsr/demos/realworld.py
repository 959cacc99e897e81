"""The real-world demo: Real-ESRGAN's recipe with fine-grained attention on scikit-image's photographs, on CPU."""
import contextlib
import os
import random
from os import path as osp

import cv2
import numpy as np
from basicsr.data.degradations import add_gaussian_noise, add_jpg_compression, add_poisson_noise, random_mixed_kernels

from fasrgan_basicsr.utils import rng_state
from fasrgan_basicsr.visualization.drawing import FONT, LINE, MARGIN, TEXT_SCALE, enlarge
from fasrgan_basicsr.visualization.score_map_panel import COLUMN_GAP, display_factor

from .photos import load_photo

TRAIN_PHOTOS = ['astronaut', 'coffee', 'rocket', 'motorcycle']
TEST_PHOTO = 'chelsea'
SCALE = 4
#: the seed of the test pair's degradations (:func:`degrade`)
DEGRADATION_SEED = 0
ESRNET_OPT = 'demo/train_RealESRNet_demo.yml'
FA_OPT = 'demo/train_RealESRGAN_FA_demo.yml'
TEST_NAME = 'RealESRGAN_FA_demo_test'
#: the panel of visualize_score_map.py puts its tiles below two title lines and a caption line
PANEL_TILE_TOP = MARGIN + 3 * LINE


def data_root(root):
    return osp.join(root, 'datasets', 'demo', 'realworld')


def degradation_settings(opt):
    """Real-ESRGAN's first-order settings from a training option file: top-level keys and ``datasets:train``."""
    train = opt['datasets']['train']
    return {'kernel_list': train['kernel_list'], 'kernel_prob': train['kernel_prob'],
            'blur_kernel_size': train['blur_kernel_size'], 'blur_sigma': train['blur_sigma'],
            'betag_range': train['betag_range'], 'betap_range': train['betap_range'],
            **{key: opt[key] for key in ('gaussian_noise_prob', 'noise_range', 'poisson_scale_range',
                                         'gray_noise_prob', 'jpeg_range')}}


@contextlib.contextmanager
def seeded_global_rngs(seed):
    """Seed Python's and NumPy's global generators (BasicSR's degradations draw from them); every generator is
    restored after (``rng_state.isolated``)."""
    with rng_state.isolated():
        random.seed(seed)
        np.random.seed(seed)
        yield


@contextlib.contextmanager
def opencv_log_level(level):
    previous = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(level)
    try:
        yield
    finally:
        cv2.utils.logging.setLogLevel(previous)


def degrade(hr, settings, seed=DEGRADATION_SEED, scale=SCALE):
    """Real-ESRGAN's first-order degradation of one image, drawn with ``seed``: the same inputs give the same pixels.

    With BasicSR's functions (``basicsr.data.degradations``) and the training recipe's first-order ranges
    (``settings``: :func:`degradation_settings`), in Real-ESRGAN's order:

    1. blur: a 21×21 kernel from ``random_mixed_kernels`` (isotropic/anisotropic Gaussian, generalized Gaussian
       or plateau, σ in ``blur_sigma``), applied with ``cv2.filter2D`` (reflected borders);
    2. ×``scale`` downscale: ``cv2.resize`` with ``INTER_AREA`` to exactly ``(H / scale, W / scale)`` (the recipe
       draws the resize and its mode at random; here it is the fixed factor the model undoes);
    3. noise: Gaussian (σ in ``noise_range``, with probability ``gaussian_noise_prob``) or else Poisson (scale in
       ``poisson_scale_range``), one noise for all channels (grey) with probability ``gray_noise_prob``;
    4. JPEG compression with quality in ``jpeg_range`` (OpenCV's encoder), then rounded to 8 bits.

    Args:
        hr: BGR uint8 ``(H, W, 3)``, ``H`` and ``W`` multiples of ``scale``.
    Returns:
        ``(lq, drawn)``: the BGR uint8 ``(H / scale, W / scale, 3)`` input, and a line saying what was drawn.
    """
    h, w = hr.shape[:2]
    s = settings
    with seeded_global_rngs(seed):
        kernel = random_mixed_kernels(s['kernel_list'], s['kernel_prob'], s['blur_kernel_size'], s['blur_sigma'],
                                      s['blur_sigma'], [-np.pi, np.pi], s['betag_range'], s['betap_range'])
        img = cv2.filter2D(hr.astype(np.float32) / 255., -1, kernel, borderType=cv2.BORDER_REFLECT_101)
        img = cv2.resize(img, (w // scale, h // scale), interpolation=cv2.INTER_AREA)
        gray = bool(np.random.uniform() < s['gray_noise_prob'])
        if np.random.uniform() < s['gaussian_noise_prob']:
            sigma = np.random.uniform(*s['noise_range'])
            img = add_gaussian_noise(img, sigma=sigma, clip=True, gray_noise=gray)
            noise = f'Gaussian noise σ {sigma:.1f}'
        else:
            poisson = np.random.uniform(*s['poisson_scale_range'])
            img = add_poisson_noise(img, scale=poisson, clip=True, gray_noise=gray)
            noise = f'Poisson noise scale {poisson:.2f}'
        quality = int(round(np.random.uniform(*s['jpeg_range'])))  # OpenCV's encoder takes an integer
        with opencv_log_level(cv2.utils.logging.LOG_LEVEL_ERROR):  # OpenCV 5 warns that it encodes 8 bits, as meant
            img = add_jpg_compression(img, quality)
    lq = np.clip(np.round(img * 255.), 0, 255).astype(np.uint8)
    size = s['blur_kernel_size']
    return lq, (f'blur ({size}×{size} kernel drawn from {len(s["kernel_list"])} kinds), ×{scale} area downscale, '
                f'{noise}{" (grey)" if gray else ""}, JPEG quality {quality}')


def write_training_photos(folder):
    """The HR-only training folder: each photograph at full size, as PNG."""
    os.makedirs(folder, exist_ok=True)
    for name in TRAIN_PHOTOS:
        cv2.imwrite(osp.join(folder, f'{name}.png'), cv2.cvtColor(load_photo(name), cv2.COLOR_RGB2BGR))


def write_test_pair(folder, settings):
    """``folder/HR/chelsea.png`` (mod-cropped to ×4) and ``folder/LQ/chelsea.png`` (:func:`degrade`); returns the line
    saying what was drawn."""
    hr = cv2.cvtColor(load_photo(TEST_PHOTO), cv2.COLOR_RGB2BGR)
    h, w = hr.shape[:2]
    hr = np.ascontiguousarray(hr[:h - h % SCALE, :w - w % SCALE])
    lq, drawn = degrade(hr, settings)
    for kind, img in (('HR', hr), ('LQ', lq)):
        os.makedirs(osp.join(folder, kind), exist_ok=True)
        cv2.imwrite(osp.join(folder, kind, f'{TEST_PHOTO}.png'), img)
    return drawn


def side_by_side(lq, panel, scale=SCALE):
    """The degraded input enlarged with nearest neighbour to the panel's tile size, left of the panel.

    ``lq`` BGR uint8 ``(h, w, 3)``; ``panel``: ``visualize_score_map.py``'s panel of its ×``scale`` SR (tiles enlarged
    by ``display_factor`` of the SR's size, starting ``PANEL_TILE_TOP`` pixels down). Returns the BGR uint8 figure
    ``(panel height, scale·factor·w + COLUMN_GAP + panel width, 3)``: the input tile's top-left corner at
    ``(MARGIN, PANEL_TILE_TOP)``, the panel from column ``scale·factor·w + COLUMN_GAP`` (its own left margin makes
    the gap between the tiles ``COLUMN_GAP``, as between the panel's tiles).
    """
    h, w = lq.shape[:2]
    tile = enlarge(lq, scale * display_factor(scale * h, scale * w))
    left = tile.shape[1] + COLUMN_GAP
    figure = np.full((panel.shape[0], left + panel.shape[1], 3), 255, np.uint8)
    figure[PANEL_TILE_TOP:PANEL_TILE_TOP + tile.shape[0], MARGIN:MARGIN + tile.shape[1]] = tile
    cv2.putText(figure, 'degraded input (x4 nearest)', (MARGIN, PANEL_TILE_TOP - 6), FONT, TEXT_SCALE, (0, 0, 0), 1,
                cv2.LINE_AA)
    figure[:, left:] = panel
    return figure
