"""Convert a feature-sharing generator checkpoint to plain BasicSR weights.

    python fasrgan_basicsr/convert_fs_generator.py -i experiments/FsSRGAN_x4_DIV2K/models/net_g_latest.pth \
        -o experiments/pretrained_models/FsSRGAN_as_RRDBNet_x4.pth

An ``FsRRDBNet`` (extractor of E RRDBs, deep part of G RRDBs, long skip from the extractor's first
conv) computes exactly BasicSR's ``RRDBNet`` with E + G blocks, and an ``FsMSRResNet`` exactly
``MSRResNet``: the conversion only renames keys (``extractor.conv_first`` → ``conv_first``,
``extractor.body.i`` → ``body.i``, ``body.j`` → ``body.(E + j)``). Every parameter set in the file
(``params``, ``params_ema``) is converted; the result loads with ``strict=True`` wherever ESRGAN
(or MSRResNet) weights load.
"""
import fasrgan_basicsr  # noqa: F401  (first: makes basicsr importable)

# isort: split
import argparse
import os
import tempfile

import torch

from fasrgan_basicsr.archs.fs_split import to_plain_state_dict


def convert_checkpoint(src, dst, overwrite=False):
    """Convert every parameter set of ``src`` and write ``dst`` atomically. Returns the block count."""
    if os.path.exists(dst) and not overwrite:
        raise FileExistsError(f'{dst} exists; pass --overwrite to replace it.')
    try:
        ckpt = torch.load(src, map_location='cpu', weights_only=True)
    except Exception as err:
        raise ValueError(f'{src}: not a readable weights-only checkpoint ({err}).') from err
    sets = {k: v for k, v in ckpt.items() if k in ('params', 'params_ema')} or {'params': ckpt}
    try:
        converted = {k: to_plain_state_dict(v) for k, v in sets.items()}
    except ValueError as err:
        raise ValueError(f'{src}: {err}') from err
    os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(dst)), suffix='.tmp')
    os.close(fd)
    try:
        torch.save(converted, tmp)
        os.replace(tmp, dst)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    first = next(iter(converted.values()))
    return len({int(k.split('.')[1]) for k in first if k.startswith('body.')})


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('-i', '--input', required=True, help='FsRRDBNet / FsMSRResNet checkpoint')
    parser.add_argument('-o', '--output', required=True, help='where to write the plain BasicSR checkpoint')
    parser.add_argument('--overwrite', action='store_true', help='replace an existing output file')
    args = parser.parse_args()
    try:
        blocks = convert_checkpoint(args.input, args.output, args.overwrite)
    except (ValueError, FileExistsError) as err:
        parser.exit(2, f'error: {err}\n')
    print(f'{args.output}: plain weights with {blocks} blocks (network_g num_block: {blocks}).')


if __name__ == '__main__':
    main()
