"""Writing a generator for use outside this project: safetensors, ONNX (checked in onnxruntime), plain BasicSR ``.pth``.

What each format holds and who reads it: ``fasrgan-export --help`` (:mod:`fasrgan_basicsr.cli.export`).
"""
import copy
import json

import torch

from fasrgan_basicsr.utils.errors import UserError
from fasrgan_basicsr.utils.files import atomic_write_bytes

FORMATS = ('safetensors', 'onnx', 'pth')
PLAIN_ARCHS = ('RRDBNet', 'MSRResNet')  # BasicSR's own archs: what other tools load
DEFAULT_FORMATS = ('safetensors', 'onnx')
#: the lowest opset torch's ONNX exporter converts these generators to (it builds opset 18 and converts down)
MIN_OPSET = 17
DEFAULT_OPSET = 18
#: ``(N, C, H, W)`` of the example input the graph is traced with (N, H, W stay dynamic)
EXAMPLE_SIZE = (2, 32, 32)


def weights(net, dtype):
    """``net``'s state dict (BasicSR's plain key names) as contiguous ``dtype`` tensors."""
    return {k: v.detach().to(dtype).contiguous() for k, v in net.state_dict().items()}


def save_safetensors(net, opt, plain_opt, path, dtype=torch.float32, card=None):
    """The weights of ``net`` (plain key names) as ``dtype`` with the arch's options in the metadata (and the model
    card, a dict of OpenModelDB's fields, under ``model_card`` when given)."""
    from safetensors.torch import save

    tensors = weights(net, dtype)
    metadata = {'network_g': json.dumps(plain_opt)}
    if opt != plain_opt:
        metadata['trained_as'] = json.dumps(opt)
    if card is not None:
        metadata['model_card'] = json.dumps(card, ensure_ascii=False)
    atomic_write_bytes(path, save(tensors, metadata=metadata))


def save_onnx(net, num_in_ch, path, opset=DEFAULT_OPSET, dtype=torch.float32):
    """``net`` as an ONNX graph in ``dtype`` with dynamic batch, height and width (torch's exporter)."""
    net = copy.deepcopy(net).to(dtype).eval()
    batch, height, width = EXAMPLE_SIZE
    example = torch.rand(batch, num_in_ch, height, width, dtype=dtype)
    dims = {0: torch.export.Dim('batch'), 2: torch.export.Dim('height'), 3: torch.export.Dim('width')}
    program = torch.onnx.export(net, (example,), None, dynamo=True, input_names=['input'], output_names=['output'],
                                dynamic_shapes=(dims,), opset_version=opset, verbose=False)
    got = {entry.domain: entry.version for entry in program.model_proto.opset_import}.get('')
    if got != opset:
        raise UserError(f'--opset {opset}: torch\'s ONNX exporter could not convert this network to it (it gave '
                        f'opset {got}); use {DEFAULT_OPSET} or higher.')
    atomic_write_bytes(path, program.model_proto.SerializeToString())


def onnx_difference(path, net, num_in_ch, dtype):
    """Max abs difference between onnxruntime (CPU) running ``path`` and ``net`` (float32) on a random image."""
    import onnxruntime

    session = onnxruntime.InferenceSession(path, providers=['CPUExecutionProvider'])
    image = torch.rand(1, num_in_ch, 24, 20, generator=torch.Generator().manual_seed(0))
    result = session.run(None, {'input': image.to(dtype).numpy()})[0]
    with torch.no_grad():
        expected = net(image)
    return (torch.from_numpy(result).float() - expected).abs().max().item()
