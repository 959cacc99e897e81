"""The score maps of a trained generator and discriminator on LR images: what ``fasrgan-score-map`` writes.

Which files are written, how HR images are matched and what each figure shows:
``fasrgan-score-map --help`` (:mod:`fasrgan_basicsr.cli.visualize_score_map`).
"""
import copy
import os
import re
from os import path as osp

import cv2
import numpy as np
import torch
from basicsr.archs import build_network
from basicsr.utils import img2tensor, tensor2img
from basicsr.utils.registry import ARCH_REGISTRY
from PIL import Image

from fasrgan_basicsr.utils.checkpoint import CheckpointError, load_state_dict
from fasrgan_basicsr.utils.errors import UserError
from fasrgan_basicsr.utils.image_files import IMG_EXTS
from fasrgan_basicsr.visualization.score_map import channel_mean, score_map_probabilities
from fasrgan_basicsr.visualization.score_map_panel import score_map_figures


def output_kinds(normalize):
    """What is written per image, as ``<name>_<kind>.png``."""
    return ('sr', 'score_map') + (('score_map_norm',) if normalize else ()) + ('panel',)


def image_size(path, what):
    """``(height, width)`` from the image's header; UserError naming ``what`` and the file when unreadable."""
    try:
        with Image.open(path) as img:
            return img.height, img.width
    except (OSError, ValueError) as err:
        raise UserError(f'{what} {path}: not a readable image ({err}).') from None


def hr_candidates(lr_stem, scale):
    """HR names an LR named ``lr_stem`` pairs with: itself, or less a trailing ``_x4``, ``-x4`` or ``x4``."""
    names = [lr_stem]
    for suffix in (f'_x{scale}', f'-x{scale}', f'x{scale}'):
        if lr_stem.lower().endswith(suffix) and len(lr_stem) > len(suffix):
            names.append(lr_stem[:-len(suffix)])
    return names


def match_hr(lr_paths, hr_dir, scale):
    """``{lr path: hr path}`` matched by name, each HR exactly ``scale`` × its LR; else UserError (first problem)."""
    if not osp.isdir(hr_dir):
        raise UserError(f'--hr {hr_dir}: no such folder.')
    by_stem = {}
    for name in sorted(os.listdir(hr_dir)):
        if name.lower().endswith(IMG_EXTS):
            by_stem.setdefault(osp.splitext(name)[0], []).append(osp.join(hr_dir, name))
    pairs, missing = {}, []
    for lr in lr_paths:
        stem = osp.splitext(osp.basename(lr))[0]
        found = next((by_stem[name] for name in hr_candidates(stem, scale) if name in by_stem), None)
        if found is None:
            missing.append(osp.basename(lr))
            continue
        if len(found) > 1:
            raise UserError(f'--hr {hr_dir}: {len(found)} images could be the HR of {lr}: '
                            f'{", ".join(osp.basename(p) for p in found)}; keep one.')
        pairs[lr] = found[0]
    if missing:
        looked_for = ' or '.join(f'{name}.*' for name in hr_candidates(osp.splitext(missing[0])[0], scale))
        raise UserError(f'--hr {hr_dir}: no HR image for {len(missing)} LR image(s), e.g. {missing[0]} '
                        f'(looked for {looked_for}).')
    for lr, hr in pairs.items():
        lr_h, lr_w = image_size(lr, '-i')
        hr_h, hr_w = image_size(hr, '--hr')
        if (hr_h, hr_w) != (scale * lr_h, scale * lr_w):
            raise UserError(f'--hr {hr}: {hr_w}×{hr_h} pixels, expected {scale * lr_w}×{scale * lr_h} '
                            f'(×{scale} its LR {lr}, {lr_w}×{lr_h}).')
    return pairs


def plan_outputs(out_dir, lr_paths, inputs, kinds, overwrite):
    """``{lr path: {output kind: path}}`` for ``kinds`` (:func:`output_kinds`).

    UserError for outputs that would replace an input or each other, or that exist already without ``overwrite``
    — before anything is written.
    """
    if osp.exists(out_dir) and not osp.isdir(out_dir):
        raise UserError(f'-o {out_dir}: is an existing file; expected a folder (created when missing).')
    sources = {osp.realpath(p): p for p in inputs}
    plans, seen = {}, {}
    for lr in lr_paths:
        stem = osp.splitext(osp.basename(lr))[0]
        plans[lr] = {kind: osp.join(out_dir, f'{stem}_{kind}.png') for kind in kinds}
        for out in plans[lr].values():
            real = osp.realpath(out)
            if real in sources:
                raise UserError(f'{lr}: its output {out} would overwrite the input {sources[real]}; choose another -o.')
            if real in seen:
                raise UserError(f'{seen[real]} and {lr} would both be written to {out}; rename one or run them apart.')
            seen[real] = lr
    existing = [out for plan in plans.values() for out in plan.values() if osp.exists(out)]
    if existing and not overwrite:
        raise UserError(f'{len(existing)} output(s) exist already, e.g. {existing[0]} (use --overwrite to replace '
                        'them); nothing written.')
    return plans


def network_option(opt, key, opt_path):
    """``opt[key]`` naming a registered arch; UserError otherwise."""
    net_opt = opt.get(key)
    if not isinstance(net_opt, dict) or not isinstance(net_opt.get('type'), str):
        raise UserError(f'{opt_path}: {key}: missing, or without a type; the viewer builds the networks from it.')
    if net_opt['type'] not in ARCH_REGISTRY:
        raise UserError(f'{opt_path}: {key}:type: {net_opt["type"]!r} is not a registered arch.')
    return net_opt


def build(net_opt, key, opt_path):
    try:
        return build_network(copy.deepcopy(dict(net_opt)))
    except (TypeError, ValueError) as err:
        raise UserError(f'{opt_path}: {key}: cannot build {net_opt["type"]} ({err}).') from None


def discriminator_extractor(net_g, net_d_opt, net_d_path, image_channels=3):
    """The module whose features a feature-reading discriminator scores, or None when it reads images.

    The discriminator's own extractor when its checkpoint holds ``params_extractor`` (woFs), else the
    generator's shared ``extractor`` (FA+Fs-SRGAN).
    """
    if net_d_opt.get('num_in_ch', image_channels) == image_channels:
        return None
    extractor = getattr(net_g, 'extractor', None)
    if extractor is None:
        raise UserError(f'network_d reads {net_d_opt["num_in_ch"]}-channel features, but the generator '
                        f'{type(net_g).__name__} has no shared extractor (expected FsRRDBNet or FsMSRResNet).')
    try:
        own = load_state_dict(net_d_path, ('params_extractor',))
    except CheckpointError:
        own = None
    if own is not None and set(own) == set(extractor.state_dict()):
        extractor = copy.deepcopy(extractor)
        extractor.load_state_dict(own)
    return extractor


def checkpoint_iteration(path):
    """``'iter 400'`` for BasicSR's ``net_d_400.pth``, else the file name (e.g. ``net_d_latest.pth``)."""
    match = re.search(r'_(\d+)\.pth$', osp.basename(path))
    return f'iter {match.group(1)}' if match else osp.basename(path)


def run_title(opt, opt_path, net_g_path, net_d_path):
    """Which run and which iteration: the option file's ``name`` and the checkpoints' iterations."""
    run = opt.get('name') or osp.splitext(osp.basename(opt_path))[0]
    g, d = checkpoint_iteration(net_g_path), checkpoint_iteration(net_d_path)
    return f'run {run} | {d if g == d else f"G {g}, D {d}"}'


def read_image(path, what='-i'):
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise UserError(f'{what} {path}: not a readable image (OpenCV cannot decode it).')
    return img


@torch.no_grad()
def render_image(net_g, net_d, lr_img, title, device='cpu', extractor=None, hr_img=None, normalize=False):
    """Super-resolve one BGR uint8 LR image and make its figures (:func:`score_map_figures`).

    Returns ``(sr BGR uint8, displayed map (H, W), figures)``.
    """
    lr = img2tensor(lr_img.astype(np.float32) / 255., bgr2rgb=True, float32=True).unsqueeze(0).to(device)
    sr = net_g(lr).clamp(0, 1)
    values = channel_mean(score_map_probabilities(net_d, sr, extractor)[0])
    sr_img = tensor2img(sr)
    if hr_img is not None and hr_img.shape != sr_img.shape:
        raise UserError(f'--hr: the HR image is {hr_img.shape[1]}×{hr_img.shape[0]} but the SR image '
                        f'{sr_img.shape[1]}×{sr_img.shape[0]}; network_g does not upscale by the option file\'s scale.')
    return sr_img, values, score_map_figures(values, title, sr=sr_img, hr=hr_img, normalize=normalize)


def write_score_maps(net_g, net_d, lr_paths, plans, title, device='cpu', extractor=None, hr_paths=None,
                     normalize=False):
    """Write each LR image's outputs (``plans``: see :func:`plan_outputs`); returns ``{lr path: MapRange}``."""
    net_g.eval().to(device)
    net_d.eval().to(device)
    if extractor is not None:
        extractor.eval().to(device)
    ranges = {}
    for path in lr_paths:
        name = osp.splitext(osp.basename(path))[0]
        hr_img = read_image(hr_paths[path], '--hr') if hr_paths else None
        sr_img, _, figures = render_image(net_g, net_d, read_image(path), f'{title} | {name}', device, extractor,
                                          hr_img, normalize)
        os.makedirs(osp.dirname(plans[path]['sr']) or '.', exist_ok=True)
        cv2.imwrite(plans[path]['sr'], sr_img)
        for kind, figure in figures.items():
            cv2.imwrite(plans[path][kind], figure.image)
        ranges[path] = figures['panel'].map_range
        print(f'{plans[path]["panel"]}  M {ranges[path].describe()}', flush=True)
    return ranges
