"""Tiny paired datasets made from photographs that ship inside scikit-image.

No dataset can be downloaded on a fresh machine, but scikit-image installs a handful of
real photographs. :func:`write_paired_folders` turns them into BasicSR's paired-folder layout
(``HR/<name>.png`` + ``LR_bicubic/X<scale>/<name>x<scale>.png``, LR made with BasicSR's
MATLAB-compatible ``imresize``) for the demo and the end-to-end tests.
"""
import os
from os import path as osp

import cv2
from skimage import data as skdata

from fasrgan_basicsr.utils.matlab_bicubic import matlab_bicubic_uint8

PHOTOS = {
    'astronaut': skdata.astronaut,
    'coffee': skdata.coffee,
    'chelsea': skdata.chelsea,
    'rocket': skdata.rocket,
    'motorcycle': lambda: skdata.stereo_motorcycle()[0],
}


def load_photo(name, downscale=1):
    """An RGB uint8 photograph from scikit-image, optionally shrunk by an integer factor."""
    img = PHOTOS[name]()
    if downscale > 1:
        h, w = img.shape[:2]
        img = cv2.resize(img, (w // downscale, h // downscale), interpolation=cv2.INTER_AREA)
    return img


def write_paired_folders(root, names, scale=4, downscale=1, crop=None):
    """Write ``root/HR`` and ``root/LR_bicubic/X<scale>`` for the given photographs.

    Each HR image is (optionally) shrunk by ``downscale``, centre-cropped to ``crop`` (an
    ``(h, w)`` pair) when given, and mod-cropped to a multiple of ``scale``; its LR is MATLAB
    bicubic ``1/scale``. Returns ``(hr_dir, lr_dir)``.
    """
    hr_dir, lr_dir = osp.join(root, 'HR'), osp.join(root, 'LR_bicubic', f'X{scale}')
    os.makedirs(hr_dir, exist_ok=True)
    os.makedirs(lr_dir, exist_ok=True)
    for name in names:
        img = load_photo(name, downscale)
        if crop is not None:
            h, w = img.shape[:2]
            top, left = max(0, (h - crop[0]) // 2), max(0, (w - crop[1]) // 2)
            img = img[top:top + crop[0], left:left + crop[1]]
        h, w = img.shape[:2]
        hr = img[:h - h % scale, :w - w % scale]
        lr = matlab_bicubic_uint8(hr, 1 / scale)
        cv2.imwrite(osp.join(hr_dir, f'{name}.png'), cv2.cvtColor(hr, cv2.COLOR_RGB2BGR))
        cv2.imwrite(osp.join(lr_dir, f'{name}x{scale}.png'), cv2.cvtColor(lr, cv2.COLOR_RGB2BGR))
    return hr_dir, lr_dir
