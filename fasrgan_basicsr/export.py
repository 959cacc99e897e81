"""Export a generator checkpoint for use outside this project: safetensors, ONNX, plain BasicSR ``.pth``.

    python fasrgan_basicsr/export.py -i experiments/FASRGAN_x4_DIV2K/models/net_g_latest.pth -o exported
    python fasrgan_basicsr/export.py -i net_g_latest.pth -o exported --format onnx --fp16 --opset 18

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
  layout) has no plain names: its safetensors file keeps this project's names (for ``build_network`` with
  the metadata's options; spandrel, chaiNNer, ComfyUI and BasicSR's ``RRDBNet`` cannot load it, as the
  export says), ``--format pth`` is refused, and ONNX is the way to take it elsewhere.
- ``--fp16``: also ``<name>_fp16.<format>`` (float16 weights; the fp16 ONNX graph takes and returns float16).

Each ONNX file is run once in onnxruntime against the torch network and the largest difference printed.
Existing files are never replaced unless ``--overwrite``; every file is written to a temporary name and
renamed, so an interrupted export leaves none half-written.

Exit status: 0 written; 2 bad arguments, an existing output, or a checkpoint that is not a generator of
this project (one line, nothing written).
"""
import fasrgan_basicsr  # noqa: F401  (first: makes basicsr importable, registers the plugin)

# isort: split
import argparse
import copy
import json
import os
import secrets
import sys
from os import path as osp

import torch

from fasrgan_basicsr.evaluation.generators import generator_options, load_generator, network_scale
from fasrgan_basicsr.utils.checkpoint import atomic_torch_save
from fasrgan_basicsr.utils.cli import UserError, run_cli

FORMATS = ('safetensors', 'onnx', 'pth')
PLAIN_ARCHS = ('RRDBNet', 'MSRResNet')  # BasicSR's own archs: what other tools load
DEFAULT_FORMATS = ('safetensors', 'onnx')
#: the lowest opset torch's ONNX exporter converts these generators to (it builds opset 18 and converts down)
MIN_OPSET = 17
DEFAULT_OPSET = 18
#: ``(N, C, H, W)`` of the example input the graph is traced with (N, H, W stay dynamic)
EXAMPLE_SIZE = (2, 32, 32)


def write_atomically(path, data):
    """``data`` (bytes) to a temporary file in ``path``'s folder, flushed to disk, then renamed to ``path``."""
    tmp = osp.join(osp.dirname(osp.abspath(path)), f'.{osp.basename(path)}.{secrets.token_hex(4)}.tmp')
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies, as for any new file
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def weights(net, dtype):
    """``net``'s state dict (BasicSR's plain key names) as contiguous ``dtype`` tensors."""
    return {k: v.detach().to(dtype).contiguous() for k, v in net.state_dict().items()}


def save_safetensors(net, opt, plain_opt, path, dtype=torch.float32):
    """The weights of ``net`` (plain key names) as ``dtype`` with the arch's options in the metadata."""
    from safetensors.torch import save

    tensors = weights(net, dtype)
    metadata = {'network_g': json.dumps(plain_opt)}
    if opt != plain_opt:
        metadata['trained_as'] = json.dumps(opt)
    write_atomically(path, save(tensors, metadata=metadata))


def save_onnx(net, num_in_ch, path, opset=DEFAULT_OPSET, dtype=torch.float32):
    """``net`` as an ONNX graph in ``dtype`` with dynamic batch, height and width (torch's exporter)."""
    net = copy.deepcopy(net).to(dtype).eval()
    batch, height, width = EXAMPLE_SIZE
    example = torch.rand(batch, num_in_ch, height, width, dtype=dtype)
    dims = {0: torch.export.Dim('batch'), 2: torch.export.Dim('height'), 3: torch.export.Dim('width')}
    program = torch.onnx.export(net, (example,), None, dynamo=True, input_names=['input'], output_names=['output'],
                                dynamic_shapes=(dims,), opset_version=opset, verbose=False)
    got = {entry.domain: entry.version for entry in program.model_proto.opset_import}.get('')
    if got != opset:
        raise UserError(f'--opset {opset}: torch\'s ONNX exporter could not convert this network to it (it gave '
                        f'opset {got}); use {DEFAULT_OPSET} or higher.')
    write_atomically(path, program.model_proto.SerializeToString())


def onnx_difference(path, net, num_in_ch, dtype):
    """Max abs difference between onnxruntime (CPU) running ``path`` and ``net`` (float32) on a random image."""
    import onnxruntime

    session = onnxruntime.InferenceSession(path, providers=['CPUExecutionProvider'])
    image = torch.rand(1, num_in_ch, 24, 20, generator=torch.Generator().manual_seed(0))
    result = session.run(None, {'input': image.to(dtype).numpy()})[0]
    with torch.no_grad():
        expected = net(image)
    return (torch.from_numpy(result).float() - expected).abs().max().item()


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
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
    if not plain and 'pth' in args.format:
        raise UserError(f'--format pth: {args.input} is a {opt["type"]} with layout {opt.get("layout")!r}, which '
                        f'computes no BasicSR arch, so it has no plain key names; export safetensors or onnx.')
    os.makedirs(args.output, exist_ok=True)
    print(f'{args.input}: {opt["type"]}, ×{network_scale(opt)}'
          + (f', written as {plain_opt["type"]} with {plain_opt["num_block"]} blocks' if opt != plain_opt else '')
          + ('' if plain else f' (layout {opt.get("layout")!r}: not a plain {" or ".join(PLAIN_ARCHS)}; spandrel, '
             f'chaiNNer, ComfyUI and BasicSR\'s archs cannot load its weights; the ONNX file runs anywhere)'))
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


if __name__ == '__main__':
    sys.exit(run_cli(main))
