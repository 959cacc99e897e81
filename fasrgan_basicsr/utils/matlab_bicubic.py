"""MATLAB's bicubic resize of an 8-bit image, as the paper's LR images are made (BasicSR's ``imresize``)."""
import numpy as np


def matlab_bicubic_uint8(img, factor):
    """``img`` (HWC uint8, any channel order) resized by ``factor`` (``1/4`` down, ``4`` up) with MATLAB's bicubic
    kernel, computed in float64 and rounded back to uint8."""
    from basicsr.utils.matlab_functions import imresize  # basicsr is heavy: imported when first needed

    out = imresize(img.astype(np.float64) / 255., factor)
    return np.clip(np.round(out * 255.), 0, 255).astype(np.uint8)
