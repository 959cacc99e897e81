"""Images as the commands read and write them: float HWC in [0, 1] (1, 3 or 4 channels, 8 or 16 bits), tensors, and
output files written atomically, planned so that nothing existing or given as input is replaced."""
from os import path as osp

import cv2
import numpy as np
import torch

from fasrgan_basicsr.utils.errors import UserError
from fasrgan_basicsr.utils.files import atomic_write_bytes

#: output formats that hold 16-bit samples (OpenCV writes the others with 8 bits)
SIXTEEN_BIT_EXTS = ('.png', '.tif', '.tiff')


class ImageError(UserError):
    """One image of the batch that cannot be read or written (message names the file); the others go on."""


def read_image(path):
    """``(image HWC float32 in [0, 1] with 1, 3 or 4 channels, BGR(A), max value of its dtype)``."""
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if img is None:
        raise ImageError(f'{path}: not a readable image (OpenCV cannot decode it).')
    if img.dtype == np.uint8:
        max_value = 255
    elif img.dtype == np.uint16:
        max_value = 65535
    else:
        raise ImageError(f'{path}: unsupported pixel type {img.dtype} (expected 8- or 16-bit).')
    if img.ndim == 2:
        img = img[..., None]
    if img.shape[2] not in (1, 3, 4):
        raise ImageError(f'{path}: {img.shape[2]} channels (expected grey, BGR or BGRA).')
    return img.astype(np.float32) / max_value, max_value


def to_tensor(img, device):
    """HWC BGR float → ``(1, C, H, W)`` RGB on ``device``."""
    if img.shape[2] == 3:
        img = img[..., ::-1]
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))).unsqueeze(0).to(device)


def to_image(tensor):
    """``(1, C, H, W)`` RGB → HWC BGR float in [0, 1]."""
    img = tensor[0].clamp(0, 1).cpu().numpy().transpose(1, 2, 0)
    return np.ascontiguousarray(img[..., ::-1] if img.shape[2] == 3 else img)


def output_path(out_dir, in_path, suffix, ext, has_alpha=False):
    """``out_dir/<stem>_<suffix>.<ext>``: the input's extension for ``auto``; PNG whenever there is alpha."""
    stem, in_ext = osp.splitext(osp.basename(in_path))
    name = f'{stem}_{suffix}' if suffix else stem
    if has_alpha:
        return osp.join(out_dir, name + '.png')
    return osp.join(out_dir, name + (in_ext.lower() if ext in ('auto', 'same') else '.' + ext))


def write_image(img, path, max_value):
    """Quantise (8 bits where the format holds no more), encode in memory and write atomically
    (:func:`~fasrgan_basicsr.utils.files.atomic_write_bytes`): a full disk is an ``OSError`` naming ``path``."""
    if not path.lower().endswith(SIXTEEN_BIT_EXTS):
        max_value = 255
    dtype = np.uint8 if max_value == 255 else np.uint16
    data = np.round(np.clip(img, 0, 1) * max_value).astype(dtype)
    if data.shape[2] == 1:
        data = data[..., 0]
    ok, encoded = cv2.imencode(osp.splitext(path)[1], data)
    if not ok:
        raise ImageError(f'{path}: OpenCV could not encode the image as {osp.splitext(path)[1]}.')
    atomic_write_bytes(path, encoded.tobytes())


def plan_outputs(output, inputs, suffix, ext, overwrite=False):
    """``[(input, output)]``; refuses (UserError) an ``-o`` that is a file, an output replacing an input or another
    output, and existing outputs without ``--overwrite`` — before anything is written."""
    if osp.exists(output) and not osp.isdir(output):
        raise UserError(f'-o {output}: is an existing file; expected a folder (created when missing).')
    jobs = [(path, output_path(output, path, suffix, ext)) for path in inputs]
    sources = {osp.realpath(path): path for path in inputs}
    seen = {}
    for path, out in jobs:
        real = osp.realpath(out)
        if real in sources:
            raise UserError(f'{path}: its output {out} would overwrite the input {sources[real]}; '
                            'set --suffix or another -o.')
        if real in seen:
            raise UserError(f'{seen[real]} and {path} would both be written to {out}; use --ext auto or separate runs.')
        seen[real] = path
    existing = [out for _, out in jobs if osp.exists(out)]
    if existing and not overwrite:
        raise UserError(f'{len(existing)} output(s) exist already, e.g. {existing[0]} (use --overwrite to replace '
                        'them); nothing written.')
    return jobs
