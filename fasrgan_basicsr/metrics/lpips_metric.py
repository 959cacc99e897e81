"""LPIPS (Zhang et al., CVPR 2018) as a BasicSR metric, ``calculate_lpips``.

BasicSR's metric functions receive numpy images, which is why LPIPS never entered BasicSR (its
issue #281); this one converts them itself. For images ``x`` (reference) and ``x0``::

    d(x, x0) = Σ_l 1/(H_l W_l) Σ_{h,w} ‖ w_l ⊙ (ŷ_l^{hw} − ŷ0_l^{hw}) ‖²₂

with ``ŷ_l`` the channel-normalised activations of layer ``l`` of the backbone and ``w_l`` the
learned linear weights (paper Eq. 13). Backbone and linear layers are the ``lpips`` package's:
``lpips.LPIPS(net, version)``. The paper used AlexNet, version 0.0 (the default here); version 0.1
is the package's current calibration. Lower is better (``better: lower`` in option files).

Weights: the lpips package ships its linear layers (``lpips/weights/v0.0`` and ``v0.1``); the
AlexNet backbone comes from torchvision's loader, which reads
``$TORCH_HOME/hub/checkpoints/alexnet-owt-7be5be79.pth`` and downloads it only when absent.

Device: metric functions are not told the model's device, so the network runs on ``device`` when an
option file gives one, else on CUDA when available, else on the CPU — the device BasicSR's models
choose for ``num_gpu != 0``. The network is built once per (net, version, device) and cached.

When the network cannot be built (weights missing and no network), an error naming the file and
where it goes is logged once, the metric is NaN, and the option file's other metrics are still
computed (see ``fasrgan_basicsr/metrics/unavailable.py``).
"""
import warnings

import numpy as np
import torch
from basicsr.metrics.metric_util import reorder_image
from basicsr.utils.registry import METRIC_REGISTRY

from fasrgan_basicsr.utils.checkpoint import weights_only_loading

from .unavailable import unavailable

ALEXNET_FILE = 'alexnet-owt-7be5be79.pth'
_NETWORKS = {}  # (net, version, device) -> lpips.LPIPS
_FAILURES = {}  # (net, version, device) -> the exception building it raised (not retried for every image)


def default_device(device=None):
    """``device`` if given, else CUDA when available, else CPU."""
    if device is not None:
        return torch.device(device)
    return torch.device('cuda' if torch.cuda.is_available() else 'cpu')


def get_lpips_network(net='alex', version='0.0', device=None):
    """The cached ``lpips.LPIPS(net, version)`` in eval mode on ``device``.

    Raises what building it raised (the first time, and the same exception again afterwards).
    """
    device = default_device(device)
    key = (net, str(version), str(device))
    if key in _FAILURES:
        raise _FAILURES[key]
    if key not in _NETWORKS:
        import lpips
        try:
            with warnings.catch_warnings():  # lpips calls torchvision with the deprecated ``pretrained=True``
                warnings.simplefilter('ignore')
                with weights_only_loading():  # AlexNet comes through torchvision's loader (weights_only=False)
                    model = lpips.LPIPS(net=net, version=str(version), verbose=False)
        except Exception as err:
            _FAILURES[key] = err
            raise
        _NETWORKS[key] = model.to(device).eval().requires_grad_(False)
    return _NETWORKS[key]


def clear_cache():
    """Forget the built networks and the failures (tests; a new TORCH_HOME)."""
    _NETWORKS.clear()
    _FAILURES.clear()


def to_lpips_tensor(img, crop_border=0, input_order='HWC'):
    """An image as BasicSR's metrics receive it → LPIPS input.

    Args:
        img (ndarray): ``(H, W, C)`` (or ``(C, H, W)`` with ``input_order='CHW'``, or ``(H, W)``),
            BGR, range [0, 255] (uint8, or float as BasicSR's metrics take it).

    Returns:
        Tensor: ``(1, 3, H − 2·crop_border, W − 2·crop_border)``, RGB, range [−1, 1], float32
        (a grey image is repeated over the three channels).
    """
    img = reorder_image(np.asarray(img), input_order=input_order)
    if crop_border != 0:
        img = img[crop_border:-crop_border, crop_border:-crop_border, ...]
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    elif img.shape[2] != 3:
        raise ValueError(f'calculate_lpips: expected a grey or BGR image, got {img.shape[2]} channels.')
    rgb = np.ascontiguousarray(img[..., ::-1], dtype=np.float32)
    return torch.from_numpy(rgb).permute(2, 0, 1).unsqueeze(0) / 127.5 - 1


@METRIC_REGISTRY.register()
def calculate_lpips(img, img2, crop_border=0, input_order='HWC', net='alex', version='0.0', device=None, **kwargs):
    """LPIPS distance between two images (lower is more similar).

    Args:
        img (ndarray): Images with range [0, 255], BGR (as ``tensor2img`` gives them).
        img2 (ndarray): The reference, same shape.
        crop_border (int): Pixels cropped from each edge before the distance. Default 0: the whole
            image, as the authors' LPIPS script.
        input_order (str): 'HWC' or 'CHW'. Default: 'HWC'.
        net (str): lpips backbone: 'alex' (the paper), 'vgg' or 'squeeze'.
        version (str): '0.0' (the paper) or '0.1'.
        device (str | None): Where the network runs; default CUDA when available, else CPU.

    Returns:
        float: LPIPS, or NaN when the network cannot be built (an error is logged once).
    """
    assert img.shape == img2.shape, f'Image shapes are different: {img.shape}, {img2.shape}.'
    try:
        model = get_lpips_network(net, version, device)
    except Exception as err:  # weights missing and no network, or a corrupt cached file
        return unavailable(('lpips', net, str(version)), (
            f'calculate_lpips: cannot build lpips.LPIPS(net={net!r}, version={str(version)!r}) '
            f'({type(err).__name__}: {err}). The backbone weights are read by torchvision from '
            f'{torch.hub.get_dir()}/checkpoints/ ({ALEXNET_FILE} for net=alex; set TORCH_HOME to move it), '
            f'the linear layers from the lpips package. LPIPS is reported as nan; the other metrics are '
            f'still computed.'))
    device = next(model.parameters()).device
    x = to_lpips_tensor(img, crop_border, input_order).to(device)
    x0 = to_lpips_tensor(img2, crop_border, input_order).to(device)
    with torch.no_grad():
        return model(x0, x).item()
