"""The images a command is pointed at: one file, or the image files of a folder — regular files only.

A named pipe called ``x.png`` or a symbolic link to ``/dev/zero`` would block or never end a reader, so they are
refused by name, all at once, as are broken symbolic links named like images (they would be skipped silently).
"""
import os
from os import path as osp

import cv2

from .errors import UserError
from .files import atomic_write_bytes, file_kind, regular_file_problem

IMG_EXTS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp')


def _names(paths, limit=5):
    names = [osp.basename(p) for p in paths]
    return ', '.join(names[:limit]) + (f' (+{len(names) - limit} more)' if len(names) > limit else '')


def image_entries(folder, extensions=IMG_EXTS, hidden=False):
    """``(regular image files, other entries named like images)`` of ``folder``, each sorted by name.

    Entries are the folder's own (not its subfolders'), named with one of ``extensions`` (any case); ``hidden``:
    also names starting with a dot.
    """
    named = sorted(osp.join(folder, name) for name in os.listdir(folder)
                   if name.lower().endswith(extensions) and (hidden or not name.startswith('.')))
    regular = [p for p in named if file_kind(p) == 'file']
    return regular, [p for p in named if file_kind(p) != 'file']


def not_regular_problem(folder, others, option):
    """One line naming the entries of ``folder`` named like images that are no regular files, by kind."""
    kinds = {}
    for path in others:
        kinds.setdefault(file_kind(path), []).append(path)
    what = '; '.join(f'{_names(paths)} ({kind})' for kind, paths in kinds.items())
    return (f'{option} {folder}: holds entries named like images that are not regular files: {what}; remove them '
            '(they would block or never end a reader).')


def list_image_files(path, option='-i'):
    """The image files of a folder (sorted by name), or the single file given; UserError naming ``option`` else."""
    if osp.isdir(path):
        files, others = image_entries(path, hidden=True)
        if others:
            raise UserError(not_regular_problem(path, others, option))
        if not files:
            raise UserError(f'{option} {path}: no images ({", ".join(IMG_EXTS)}) in this folder.')
        return files
    if not osp.lexists(path):
        raise UserError(f'{option} {path}: no such file or folder.')
    problem = regular_file_problem(path, 'image file or a folder of images')
    if problem:
        raise UserError(f'{option} {problem}')
    return [path]


def write_image_file(path, image, params=None):
    """Write ``image`` (what ``cv2.imwrite`` takes) whole or not at all: encoded in memory, then written through a
    temporary file; a full disk is an ``OSError`` naming ``path`` (OpenCV's ``imwrite`` only returns False)."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    ok, encoded = cv2.imencode(osp.splitext(path)[1], image, params or [])
    if not ok:
        raise UserError(f'{path}: OpenCV could not encode the image as {osp.splitext(path)[1]}.')
    atomic_write_bytes(path, encoded.tobytes())
