"""Root mean square error, ``calculate_rmse``: the distortion axis of the paper's LPIPS/RMSE trade-off figure.

``RMSE = sqrt(mean((img − img2)²))`` in grey levels of [0, 255], per image (BasicSR averages the per-image
values over a dataset), on the Y channel of YCbCr with a ``crop_border`` crop when asked, like
``calculate_psnr`` (for one image ``PSNR = 20 log10(255 / RMSE)``). Lower is better.
"""
import numpy as np
from basicsr.metrics.metric_util import reorder_image, to_y_channel
from basicsr.utils.registry import METRIC_REGISTRY


@METRIC_REGISTRY.register()
def calculate_rmse(img, img2, crop_border=0, input_order='HWC', test_y_channel=False, **kwargs):
    """RMSE of two images.

    Args:
        img (ndarray): Image with range [0, 255], ``(H, W, C)`` BGR (or ``(C, H, W)``, or ``(H, W)``).
        img2 (ndarray): The reference, same shape.
        crop_border (int): Pixels cropped from each edge before the comparison.
        input_order (str): 'HWC' or 'CHW'. Default: 'HWC'.
        test_y_channel (bool): Compare the Y channel of YCbCr (BasicSR's ``to_y_channel``). Default: False.

    Returns:
        float: RMSE in grey levels.
    """
    assert img.shape == img2.shape, f'Image shapes are different: {img.shape}, {img2.shape}.'
    img = reorder_image(img, input_order=input_order)
    img2 = reorder_image(img2, input_order=input_order)
    if crop_border != 0:
        img = img[crop_border:-crop_border, crop_border:-crop_border, ...]
        img2 = img2[crop_border:-crop_border, crop_border:-crop_border, ...]
    if test_y_channel:
        img, img2 = to_y_channel(img), to_y_channel(img2)
    diff = img.astype(np.float64) - img2.astype(np.float64)
    return float(np.sqrt(np.mean(diff**2)))
