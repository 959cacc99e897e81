"""The images a command is pointed at: one file, or the image files of a folder."""
import os
from os import path as osp

from .errors import UserError

IMG_EXTS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp')


def list_image_files(path, option='-i'):
    """The image files of a folder (sorted by name), or the single file given; UserError naming ``option`` else."""
    if osp.isdir(path):
        files = sorted(osp.join(path, f) for f in os.listdir(path) if f.lower().endswith(IMG_EXTS))
        if not files:
            raise UserError(f'{option} {path}: no images ({", ".join(IMG_EXTS)}) in this folder.')
        return files
    if not osp.isfile(path):
        raise UserError(f'{option} {path}: no such file or folder.')
    return [path]
