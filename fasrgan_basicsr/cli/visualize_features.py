"""Feature maps of generators for one image, side by side (the paper's feature-visualisation figure).

    fasrgan-features -i img_063.png -o features.png \
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
from os import path as osp

import numpy as np

from fasrgan_basicsr.evaluation.feature_maps import (
    COLORMAPS,
    Generator,
    choose_block,
    feature_block,
    load_image,
    network_input,
    render,
)
from fasrgan_basicsr.generators.devices import resolve_device
from fasrgan_basicsr.generators.image_io import write_image
from fasrgan_basicsr.generators.loading import load_generator
from fasrgan_basicsr.utils.cli import ArgumentParser, entry_point
from fasrgan_basicsr.utils.errors import UserError


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


def parse_args(argv=None):
    parser = ArgumentParser(description=__doc__)
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


def main(argv=None):
    args = parse_args(argv)
    shared_blocks = iter(check_arguments(args))
    device = resolve_device(args.device, args.gpu_id)
    img = load_image(args.input)
    for generator in args.generators:  # every checkpoint read and checked before any network runs
        generator.net, generator.opt = load_generator(generator.path)
        choose_block(generator, next(shared_blocks) if generator.kind == 'fs' else None)
        if args.top > generator.opt['num_feat']:
            raise UserError(f'--top {args.top}: {generator.path} has {generator.opt["num_feat"]} feature channels.')
        network_input(img, generator, 'cpu')  # size check

    blocks = []
    for generator in args.generators:
        captions, cells, summary = feature_block(generator, img, device, args.top)
        blocks.append((captions, cells))
        print(summary, flush=True)
    title = (f'{osp.basename(args.input)}: the {args.top} strongest channels by mean |activation|, each stretched '
             'to its own min..max')
    figure = render(title, blocks, args.columns, COLORMAPS[args.colormap])
    os.makedirs(osp.dirname(osp.abspath(args.output)), exist_ok=True)
    write_image(figure.image.astype(np.float32) / 255, args.output, 255)
    print(f'written to {args.output}', flush=True)



run = entry_point(main)

if __name__ == '__main__':
    sys.exit(run())
