"""Feature maps of generators for one image, side by side (the paper's feature-visualisation figure).

    python fasrgan_basicsr/visualize_features.py -i img_063.png -o features.png \
        --plain ESRGAN=net_g_ESRGAN.pth --plain FASRGAN=net_g_FASRGAN.pth --fs Fs-SRGAN=net_g_FsSRGAN.pth

The paper (Sec. IV, "Feature Visualization of Fine-Grained Attention and Feature-sharing Mechanisms") shows
the features of the generator's first RRDB (ESRGAN, FASRGAN) and of the shared feature extractor (Fs-SRGAN).
Each generator is given as ``[LABEL=]CHECKPOINT`` (label default: the file's name) and becomes one labelled
block of the figure, in the order given. What is shown is the output of one block of the generator's trunk
(``body.<i>``, read with a forward hook; the rest of the network is not run):

- ``--plain``: the first block, ``body.0`` (the first RRDB of an RRDBNet, the first residual block of an
  MSRResNet).
- ``--fs``: the shared extractor's output ``H_shared`` (Eq. 11), the output of its last block. An Fs generator
  computes exactly the RRDBNet / MSRResNet of E + G blocks and its checkpoints hold those plain names
  (``archs/fs_split.py``), so ``H_shared`` is the output of block E, ``body.<E-1>``. The names do not record
  E: ``--shared_blocks`` gives it, one value for every ``--fs`` or one per ``--fs`` in order (default 1:
  Fs-SRGAN's E1G16 and SRGAN_Fs; FA+Fs-SRGAN's E2G15 needs 2). Checkpoints with the older split names
  (``extractor.*``) record E; ``--shared_blocks`` must then agree with it. So do checkpoints of the authors'
  release layout (``FsRRDBNet`` with ``layout: stacked``), whose extractor adds a shortcut: there ``H_shared``
  is ``stem + blocks(stem)``, the hooked extractor blocks' output plus their input. With E = 1 the Fs column
  reads the same position as a plain one: what differs is that the discriminator trained that block too.

Channels are ranked by their mean absolute activation over the image (``mean_yx |F_c(y, x)|``), highest
first, ties to the lower index; the ``--top`` strongest are shown, each stretched to its own min..max
(``round(255 · (F_c − min) / (max − min))``; a constant channel is 0), as grey or through an OpenCV colour map
(``--colormap``), and labelled ``#rank ch <index>``. Small feature maps are enlarged with nearest neighbour.
An ×2 or ×1 RRDBNet (pixel-unshuffle) reads the image at 1/2 or 1/4 size, so the image's sides must be a
multiple of 2 or 4 for it.

Exit status: 0 written; 2 bad input (a missing or unreadable image, a checkpoint that is not a generator of
this project, ``--top`` or ``--shared_blocks`` that do not fit it, an output that exists or would replace an
input): one line, before anything is computed or written.
"""
import fasrgan_basicsr  # noqa: F401  (first: makes basicsr importable, registers the plugin)

# isort: split
import argparse
import os
import sys
from dataclasses import dataclass, field
from os import path as osp

import cv2
import numpy as np
import torch

from fasrgan_basicsr.evaluation.generators import load_generator
from fasrgan_basicsr.evaluation.score_map_panel import Box, enlarge
from fasrgan_basicsr.inference import device_for, read_image, to_tensor, unshuffle_factor, write_image
from fasrgan_basicsr.utils.cli import UserError, run_cli

FONT = cv2.FONT_HERSHEY_SIMPLEX
TEXT_SCALE, SMALL_SCALE = 0.5, 0.4
LINE, SMALL_LINE = 20, 16  # pixels per line of text
MARGIN, BLOCK_GAP, CELL_GAP = 10, 24, 6
CELL_LONG_SIDE = 128  # cells whose longer side is shorter are enlarged by an integer factor
BLACK = (0, 0, 0)
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


def parse_generator(kind):
    """argparse type of ``--plain`` / ``--fs``: ``[LABEL=]CHECKPOINT`` → :class:`Generator`.

    ``LABEL=`` is split off unless the whole text names an existing file (a path may hold ``=``).
    """
    def parse(text):
        label, sep, path = text.partition('=')
        if not sep or not label or osp.isfile(text):
            label, path = osp.splitext(osp.basename(text))[0], text
        if not path:
            raise argparse.ArgumentTypeError(f'expected [LABEL=]CHECKPOINT, got {text!r}')
        return Generator(label.encode('ascii', 'replace').decode(), path, kind)  # OpenCV's font is ASCII only
    return parse


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


def _text_width(text, scale=TEXT_SCALE):
    return cv2.getTextSize(text, FONT, scale, 1)[0][0]


def _put(canvas, text, x, baseline, scale=TEXT_SCALE):
    cv2.putText(canvas, text, (int(x), int(baseline)), FONT, scale, BLACK, 1, cv2.LINE_AA)


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
        cell_w = max(w * factor, max(_text_width(c, SMALL_SCALE) for c, _ in cells))
        block_w = max(cols * cell_w + (cols - 1) * CELL_GAP, max(_text_width(c) for c in captions))
        rows = -(-len(cells) // cols)
        layouts.append((width, factor, cols, cell_w, SMALL_LINE + h * factor + CELL_GAP, rows))
        width += block_w + BLOCK_GAP
    height = top + max(rows * row_h for *_, row_h, rows in layouts) + MARGIN
    canvas = np.full((height, max(width - BLOCK_GAP + MARGIN, 2 * MARGIN + _text_width(title)), 3), 255, np.uint8)
    _put(canvas, title, MARGIN, MARGIN + LINE - 6)
    figure = Figure(canvas)
    for b, ((captions, cells), (x0, factor, cols, cell_w, row_h, _)) in enumerate(zip(blocks, layouts)):
        for i, line in enumerate(captions):
            _put(canvas, line, x0, MARGIN + LINE * (i + 2) - 6)
        for rank, (caption, cell) in enumerate(cells):
            x, y = x0 + (rank % cols) * (cell_w + CELL_GAP), top + (rank // cols) * row_h
            _put(canvas, caption, x, y + SMALL_LINE - 4, SMALL_SCALE)
            tile = enlarge(cell, factor)
            tile = np.repeat(tile[..., None], 3, axis=2) if colormap is None else cv2.applyColorMap(tile, colormap)
            box = Box(x, y + SMALL_LINE, tile.shape[1], tile.shape[0])
            canvas[box.y:box.y + box.h, box.x:box.x + box.w] = tile
            figure.boxes[(b, rank)] = box
        figure.factors.append(factor)
    return figure


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('-i', '--input', required=True, help='an LR image')
    parser.add_argument('-o', '--output', required=True, help='the PNG to write (its folder is created)')
    parser.add_argument('--plain', dest='generators', action='append', type=parse_generator('plain'), default=[],
                        metavar='[LABEL=]G.pth', help='a generator whose first block is shown (repeatable)')
    parser.add_argument('--fs', dest='generators', action='append', type=parse_generator('fs'),
                        metavar='[LABEL=]G.pth', help='an Fs generator whose shared extractor is shown (repeatable)')
    parser.add_argument('--shared_blocks', type=int, nargs='+', default=None, metavar='E',
                        help='shared blocks of the --fs generators: one value for all or one per --fs (default 1; '
                        'FA+Fs-SRGAN: 2)')
    parser.add_argument('--top', type=int, default=8, help='channels shown per generator (default 8)')
    parser.add_argument('--columns', type=int, default=4, help='cells per row within a generator\'s block (default 4)')
    parser.add_argument('--colormap', choices=list(COLORMAPS), default='gray', help='cell colours (default gray)')
    parser.add_argument('--overwrite', action='store_true', help='replace an existing output (never an input)')
    parser.add_argument('-g', '--gpu-id', type=int, default=None, help='CUDA device index (same as --device cuda:N)')
    parser.add_argument('--device', default=None, help='torch device (default: cuda when available, else cpu)')
    return parser.parse_args(argv)


def check_arguments(args):
    """Everything that needs no file read: generators given, counts, the output path (UserError)."""
    if not args.generators:
        raise UserError('give at least one generator: --plain [LABEL=]G.pth and/or --fs [LABEL=]G.pth.')
    for name in ('top', 'columns'):
        if getattr(args, name) < 1:
            raise UserError(f'--{name} {getattr(args, name)}: expected a whole number >= 1.')
    fs = [g for g in args.generators if g.kind == 'fs']
    if args.shared_blocks is not None:
        if not fs:
            raise UserError('--shared_blocks applies to --fs generators; none given.')
        if len(args.shared_blocks) not in (1, len(fs)):
            raise UserError(f'--shared_blocks: {len(args.shared_blocks)} values for {len(fs)} --fs generators; '
                            'give one for all or one per --fs.')
        if min(args.shared_blocks) < 1:
            raise UserError(f'--shared_blocks {min(args.shared_blocks)}: expected a whole number >= 1.')
    if not args.output.lower().endswith('.png'):
        raise UserError(f'-o {args.output}: expected a .png file name.')
    if osp.isdir(args.output):
        raise UserError(f'-o {args.output}: is a folder; expected a .png file name.')
    inputs = [args.input] + [g.path for g in args.generators]
    if osp.realpath(args.output) in {osp.realpath(p) for p in inputs}:
        raise UserError(f'-o {args.output}: is one of the inputs; choose another name.')
    if osp.exists(args.output) and not args.overwrite:
        raise UserError(f'-o {args.output}: exists already (use --overwrite to replace it); nothing written.')
    shared = args.shared_blocks or [None]
    return [shared[min(i, len(shared) - 1)] for i in range(len(fs))]


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


def main(argv=None):
    args = parse_args(argv)
    shared_blocks = iter(check_arguments(args))
    device = device_for(args)
    img = load_image(args.input)
    for generator in args.generators:  # every checkpoint read and checked before any network runs
        generator.net, generator.opt = load_generator(generator.path)
        choose_block(generator, next(shared_blocks) if generator.kind == 'fs' else None)
        if args.top > generator.opt['num_feat']:
            raise UserError(f'--top {args.top}: {generator.path} has {generator.opt["num_feat"]} feature channels.')
        network_input(img, generator, 'cpu')  # size check

    blocks = []
    name = osp.basename(args.input)
    for generator in args.generators:
        net = generator.net.to(device)
        features = capture(net, generator.block, network_input(img, generator, device), generator.add_input)
        generator.net = net.cpu()
        indices, scores = rank_channels(features, args.top)
        cells = [(f'#{rank + 1} ch {c}', stretch(features[c].numpy())) for rank, c in enumerate(indices)]
        captions = [f'{generator.label}: {generator.description} ({generator.block_name})',
                    f'{generator.opt["type"]}, {osp.basename(generator.path)}']
        blocks.append((captions, cells))
        print(f'{generator.label}: {generator.opt["type"]} {generator.block_name} ({generator.description}), '
              f'{features.shape[0]} channels of {features.shape[2]}×{features.shape[1]}; strongest: '
              + ', '.join(f'ch {c} ({s:.4g})' for c, s in zip(indices, scores)), flush=True)
    title = (f'{name}: the {args.top} strongest channels by mean |activation|, each stretched to its own '
             f'min..max')
    figure = render(title, blocks, args.columns, COLORMAPS[args.colormap])
    os.makedirs(osp.dirname(osp.abspath(args.output)), exist_ok=True)
    write_image(figure.image.astype(np.float32) / 255, args.output, 255)
    print(f'written to {args.output}', flush=True)


if __name__ == '__main__':
    sys.exit(run_cli(main))
