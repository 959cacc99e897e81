"""Perceptual index (PI, the PIRM 2018 challenge) and Ma's score as BasicSR metrics.

    PI = ((10 − Ma) + NIQE) / 2                 (lower is better; ``better: lower``)

- ``NIQE`` is BasicSR's own ``calculate_niqe``, used as is (Y channel, MATLAB-matched).
- ``Ma`` (Ma et al., CVIU 2017, "NRQM") comes from the optional dependency **pyiqa**
  (``pip install -e .[pi]``), its ``nrqm`` metric, on the Y channel of YCbCr like pyiqa's own PI and
  the PIRM challenge's code. Its random forests run on the CPU.

Both scores see the same image: cropped by ``crop_border`` (4 for ×4 in the PIRM challenge and the
paper's tables), BGR uint8 as BasicSR's metrics receive it (pyiqa gets it as RGB in [0, 1]).

pyiqa's NRQM reads its model ``NRQM_model.mat`` from ``<torch hub dir>/pyiqa/`` (``$TORCH_HOME/hub/pyiqa``,
downloaded there on first use), or from ``ma_model_path`` in the metric's options. When pyiqa is not
installed or the model file cannot be loaded, one error saying which (and what to install or where to
put the file) is logged, ``calculate_pi`` / ``calculate_ma`` return NaN, and the option file's other
metrics are still computed (see ``fasrgan_basicsr/metrics/unavailable.py``).
"""
import numpy as np
import torch
from basicsr.metrics import calculate_niqe
from basicsr.metrics.metric_util import reorder_image
from basicsr.utils.registry import METRIC_REGISTRY

from .unavailable import unavailable

NRQM_FILE = 'NRQM_model.mat'
_NRQM = {}  # ma_model_path -> pyiqa metric
_FAILURES = {}  # ma_model_path -> (key, message) of why it could not be built


def clear_cache():
    """Forget the built pyiqa metric and the failures (tests)."""
    _NRQM.clear()
    _FAILURES.clear()


def _nrqm(ma_model_path=None):
    """pyiqa's NRQM metric (cached), or a ``(key, message)`` saying why it is unavailable."""
    if ma_model_path in _NRQM:
        return _NRQM[ma_model_path]
    if ma_model_path in _FAILURES:
        return _FAILURES[ma_model_path]
    try:
        import pyiqa
    except ImportError as err:
        _FAILURES[ma_model_path] = ('pyiqa-missing', (
            f'calculate_pi / calculate_ma: Ma\'s score needs the optional package pyiqa ({err}); install it with '
            f'`pip install -e .[pi]` (or `pip install pyiqa`). PI and Ma are reported as nan; the other metrics '
            f'are still computed.'))
        return _FAILURES[ma_model_path]
    options = dict(crop_border=0, color_space='ycbcr', test_y_channel=True)
    if ma_model_path is not None:
        options['pretrained_model_path'] = ma_model_path
    try:
        _NRQM[ma_model_path] = pyiqa.create_metric('nrqm', as_loss=False, device=torch.device('cpu'), **options)
    except Exception as err:  # model file missing and no network, or not a NRQM model
        where = ma_model_path or f'{torch.hub.get_dir()}/pyiqa/{NRQM_FILE}'
        _FAILURES[ma_model_path] = (('nrqm-model', ma_model_path), (
            f'calculate_pi / calculate_ma: pyiqa cannot load Ma\'s model ({type(err).__name__}: {err}). Put '
            f'{NRQM_FILE} (from pyiqa\'s weight releases) at {where}, or name its path with ma_model_path in the '
            f'metric options. PI and Ma are reported as nan; the other metrics are still computed.'))
        return _FAILURES[ma_model_path]
    return _NRQM[ma_model_path]


def _crop(img, crop_border, input_order):
    img = reorder_image(np.asarray(img), input_order=input_order)
    if crop_border != 0:
        img = img[crop_border:-crop_border, crop_border:-crop_border, ...]
    return img


@METRIC_REGISTRY.register()
def calculate_ma(img, crop_border=0, input_order='HWC', ma_model_path=None, **kwargs):
    """Ma et al.'s no-reference score (higher is better), through pyiqa's NRQM; NaN when unavailable.

    Args:
        img (ndarray): Image with range [0, 255], ``(H, W, 3)`` BGR (or ``(C, H, W)``, or grey).
        crop_border (int): Pixels cropped from each edge first.
        input_order (str): 'HWC' or 'CHW'.
        ma_model_path (str | None): ``NRQM_model.mat``; default pyiqa's cache.
    """
    metric = _nrqm(ma_model_path)
    if isinstance(metric, tuple):
        return unavailable(*metric)
    img = _crop(img, crop_border, input_order).astype(np.float32) / 255.
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    rgb = torch.from_numpy(np.ascontiguousarray(img[..., ::-1])).permute(2, 0, 1).unsqueeze(0)
    with torch.no_grad():
        return float(metric(rgb.clamp(0, 1)))


@METRIC_REGISTRY.register()
def calculate_pi(img, crop_border=0, input_order='HWC', ma_model_path=None, **kwargs):
    """Perceptual index ``((10 − Ma) + NIQE) / 2`` of one image (lower is better); NaN when Ma is unavailable.

    Args:
        img (ndarray): Image with range [0, 255], ``(H, W, 3)`` BGR (or ``(C, H, W)``, or grey).
        crop_border (int): Pixels cropped from each edge before both scores (4 for ×4, as PIRM).
        input_order (str): 'HWC' or 'CHW'.
        ma_model_path (str | None): ``NRQM_model.mat``; default pyiqa's cache.
    """
    ma = calculate_ma(img, crop_border, input_order, ma_model_path)
    if np.isnan(ma):
        return ma
    niqe = calculate_niqe(_crop(img, crop_border, input_order), 0, input_order='HWC', convert_to='y')
    return ((10 - ma) + float(niqe)) / 2
