"""Finding, checking, reading and writing images.

Every image is read as 8-bit, 3-channel BGR (what BasicSR's ``imfrombytes`` hands to the networks): grey images are
replicated to three channels and an alpha channel is dropped; both are reported. Unreadable, truncated or 16-bit
files are refused before anything is written, each one named.
"""
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from fasrgan_basicsr.utils.image_files import not_regular_problem

from .common import PrepError, name_list, problems_error, warn

IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.ppm', '.pgm', '.webp')
#: PIL modes that hold more than 8 bits per sample.
_HIGH_BIT_DEPTH_MODES = ('I', 'F', 'I;16', 'I;16B', 'I;16L', 'I;16N')
_TAIL_BYTES = 1024


@dataclass(frozen=True)
class ImageInfo:
    """What an image's header says, read without decoding its pixels."""

    path: Path
    height: int
    width: int
    grey: bool
    alpha: bool

    @property
    def name(self):
        return self.path.name


def list_images(folder, role='input'):
    """The image files directly inside ``folder`` (sorted, hidden files skipped); refuses a missing, unreadable or
    empty folder, broken symbolic links named like images (they would be skipped silently) and entries named like
    images that are no regular files (pipes, devices)."""
    folder = Path(folder)
    try:
        if not folder.exists():
            raise PrepError(f'{role} folder {folder} does not exist')
        if not folder.is_dir():
            raise PrepError(f'{role} {folder} is not a folder')
        entries = [p for p in folder.iterdir() if not p.name.startswith('.') and p.suffix.lower() in IMAGE_EXTENSIONS]
        broken = [p.name for p in entries if p.is_symlink() and not p.exists()]
        odd = sorted(str(p) for p in entries if p.exists() and not p.is_file() and not p.is_dir())
        images = sorted(p for p in entries if p.is_file())
    except OSError as exc:
        raise PrepError(f'{role} folder {exc.filename or folder} cannot be read: {exc.strerror}') from exc
    if odd:  # a named pipe blocks its reader, /dev/zero never ends: refused, never skipped
        raise PrepError(not_regular_problem(str(folder), odd, f'{role} folder'))
    if broken:
        raise PrepError(f'{role} folder {folder} holds broken symbolic links named like images (fix or remove them): '
                        f'{name_list(broken)}')
    if not images:
        raise PrepError(f'{role} folder {folder} holds no images (expected files ending in '
                        f'{", ".join(IMAGE_EXTENSIONS)})')
    return images


def caseless(name):
    """One key for the names a case-insensitive file system takes for the same: upper-cased, as NTFS compares them
    (``ı`` and ``i`` are both ``I``), then case-folded, as Unicode's caseless matching (``ß`` is ``ss``, the Kelvin
    sign is ``k``)."""
    return name.upper().casefold()


def refuse_name_clashes(paths, role='input', name_of=lambda path: Path(path).stem):
    """PrepError if two inputs would give outputs (files or LMDB keys) whose names differ at most in case.

    ``name_of(path)`` is the output name an input leads to (default: its file name without extension), so
    ``a.png`` + ``a.jpg`` and ``Baby.png`` + ``baby.png`` are refused: one would overwrite the other, on every file
    system or on a case-insensitive one (macOS, Windows), and a pairing by name could not tell them apart.
    """
    groups = defaultdict(list)
    for path in paths:
        groups[caseless(name_of(path))].append(Path(path).name)
    clashes = [' + '.join(sorted(names)) for names in groups.values() if len(names) > 1]
    if clashes:
        raise PrepError(f'{role} files whose names differ only in extension or case would write the same output; '
                        f'rename them: {name_list(clashes)}')


def _truncation(image_format, tail):
    """Why a PNG/JPEG file is cut short (its end marker is missing from ``tail``), or None."""
    if image_format == 'PNG' and b'IEND' not in tail:
        return 'truncated: the PNG ends before its IEND chunk'
    if image_format == 'JPEG' and b'\xff\xd9' not in tail:
        return 'truncated: the JPEG ends before its end-of-image marker'
    return None


def _read_tail(path):
    size = path.stat().st_size
    with open(path, 'rb') as handle:
        handle.seek(max(0, size - _TAIL_BYTES))
        return handle.read()


def inspect_image(path):
    """``(ImageInfo, None)`` for a usable image, ``(None, reason)`` otherwise. Reads the header and the tail only."""
    path = Path(path)
    try:
        if path.stat().st_size == 0:
            return None, 'empty file (0 bytes)'
        with Image.open(path) as img:
            width, height = img.size
            mode, image_format = img.mode, img.format
            raw_mode = str(img.tile[0][3] if img.tile else '')  # 'RGB;16B' for a 16-bit PNG that PIL calls RGB
        reason = _truncation(image_format, _read_tail(path))
        if reason:
            return None, reason
    except Image.DecompressionBombError as exc:
        return None, f'too large to decode safely ({exc})'
    except UnidentifiedImageError:
        return None, 'not a readable image (unknown or corrupt format)'
    except OSError as exc:
        return None, f'cannot be read: {exc.strerror or exc}'
    if mode in _HIGH_BIT_DEPTH_MODES or ';16' in raw_mode:
        return None, '16-bit pixels: only 8-bit images are supported (convert it to 8-bit first)'
    grey = mode in ('1', 'L', 'LA', 'La')
    alpha = mode in ('LA', 'La', 'RGBA', 'RGBa', 'PA')
    return ImageInfo(path, height, width, grey, alpha), None


def scan_images(paths, role='input'):
    """Check every image before any work starts; one PrepError names every unusable file."""
    infos, problems = [], []
    for path in paths:
        image_info, reason = inspect_image(path)
        if reason:
            problems.append(f'{path}: {reason}')
        else:
            infos.append(image_info)
    if problems:
        raise problems_error(f'{len(problems)} {role} image(s) cannot be used (fix or remove them; nothing was '
                             'written)', problems)
    return infos


def report_colour_conversions(infos):
    """Warn about grey and alpha images, which are read as 3-channel BGR; return the notes for the summary."""
    notes = []
    grey = [i.name for i in infos if i.grey]
    alpha = [i.name for i in infos if i.alpha]
    if grey and len(grey) < len(infos):
        notes.append(f'mixed grey/RGB input: {len(grey)} grey image(s) converted to 3 channels: {name_list(grey)}')
    elif grey:
        notes.append(f'all {len(grey)} input images are grey; converted to 3 channels (BasicSR reads colour)')
    if alpha:
        notes.append(f'alpha channel dropped from {len(alpha)} image(s): {name_list(alpha)}')
    for note in notes:
        warn(note)
    return notes


def read_image(path):
    """Decode ``path`` as an 8-bit HxWx3 BGR array; PrepError (naming the file) if it cannot be decoded."""
    path = Path(path)
    data = np.frombuffer(path.read_bytes(), np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if img is None:
        raise PrepError(f'{path}: cannot decode the image (corrupt or truncated file)')
    if img.dtype != np.uint8:
        raise PrepError(f'{path}: {img.dtype} pixels; only 8-bit images are supported (convert it to 8-bit first)')
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    if img.shape[2] == 2:  # grey + alpha
        return cv2.cvtColor(img[:, :, 0], cv2.COLOR_GRAY2BGR)
    return img


def encode_png(img, compress_level):
    """PNG bytes of ``img`` (OpenCV's encoder, as BasicSR uses)."""
    ok, buffer = cv2.imencode('.png', img, [cv2.IMWRITE_PNG_COMPRESSION, compress_level])
    if not ok:
        raise PrepError(f'OpenCV could not encode an image of shape {img.shape} as PNG')
    return buffer.tobytes()


def write_png(path, img, compress_level=3):
    """Write ``img`` to ``path`` as PNG and return the bytes written. Errors name the path (disk full, permission)."""
    data = encode_png(img, compress_level)
    try:
        with open(path, 'wb') as handle:
            handle.write(data)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(path)) from exc
    return len(data)


def mod_crop(img, scale):
    """Crop the bottom/right so that height and width are multiples of ``scale``."""
    height, width = img.shape[:2]
    return img[:height - height % scale, :width - width % scale]
