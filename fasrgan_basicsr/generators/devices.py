"""Where a generator runs: the torch device a command's ``--device`` / ``-g`` names, and its autocast dtype."""
import torch

from fasrgan_basicsr.utils.errors import UserError


def resolve_device(device=None, gpu_id=None):
    """The torch device from ``--device`` / ``-g``; raises UserError when it does not exist here.

    Default: ``cuda`` when available, else ``cpu``.
    """
    name = device
    try:
        device = torch.device(name) if name else None
    except RuntimeError as err:
        raise UserError(f'--device {name}: not a torch device ({err}).') from err
    if gpu_id is not None:
        if gpu_id < 0:
            raise UserError(f'-g {gpu_id}: a CUDA device index is >= 0.')
        if device is not None and device != torch.device('cuda', gpu_id):
            raise UserError(f'-g {gpu_id} and --device {name} disagree; give one of them.')
        device = torch.device('cuda', gpu_id)
    elif device is None:
        device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    if device.type == 'cuda':
        what = f'-g {gpu_id}' if gpu_id is not None else f'--device {device}'
        if not torch.cuda.is_available():
            raise UserError(f'{what}: no CUDA device on this machine; use --device cpu.')
        if device.index is not None and not 0 <= device.index < torch.cuda.device_count():
            raise UserError(f'{what}: this machine has {torch.cuda.device_count()} CUDA device(s).')
    return device


def amp_dtype_for(device, fp32=False, fp16=False, bf16=False):
    """The autocast dtype (None = float32): float16 by default on CUDA, float32 on the CPU; raises UserError."""
    if fp16:
        if device.type != 'cuda':
            raise UserError('--fp16 needs a CUDA device (float16 convolutions are not supported well on the CPU); '
                            'use --bf16 on the CPU.')
        return torch.float16
    if bf16:
        if device.type == 'cuda' and not torch.cuda.is_bf16_supported():
            raise UserError(f'--bf16: {torch.cuda.get_device_name(device)} does not support bfloat16; use --fp16.')
        return torch.bfloat16
    return torch.float16 if device.type == 'cuda' and not fp32 else None
