"""Root mean square error and mean squared error: the distortion axis of the paper's LPIPS/RMSE trade-off figure.

- ``calculate_rmse``: ``RMSE = sqrt(mean((img − img2)²))`` in grey levels of [0, 255], per image; BasicSR
  averages the per-image values over a dataset (this project's default: the mean of per-image RMSEs). On the Y
  channel of YCbCr with a ``crop_border`` crop when asked, like ``calculate_psnr`` (for one image
  ``PSNR = 20 log10(255 / RMSE)``). Lower is better.
- ``calculate_mse``: the per-image MSE, ``mean((img − img2)²)``. BasicSR's mean of it over a dataset is the
  dataset's mean MSE, and its square root is the RMSE of the authors' release (``evaluate_results.m``:
  ``sqrt(mean([scores.MSE]))``): the log holds that mean MSE under the metric's name and the results readers
  (``fasrgan-collect``, ``fasrgan-table1``, ``fasrgan-score``) report its root as ``rmse_dataset``
  (:data:`DATASET_ROOT_METRICS`). The release computes ``immse`` on the uint8 Y plane of MATLAB's
  ``rgb2ycbcr`` with no border shaved: ``test_y_channel: true, y_uint8: true, crop_border: 0``.

``y_uint8`` (with ``test_y_channel``): Y rounded to uint8 as MATLAB's ``rgb2ycbcr`` returns it for uint8 images
(``16 + (65.481 R + 128.553 G + 24.966 B) / 255``, rounded half away from zero), instead of BasicSR's unrounded
float Y.
"""
import numpy as np
from basicsr.metrics.metric_util import reorder_image, to_y_channel
from basicsr.utils.registry import METRIC_REGISTRY

#: metrics whose dataset value is reported as the square root of BasicSR's mean (the release's RMSE)
DATASET_ROOT_METRICS = ('calculate_mse',)


def y_uint8_of(img):
    """The uint8 Y plane MATLAB's ``rgb2ycbcr`` gives for a uint8 BGR image ``(H, W, 3)`` in [0, 255], as float64."""
    img = np.asarray(img, dtype=np.float64)
    b, g, r = img[..., 0], img[..., 1], img[..., 2]
    y = 16.0 + (65.481 * r + 128.553 * g + 24.966 * b) / 255.0
    return np.clip(np.floor(y + 0.5), 0, 255)[..., None]


def _prepared(img, img2, crop_border, input_order, test_y_channel, y_uint8):
    assert img.shape == img2.shape, f'Image shapes are different: {img.shape}, {img2.shape}.'
    if y_uint8 and not test_y_channel:
        raise ValueError('y_uint8: true needs test_y_channel: true (it is how the Y channel is computed).')
    img = reorder_image(img, input_order=input_order)
    img2 = reorder_image(img2, input_order=input_order)
    if crop_border != 0:
        img = img[crop_border:-crop_border, crop_border:-crop_border, ...]
        img2 = img2[crop_border:-crop_border, crop_border:-crop_border, ...]
    if y_uint8 and img.ndim == 3 and img.shape[2] == 3:
        img, img2 = y_uint8_of(img), y_uint8_of(img2)
    elif test_y_channel and not y_uint8:
        img, img2 = to_y_channel(img), to_y_channel(img2)
    return img.astype(np.float64), img2.astype(np.float64)


@METRIC_REGISTRY.register()
def calculate_mse(img, img2, crop_border=0, input_order='HWC', test_y_channel=False, y_uint8=False, **kwargs):
    """Mean squared error of two images, in squared grey levels (the dataset value to report is its root).

    Args:
        img (ndarray): Image with range [0, 255], ``(H, W, C)`` BGR (or ``(C, H, W)``, or ``(H, W)``).
        img2 (ndarray): The reference, same shape.
        crop_border (int): Pixels cropped from each edge before the comparison (the release: 0).
        input_order (str): 'HWC' or 'CHW'. Default: 'HWC'.
        test_y_channel (bool): Compare the Y channel of YCbCr. Default: False.
        y_uint8 (bool): With ``test_y_channel``, Y rounded to uint8 as MATLAB's ``rgb2ycbcr`` (the release).

    Returns:
        float: MSE.
    """
    img, img2 = _prepared(img, img2, crop_border, input_order, test_y_channel, y_uint8)
    return float(np.mean((img - img2)**2))


@METRIC_REGISTRY.register()
def calculate_rmse(img, img2, crop_border=0, input_order='HWC', test_y_channel=False, y_uint8=False, **kwargs):
    """RMSE of two images.

    Args:
        img (ndarray): Image with range [0, 255], ``(H, W, C)`` BGR (or ``(C, H, W)``, or ``(H, W)``).
        img2 (ndarray): The reference, same shape.
        crop_border (int): Pixels cropped from each edge before the comparison.
        input_order (str): 'HWC' or 'CHW'. Default: 'HWC'.
        test_y_channel (bool): Compare the Y channel of YCbCr (BasicSR's ``to_y_channel``). Default: False.
        y_uint8 (bool): With ``test_y_channel``, Y rounded to uint8 as MATLAB's ``rgb2ycbcr``. Default: False.

    Returns:
        float: RMSE in grey levels.
    """
    return float(np.sqrt(calculate_mse(img, img2, crop_border, input_order, test_y_channel, y_uint8)))
