"""Join the authors' released Fs-SRGAN or FA+Fs-SRGAN weights (extractor + generator files) into one generator.

    fasrgan-join-fs --extractor FsSRGAN_E.pth --generator FsSRGAN_G.pth \\
        -o experiments/pretrained_models/release/FsSRGAN_joined.pth

The release (github Rainyfish/FASRGAN-and-Fs-SRGAN) saves the shared extractor (``model_ex``, ``*_E.pth``) and the
generator (``RRDBNet_G``, ``*_G.pth``, whose input is the extractor's 64 features) as two bare state dicts in the
old ESRGAN key layout. This command checks that the two files are such a pair — and says what each file is
when they are not (swapped, a whole generator, a discriminator, halves of two different networks) — and writes
one checkpoint of this project: ``{'params': ...}`` of ``FsRRDBNet`` with ``layout: stacked``, which computes
the release's ``G(E(x))`` exactly. That file loads as any generator of this project: ``path:pretrain_network_g``
of a test option file (``options/test/authors_protocol/``), ``fasrgan-infer --model_path``, ``fasrgan-export``,
and spandrel after ``fasrgan_basicsr.interop.spandrel.install()``. The ``network_g`` options that build it are
printed.

The release's other generators need no joining: its RRDB generators (ESRGAN, FASRGAN, the PSNR models) and its
SRResNet load as they are wherever a generator checkpoint is read.

Exit status: 0 written; 2 a file is missing, unreadable or not what it should be, or the output exists (without
``--overwrite``): one line, nothing written.
"""
import fasrgan_basicsr  # noqa: F401  (first: makes basicsr importable, registers the plugin and the release layouts)

# isort: split
import sys

import yaml

from fasrgan_basicsr.generators.release_pairs import join_release_fs
from fasrgan_basicsr.utils.cli import ArgumentParser, entry_point


def main(argv=None):
    parser = ArgumentParser(description=__doc__)
    parser.add_argument('--extractor', required=True, help="the release's shared extractor file (model_ex, *_E.pth)")
    parser.add_argument('--generator', required=True, help="the release's generator file (RRDBNet_G, *_G.pth)")
    parser.add_argument('-o', '--output', required=True, help='the checkpoint to write (.pth)')
    parser.add_argument('--overwrite', action='store_true', help='replace an existing output file')
    args = parser.parse_args(argv)
    opt, net = join_release_fs(args.extractor, args.generator, args.output, args.overwrite)
    params = sum(p.numel() for p in net.parameters())
    print(f'{args.extractor} + {args.generator}: FsRRDBNet, layout stacked, E{opt["num_shared_block"]}'
          f'G{opt["num_block"]}, {opt["num_feat"]} features, {params:,} parameters')
    print('network_g:\n' + ''.join(f'  {line}\n' for line in yaml.safe_dump(opt, sort_keys=False).splitlines()),
          end='')
    print(f'wrote {args.output}')
    return 0


run = entry_point(main)

if __name__ == '__main__':
    sys.exit(run())
