"""Export a generator checkpoint for use outside this project: safetensors, ONNX, plain BasicSR ``.pth``.

    fasrgan-export -i experiments/FASRGAN_x4_DIV2K/models/net_g_latest.pth -o exported
    fasrgan-export -i net_g_latest.pth -o exported --format onnx --fp16 --opset 18

(``python -m fasrgan_basicsr.cli.export`` is the same command.)

The checkpoint is read by the project's loader (weights only; ``params_ema`` when present) and its
architecture recognised from its keys, as ``inference.py`` does. Written into the output folder, named
after the checkpoint (``-n`` to choose another name):

- ``<name>.safetensors``: the weights under BasicSR's plain key names (what ``RRDBNet`` / ``MSRResNet``
  load with ``strict=True``; spandrel, chaiNNer and ComfyUI read them); the metadata key ``network_g``
  holds the options that build that arch (JSON, for ``basicsr.archs.build_network``), and
  ``trained_as`` the generator's own options where they differ (a feature-sharing generator).
- ``<name>.onnx``: the network as an ONNX graph (float32). Input ``input`` ``(N, C, H, W)`` RGB in
  [0, 1]; output ``output`` ``(N, C, s·H, s·W)``, not clamped; N, H and W are dynamic.
- ``<name>.pth`` (``--format pth``, not written by default): ``{'params': <the same weights>}``, a
  BasicSR checkpoint with plain key names; what a feature-sharing checkpoint written before plain names
  (``extractor.*`` keys) needs for tools that do not know this project.
- A generator that computes no BasicSR arch (``FsRRDBNet`` with ``layout: stacked``, the authors' release
  layout, e.g. a pair joined by ``fasrgan-join-fs``; ``ReleaseSRResNet``, the release's SRResNet) has no plain
  names: its safetensors file keeps this project's names (for ``build_network`` with the metadata's options,
  and for spandrel once ``fasrgan_basicsr.interop.spandrel.install()`` has run; chaiNNer, ComfyUI and BasicSR's
  archs cannot load it, as the export says), ``--format pth`` is refused, and ONNX is the way to take it
  elsewhere.
- The authors' release checkpoints (old ESRGAN key layout) are read like this project's: an RRDB generator is
  written as BasicSR's ``RRDBNet``.
- ``--fp16``: also ``<name>_fp16.<format>`` (float16 weights; the fp16 ONNX graph takes and returns float16).
- A model card (``--no_card`` to skip it; :mod:`fasrgan_basicsr.interop.model_card`): ``<name>.json``, OpenModelDB's
  model fields (architecture, size, scale, channels, the ``.pth``/``.onnx`` files with their SHA-256, training
  iterations, batch size, HR size, whether degradations were on the fly, dataset and its size, ``--license``) and,
  under ``fasrgan_basicsr``, the option file's name and SHA-256 and where each fact came from; ``<name>.md``, the
  same facts and the example; ``<name>_example.png`` (input enlarged | SR | reference) with its input and output
  tiles ``<name>_example_lr.png`` / ``_sr.png`` (the JSON's ``images``). The training facts come from the
  checkpoint's run, when it lies in ``experiments/<name>/models/`` beside BasicSR's copy of the option file and the
  training log; a generator from elsewhere gets what its weights say, the rest left empty. The safetensors file
  carries the same JSON in its metadata (``model_card``).

Each ONNX file is run once in onnxruntime against the torch network and the largest difference printed.
Existing files are never replaced unless ``--overwrite``; every file is written to a temporary name and
renamed, so an interrupted export leaves none half-written.

Exit status: 0 written; 2 bad arguments, an existing output, or a checkpoint that is not a generator of
this project (one line, nothing written).
"""
import fasrgan_basicsr  # noqa: F401  (first: makes basicsr importable, registers the plugin)

# isort: split
import argparse
import os
import sys
from os import path as osp

import torch

from fasrgan_basicsr.generators.loading import generator_options, load_generator, network_scale
from fasrgan_basicsr.interop.export import (
    DEFAULT_FORMATS,
    DEFAULT_OPSET,
    FORMATS,
    MIN_OPSET,
    PLAIN_ARCHS,
    onnx_difference,
    save_onnx,
    save_safetensors,
    weights,
)
from fasrgan_basicsr.interop.model_card import (
    check_license,
    example_images,
    example_panel,
    markdown_card,
    model_card,
    write_json,
    write_png,
)
from fasrgan_basicsr.utils.checkpoint import atomic_torch_save
from fasrgan_basicsr.utils.cli import ArgumentParser, entry_point
from fasrgan_basicsr.utils.errors import UserError
from fasrgan_basicsr.utils.files import atomic_write_bytes, regular_file_problem


def parse_args(argv=None):
    parser = ArgumentParser(description=__doc__)
    parser.add_argument('-i', '--input', required=True, help='generator checkpoint (net_g_*.pth)')
    parser.add_argument('-o', '--output', required=True, help='output folder (created if missing)')
    parser.add_argument('-n', '--name', help='file name without extension (default: the checkpoint\'s)')
    parser.add_argument('--format', nargs='+', choices=FORMATS, default=list(DEFAULT_FORMATS),
                        help=f'what to write (default: {" ".join(DEFAULT_FORMATS)})')
    parser.add_argument('--fp16', action='store_true', help='also write float16 copies')
    parser.add_argument('--opset', type=int, default=DEFAULT_OPSET,
                        help=f'ONNX operator set (default {DEFAULT_OPSET}, at least {MIN_OPSET})')
    parser.add_argument('--overwrite', action='store_true', help='replace existing output files')
    parser.add_argument('--license', type=_license, default=None, metavar='SPDX',
                        help='the licence you publish the weights under, an SPDX identifier or expression (MIT, '
                        'CC-BY-4.0, CC-BY-NC-SA-4.0, ...): the card\'s "license" (default: left empty)')
    parser.add_argument('--no_card', action='store_true', help='write no model card (<name>.json, <name>.md, '
                        '<name>_example*.png)')
    parser.add_argument('--example', metavar='IMAGE', default=None,
                        help='the card\'s example input (its central 64×64 at most; default: a crop of scikit-image\'s '
                        'chelsea shrunk by the scale)')
    args = parser.parse_args(argv)
    if args.no_card and (args.example or args.license):
        parser.error(f'--no_card: {"--example" if args.example else "--license"} is for the card; drop one of them.')
    if args.opset < MIN_OPSET:
        parser.error(f'--opset {args.opset}: torch\'s ONNX exporter writes opset {MIN_OPSET} or higher.')
    return args


def _license(text):
    try:
        return check_license(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


CARD_SUFFIXES = ('.json', '.md', '_example.png', '_example_lr.png', '_example_sr.png')


def targets(args):
    """``[(format, dtype, path)]`` to write; refused if one exists (without ``--overwrite``) or is the input."""
    if osp.exists(args.output) and not osp.isdir(args.output):
        raise UserError(f'-o {args.output}: is a file; expected a folder.')
    name = args.name or osp.splitext(osp.basename(args.input))[0]
    dtypes = [(torch.float32, '')] + ([(torch.float16, '_fp16')] if args.fp16 else [])
    planned = [(fmt, dtype, osp.join(args.output, f'{name}{suffix}.{fmt}')) for fmt in FORMATS if fmt in args.format
               for dtype, suffix in dtypes]
    card = [] if args.no_card else [(None, None, osp.join(args.output, f'{name}{s}')) for s in CARD_SUFFIXES]
    for _, _, path in planned + card:
        if osp.exists(path) and osp.exists(args.input) and osp.samefile(path, args.input):
            raise UserError(f'{path}: is the input checkpoint; choose another -o or -n.')
        if osp.exists(path) and not args.overwrite:
            raise UserError(f'{path}: exists; pass --overwrite to replace it.')
    problem = args.example is not None and regular_file_problem(args.example, 'file to read as an image')
    if problem:  # missing, or a pipe or a device that would block or never end
        raise UserError(f'--example {problem}')
    return planned


def main(argv=None):
    args = parse_args(argv)
    planned = targets(args)
    net, opt = load_generator(args.input)
    plain_opt = generator_options(net.state_dict(), path=args.input)  # an Fs generator writes the plain arch
    plain = plain_opt['type'] in PLAIN_ARCHS
    what = f'{opt["type"]}' + (f' with layout {opt["layout"]!r}' if opt.get('layout') else '')
    if not plain and 'pth' in args.format:
        raise UserError(f'--format pth: {args.input} is a {what}, which computes no BasicSR arch, so it has no plain '
                        'key names; export safetensors or onnx.')
    example = None if args.no_card else read_example(args.example, network_scale(opt))
    os.makedirs(args.output, exist_ok=True)
    layout = f'layout {opt["layout"]!r}: ' if opt.get('layout') else ''
    print(f'{args.input}: {opt["type"]}, ×{network_scale(opt)}'
          + (f', written as {plain_opt["type"]} with {plain_opt["num_block"]} blocks' if opt != plain_opt else '')
          + ('' if plain else f' ({layout}not a plain {" or ".join(PLAIN_ARCHS)}; BasicSR\'s archs, chaiNNer and '
             'ComfyUI cannot load its weights, spandrel can once fasrgan_basicsr.interop.spandrel.install() has run; '
             'the ONNX file runs anywhere)'))
    # safetensors last: it carries the card, which lists the .pth and .onnx files with their SHA-256
    planned = sorted(planned, key=lambda item: item[0] == 'safetensors')
    card = None
    for fmt, dtype, path in planned:
        precision = 'float16' if dtype == torch.float16 else 'float32'
        if fmt == 'safetensors':
            if card is None and not args.no_card:
                card, images = make_card(args, net, opt, plain_opt, [p for f, _, p in planned if f != 'safetensors'],
                                         example)
            save_safetensors(net, opt, plain_opt, path, dtype, card=card)
            names = f'BasicSR {plain_opt["type"]} key names' if plain else \
                f'this project\'s {opt["type"]} key names; build it from the metadata\'s network_g'
            print(f'wrote {path} ({precision} weights, {names})')
        elif fmt == 'pth':
            atomic_torch_save({'params': weights(net, dtype)}, path)
            print(f'wrote {path} ({precision} weights under "params", BasicSR {plain_opt["type"]} key names)')
        else:
            save_onnx(net, plain_opt['num_in_ch'], path, args.opset, dtype)
            diff = onnx_difference(path, net, plain_opt['num_in_ch'], dtype)
            print(f'wrote {path} (ONNX opset {args.opset}, {precision}; onnxruntime vs torch on a random '
                  f'24×20 image: max |difference| {diff:.2e})')
    if not args.no_card:
        if card is None:
            card, images = make_card(args, net, opt, plain_opt, [p for _, _, p in planned], example)
        write_card(args, card, images, [p for _, _, p in planned])


def read_example(path, scale):
    """The card's example input (RGB uint8, its central 64×64 at most), or None for the default photograph."""
    if path is None:
        return None
    import cv2
    import numpy as np
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise UserError(f'--example {path}: not a readable image (OpenCV cannot decode it).')
    h, w = img.shape[:2]
    top, left = max(0, (h - 64) // 2), max(0, (w - 64) // 2)
    return np.ascontiguousarray(cv2.cvtColor(img[top:top + 64, left:left + 64], cv2.COLOR_BGR2RGB))


def card_paths(args):
    name = args.name or osp.splitext(osp.basename(args.input))[0]
    return {suffix: osp.join(args.output, f'{name}{suffix}') for suffix in CARD_SUFFIXES}


def make_card(args, net, opt, plain_opt, written, example):
    """The card (a dict of OpenModelDB's fields) and the example's images ``(lr, sr, hr)`` (None: no example)."""
    paths = card_paths(args)
    images = None
    if plain_opt.get('num_in_ch', 3) == 3 and plain_opt.get('num_out_ch', 3) == 3:
        images = example_images(net, network_scale(opt), example)
    listed = [{'type': 'paired', 'LR': osp.basename(paths['_example_lr.png']),
               'SR': osp.basename(paths['_example_sr.png'])}] if images else []
    n_params = sum(p.numel() for p in net.parameters())
    card = model_card(args.input, plain_opt, opt, n_params, written, license=args.license, images=listed)
    return card, images


def write_card(args, card, images, written):
    paths = card_paths(args)
    figure = None
    if images:
        lr, sr, hr = images
        write_png(paths['_example_lr.png'], lr)
        write_png(paths['_example_sr.png'], sr)
        write_png(paths['_example.png'], example_panel(lr, sr, hr, card['scale']))
        source = 'your --example image' if args.example else 'a crop of scikit-image\'s chelsea shrunk ×' + \
            str(card['scale'])
        figure = {'file': osp.basename(paths['_example.png']),
                  'caption': f'Input ({source}) enlarged ×{card["scale"]} with nearest neighbour | the model\'s '
                             f'output' + (' | the reference crop' if hr is not None else '')}
    write_json(paths['.json'], card)
    files = written + ([paths[s] for s in ('_example.png', '_example_lr.png', '_example_sr.png')] if images else [])
    atomic_write_bytes(paths['.md'], markdown_card(card, files, figure).encode('utf-8'))
    known = [k for k in ('trainingIterations', 'trainingBatchSize', 'trainingHRSize', 'trainingOTF', 'dataset')
             if card[k] is not None]
    print(f'wrote {paths[".json"]} and {paths[".md"]} (model card: '
          + (f'{", ".join(known)} from the run\'s option file {card["fasrgan_basicsr"]["optionFile"]}'
             if card['fasrgan_basicsr']['optionFile'] else 'no training run beside the checkpoint; the training '
             'fields are left empty') + f'; license {card["license"] or "not given (--license)"})')



run = entry_point(main)

if __name__ == '__main__':
    sys.exit(run())
