"""Feature maps of generators for one image, side by side: the paper's feature-visualisation figure.

What is shown and how channels are ranked: ``fasrgan-features --help`` (:mod:`fasrgan_basicsr.cli.visualize_features`).
"""
from dataclasses import dataclass, field
from os import path as osp

import cv2
import numpy as np
import torch

from fasrgan_basicsr.generators.image_io import read_image, to_tensor
from fasrgan_basicsr.generators.upscaler import unshuffle_factor
from fasrgan_basicsr.utils.errors import UserError
from fasrgan_basicsr.visualization.drawing import LINE, MARGIN, SMALL_SCALE, Box, enlarge, put_text, text_width

SMALL_LINE = 16  # pixels per line of small text
BLOCK_GAP, CELL_GAP = 24, 6
CELL_LONG_SIDE = 128  # cells whose longer side is shorter are enlarged by an integer factor
COLORMAPS = {'gray': None, 'jet': cv2.COLORMAP_JET, 'viridis': cv2.COLORMAP_VIRIDIS,
             'inferno': cv2.COLORMAP_INFERNO, 'magma': cv2.COLORMAP_MAGMA, 'turbo': cv2.COLORMAP_TURBO}


@dataclass
class Generator:
    """One block of the figure: a generator checkpoint and the trunk block whose output is shown."""
    label: str
    path: str
    kind: str  # 'plain' or 'fs'
    net: torch.nn.Module = None
    opt: dict = None
    block: torch.nn.Module = None
    block_name: str = ''
    add_input: bool = False  # shown: the block's output + its input (the release extractor's shortcut)
    description: str = ''


@dataclass
class Figure:
    """The rendered grid (BGR uint8 ``image``); ``boxes[(block, rank)]`` is where cell ``rank`` (0 = strongest)
    of block ``block`` (0 = first generator) lies, enlarged by ``factors[block]``."""
    image: np.ndarray
    boxes: dict = field(default_factory=dict)
    factors: list = field(default_factory=list)


def trunk_blocks(net):
    """The trunk's blocks in order: ``body`` of RRDBNet / MSRResNet; an Fs generator's extractor blocks, then its
    ``body`` — the same sequence either way, as an Fs generator computes the plain one of E + G blocks."""
    if hasattr(net, 'extractor'):
        return [(f'extractor.body.{i}', b) for i, b in enumerate(net.extractor.body)] + [
            (f'body.{i}', b) for i, b in enumerate(net.body)]
    return [(f'body.{i}', b) for i, b in enumerate(net.body)]


def choose_block(generator, shared_blocks):
    """Set ``generator.block`` (the module whose output is shown), its name and a caption; UserError when
    ``shared_blocks`` (None = not given) does not fit the checkpoint."""
    blocks = trunk_blocks(generator.net)
    kind = 'RRDB' if 'RRDB' in generator.opt['type'] else 'residual block'
    if generator.kind == 'plain':
        index, generator.description = 0, f'first {kind}'
    else:
        recorded = getattr(generator.net, 'num_shared_block', None)  # split names record E
        if recorded is not None and shared_blocks not in (None, recorded):
            raise UserError(f'--shared_blocks {shared_blocks}: {generator.path} records {recorded} shared block(s) '
                            f'(extractor.body.*).')
        shared = recorded or shared_blocks or 1
        if not 1 <= shared < len(blocks):
            raise UserError(f'--shared_blocks {shared}: {generator.path} ({generator.opt["type"]}) has '
                            f'{len(blocks)} blocks; the shared extractor is 1 to {len(blocks) - 1} of them.')
        index, generator.description = shared - 1, f'shared extractor, E={shared}'
        if getattr(getattr(generator.net, 'extractor', None), 'shortcut', False):  # H_shared = stem + blocks(stem)
            generator.block_name, generator.block = 'stem + extractor.body', generator.net.extractor.body
            generator.add_input = True
            return
    generator.block_name, generator.block = blocks[index]


class _Captured(Exception):
    """Raised by the hook: the block's output is all that is needed, the rest of the network is skipped."""


@torch.no_grad()
def capture(net, block, image, add_input=False):
    """``(C', H', W')``: the output of ``block`` when ``net`` runs on ``image`` ``(1, C, H, W)`` (a forward hook),
    plus the block's input with ``add_input``."""
    captured = []

    def hook(module, inputs, output):
        captured.append((output + inputs[0] if add_input else output).detach().float().cpu()[0])
        raise _Captured

    handle = block.register_forward_hook(hook)
    try:
        net(image)
    except _Captured:
        pass
    finally:
        handle.remove()
    if not captured:
        raise RuntimeError(f'{type(net).__name__}: the hooked block was not run.')
    return captured[0]


def rank_channels(features, top):
    """``(indices, scores)`` of the ``top`` channels of ``features`` ``(C, H, W)`` with the largest mean absolute
    activation ``mean_yx |F_c(y, x)|``, highest first; equal scores keep the lower index first."""
    scores = features.abs().mean(dim=(1, 2))
    order = torch.sort(scores, descending=True, stable=True).indices[:top]
    return order.tolist(), scores[order].tolist()


def stretch(channel):
    """``(H, W)`` values → uint8 ``round(255 · (v − min) / (max − min))``; a constant channel → 0."""
    values = np.asarray(channel, dtype=np.float64)
    low, high = values.min(), values.max()
    if high <= low:
        return np.zeros(values.shape, np.uint8)
    return np.floor((values - low) / (high - low) * 255 + 0.5).astype(np.uint8)


def render(title, blocks, columns, colormap=None):
    """The figure: a title line, then one block per generator side by side.

    Args:
        title (str): The first line.
        blocks (list): ``(caption lines, [(cell caption, uint8 (H, W) cell), ...])`` per generator.
        columns (int): Cells per row within a block.
        colormap (int | None): An OpenCV colour map for the cells; None: grey.

    Returns:
        Figure: the image (white, BGR uint8) and where each cell is.
    """
    caption_lines = max(len(captions) for captions, _ in blocks)
    top = MARGIN + LINE * (1 + caption_lines)
    layouts, width = [], MARGIN
    for captions, cells in blocks:
        h, w = cells[0][1].shape
        factor = max(1, CELL_LONG_SIDE // max(h, w))
        cols = min(columns, len(cells))
        cell_w = max(w * factor, max(text_width(c, SMALL_SCALE) for c, _ in cells))
        block_w = max(cols * cell_w + (cols - 1) * CELL_GAP, max(text_width(c) for c in captions))
        rows = -(-len(cells) // cols)
        layouts.append((width, factor, cols, cell_w, SMALL_LINE + h * factor + CELL_GAP, rows))
        width += block_w + BLOCK_GAP
    height = top + max(rows * row_h for *_, row_h, rows in layouts) + MARGIN
    canvas = np.full((height, max(width - BLOCK_GAP + MARGIN, 2 * MARGIN + text_width(title)), 3), 255, np.uint8)
    put_text(canvas, title, MARGIN, MARGIN + LINE - 6)
    figure = Figure(canvas)
    for b, ((captions, cells), (x0, factor, cols, cell_w, row_h, _)) in enumerate(zip(blocks, layouts)):
        for i, line in enumerate(captions):
            put_text(canvas, line, x0, MARGIN + LINE * (i + 2) - 6)
        for rank, (caption, cell) in enumerate(cells):
            x, y = x0 + (rank % cols) * (cell_w + CELL_GAP), top + (rank // cols) * row_h
            put_text(canvas, caption, x, y + SMALL_LINE - 4, SMALL_SCALE)
            tile = enlarge(cell, factor)
            tile = np.repeat(tile[..., None], 3, axis=2) if colormap is None else cv2.applyColorMap(tile, colormap)
            box = Box(x, y + SMALL_LINE, tile.shape[1], tile.shape[0])
            canvas[box.y:box.y + box.h, box.x:box.x + box.w] = tile
            figure.boxes[(b, rank)] = box
        figure.factors.append(factor)
    return figure


def load_image(path):
    """The image as HWC BGR float in [0, 1] without alpha (grey kept as one channel); UserError naming it."""
    if not osp.isfile(path):
        raise UserError(f'-i {path}: no such image file.')
    img, _ = read_image(path)
    return img[..., :3]


def network_input(img, generator, device):
    """``(1, num_in_ch, H, W)`` RGB/grey tensor for ``generator``; UserError when the size does not fit it."""
    num_in_ch = generator.opt.get('num_in_ch', 3)
    if img.shape[2] != num_in_ch:
        img = np.repeat(img, 3, axis=2) if img.shape[2] == 1 else cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)[..., None]
    multiple = unshuffle_factor(generator.opt)
    if img.shape[0] % multiple or img.shape[1] % multiple:
        raise UserError(f'-i: {img.shape[1]}×{img.shape[0]} pixels; {generator.path} (×{generator.opt["scale"]} '
                        f'RRDBNet) needs sides that are multiples of {multiple}: crop the image.')
    return to_tensor(img, device)


def feature_block(generator, img, device, top):
    """One generator's block of the figure: ``(caption lines, [(cell caption, uint8 cell), ...], summary line)``.

    Runs ``generator.net`` on ``device`` up to its chosen block (:func:`capture`), ranks the channels and stretches
    the ``top`` strongest; the network is moved back to the CPU afterwards.
    """
    net = generator.net.to(device)
    features = capture(net, generator.block, network_input(img, generator, device), generator.add_input)
    generator.net = net.cpu()
    indices, scores = rank_channels(features, top)
    cells = [(f'#{rank + 1} ch {c}', stretch(features[c].numpy())) for rank, c in enumerate(indices)]
    captions = [f'{generator.label}: {generator.description} ({generator.block_name})',
                f'{generator.opt["type"]}, {osp.basename(generator.path)}']
    summary = (f'{generator.label}: {generator.opt["type"]} {generator.block_name} ({generator.description}), '
               f'{features.shape[0]} channels of {features.shape[2]}×{features.shape[1]}; strongest: '
               + ', '.join(f'ch {c} ({s:.4g})' for c, s in zip(indices, scores)))
    return captions, cells, summary
