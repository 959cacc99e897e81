"""Object recognition on super-resolved images (the paper's ResNet-50 table, after EnhanceNet).

    fasrgan-recognize --val_dir ILSVRC/Data/CLS-LOC/val \\
        --labels LOC_val_solution.csv --synsets LOC_synset_mapping.txt \\
        --method HR --method Bicubic \\
        --method FASRGAN=experiments/FASRGAN_x4_DIV2K/models/net_g_latest.pth \\
        -o results/object_recognition

The first ``--num_images`` (1000) validation images by file name are centre-cropped to 224×224 (after a
resize of the shorter side to 256), bicubic ×4 down to 56×56 (MATLAB-compatible), super-resolved ×4 by each
method, and classified by torchvision's ResNet-50 (``IMAGENET1K_V1`` weights, read by torchvision's loader
from ``$TORCH_HOME/hub/checkpoints/resnet50-0676ba61.pth``). Methods: ``HR`` (the paper's "Baseline",
the 224×224 originals), ``Bicubic``, or ``LABEL=CHECKPOINT`` (any generator of this project; the
architecture is recognised from its keys). Labels: Kaggle's ``LOC_val_solution.csv`` (WordNet IDs, class
order from ``LOC_synset_mapping.txt``) or ``<image name> <class index 0-999>`` lines.

Prints and (with ``-o``) writes ``object_recognition.md`` / ``.csv``: top-1 and top-5 error per method.
Paper (1000 images): Bicubic 0.526 / 0.277, ESRGAN 0.334 / 0.132, FASRGAN 0.323 / 0.124,
Fs-SRGAN 0.338 / 0.136, FA+Fs-SRGAN 0.337 / 0.134, Baseline 0.241 / 0.071.
"""
import fasrgan_basicsr  # noqa: F401  (first: makes basicsr importable, registers the plugin)

# isort: split
import os
import sys
from os import path as osp

import torch
from tqdm import tqdm

from fasrgan_basicsr.evaluation import imagenet
from fasrgan_basicsr.utils.cli import ArgumentParser, entry_point


def main(argv=None):
    parser = ArgumentParser(description=__doc__)
    parser.add_argument('--val_dir', required=True, help='ImageNet CLS-LOC validation images (one folder)')
    parser.add_argument('--labels', required=True, help='LOC_val_solution.csv, or "<name> <class index>" lines')
    parser.add_argument('--synsets', help='LOC_synset_mapping.txt (default: beside the labels file)')
    parser.add_argument('--method', action='append', required=True,
                        help='HR, Bicubic, or LABEL=GENERATOR_CHECKPOINT; repeat for several')
    parser.add_argument('--num_images', type=int, default=1000, help='the first N images by name (default 1000)')
    parser.add_argument('--batch_size', type=int, default=25)
    parser.add_argument('-o', '--output', help='folder for object_recognition.md / .csv')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    args = parser.parse_args(argv)
    try:
        if args.num_images <= 0 or args.batch_size <= 0:
            raise ValueError('--num_images and --batch_size must be positive.')
        labels = imagenet.read_labels(args.labels, args.synsets)
        items = imagenet.list_images(args.val_dir, labels, args.num_images)
        methods = imagenet.build_methods(args.method, args.device)
        classifier = imagenet.load_classifier(args.device)
        with tqdm(total=len(items), unit='image', file=sys.stdout) as bar:
            results = imagenet.evaluate(methods, items, classifier, args.device, args.batch_size,
                                        progress=bar.update)
    except (ValueError, FileNotFoundError) as err:  # ProtocolError and NotAGeneratorError are ValueErrors
        print(f'error: {err}', file=sys.stderr)
        return 2
    table = imagenet.render(results)
    print(f'ResNet-50 on the first {len(items)} images of {args.val_dir} (×4 bicubic down, then each method):')
    print(table)
    if args.output:
        os.makedirs(args.output, exist_ok=True)
        with open(osp.join(args.output, 'object_recognition.md'), 'w', encoding='utf-8') as f:
            f.write(table)
        with open(osp.join(args.output, 'object_recognition.csv'), 'w', encoding='utf-8') as f:
            f.write('method,top1_error,top5_error,images\n')
            f.writelines(f'{name},{r["top1"]!r},{r["top5"]!r},{r["images"]}\n' for name, r in results.items())
        print(f'wrote {osp.join(args.output, "object_recognition.md")} and object_recognition.csv')
    return 0



run = entry_point(main)

if __name__ == '__main__':
    sys.exit(run())
