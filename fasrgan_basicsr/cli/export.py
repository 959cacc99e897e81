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

Each ONNX file is run once in onnxruntime against the torch network and the largest difference printed.
Existing files are never replaced unless ``--overwrite``; every file is written to a temporary name and
renamed, so an interrupted export leaves none half-written.

Exit status: 0 written; 2 bad arguments, an existing output, or a checkpoint that is not a generator of
this project (one line, nothing written).
"""
import fasrgan_basicsr  # noqa: F401  (first: makes basicsr importable, registers the plugin)

# isort: split
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
from fasrgan_basicsr.utils.checkpoint import atomic_torch_save
from fasrgan_basicsr.utils.cli import ArgumentParser, entry_point
from fasrgan_basicsr.utils.errors import UserError


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
    args = parser.parse_args(argv)
    if args.opset < MIN_OPSET:
        parser.error(f'--opset {args.opset}: torch\'s ONNX exporter writes opset {MIN_OPSET} or higher.')
    return args


def targets(args):
    """``[(format, dtype, path)]`` to write; refused if one exists (without ``--overwrite``) or is the input."""
    if osp.exists(args.output) and not osp.isdir(args.output):
        raise UserError(f'-o {args.output}: is a file; expected a folder.')
    name = args.name or osp.splitext(osp.basename(args.input))[0]
    dtypes = [(torch.float32, '')] + ([(torch.float16, '_fp16')] if args.fp16 else [])
    planned = [(fmt, dtype, osp.join(args.output, f'{name}{suffix}.{fmt}')) for fmt in FORMATS if fmt in args.format
               for dtype, suffix in dtypes]
    for _, _, path in planned:
        if osp.exists(path) and osp.exists(args.input) and osp.samefile(path, args.input):
            raise UserError(f'{path}: is the input checkpoint; choose another -o or -n.')
        if osp.exists(path) and not args.overwrite:
            raise UserError(f'{path}: exists; pass --overwrite to replace it.')
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
    os.makedirs(args.output, exist_ok=True)
    layout = f'layout {opt["layout"]!r}: ' if opt.get('layout') else ''
    print(f'{args.input}: {opt["type"]}, ×{network_scale(opt)}'
          + (f', written as {plain_opt["type"]} with {plain_opt["num_block"]} blocks' if opt != plain_opt else '')
          + ('' if plain else f' ({layout}not a plain {" or ".join(PLAIN_ARCHS)}; BasicSR\'s archs, chaiNNer and '
             'ComfyUI cannot load its weights, spandrel can once fasrgan_basicsr.interop.spandrel.install() has run; '
             'the ONNX file runs anywhere)'))
    for fmt, dtype, path in planned:
        precision = 'float16' if dtype == torch.float16 else 'float32'
        if fmt == 'safetensors':
            save_safetensors(net, opt, plain_opt, path, dtype)
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



run = entry_point(main)

if __name__ == '__main__':
    sys.exit(run())
