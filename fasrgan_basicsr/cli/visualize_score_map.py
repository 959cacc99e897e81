"""Show what the discriminator attends to: the score map of super-resolved images (the paper's attention figure).

    fasrgan-score-map -opt options/train_FASRGAN_x4.yml \
        --net_g experiments/FASRGAN_x4_DIV2K/models/net_g_latest.pth \
        --net_d experiments/FASRGAN_x4_DIV2K/models/net_d_latest.pth \
        -i LR_IMAGE_OR_DIR -o OUT_DIR [--hr HR_DIR] [--normalize]

The networks are built from the training option file's ``network_g`` / ``network_d``; the discriminator
must compute a score map (``UNetDiscriminatorFA``: FASRGAN, SRGAN_FA, FA+Fs-SRGAN). One that reads features
(``network_d.num_in_ch`` ≠ 3: FA+Fs-SRGAN) scores ``E(SR)``, the features of the generator's shared extractor
``net_g.extractor`` — or of the discriminator's own extractor when its checkpoint holds one
(``params_extractor``, the woFs ablation).

For each LR image ``<name>`` it writes into OUT_DIR:

- ``<name>_sr.png``: the SR image;
- ``<name>_score_map.png``: ``M = sigmoid(map logits)`` (mean over channels) on the absolute scale 0..1 (JET:
  red = judged real, blue = judged fake, i.e. where the attention loss weighs the L1 most), with a colour bar,
  the map's min/max/mean and a title saying which run, which iteration (from the checkpoint names,
  ``net_d_<iter>.pth``) and which image;
- ``<name>_score_map_norm.png`` (``--normalize``): the same map stretched to its own min..max, for maps whose
  values span a narrow band;
- ``<name>_panel.png``: ``[HR |] SR | M [| M stretched]`` side by side; the HR image comes from ``--hr DIR``,
  matched by name (``<name>.*``, or ``<name>`` less a trailing ``x4``/``_x4``/``-x4`` of the LR name).

Small images are enlarged for display with nearest neighbour. Every problem with the inputs (option file,
checkpoints, images, HR pairs, outputs that exist or would replace an input) is one line and exit status 2
before anything is written.
"""
import fasrgan_basicsr  # noqa: F401  (first: makes basicsr importable, registers the plugin)

# isort: split
import sys

from basicsr.utils.registry import ARCH_REGISTRY

from fasrgan_basicsr.evaluation.score_map_viewer import (
    build,
    discriminator_extractor,
    image_size,
    match_hr,
    network_option,
    output_kinds,
    plan_outputs,
    run_title,
    write_score_maps,
)
from fasrgan_basicsr.generators.devices import resolve_device
from fasrgan_basicsr.utils.checkpoint import load_network
from fasrgan_basicsr.utils.cli import ArgumentParser, entry_point
from fasrgan_basicsr.utils.errors import UserError
from fasrgan_basicsr.utils.image_files import list_image_files
from fasrgan_basicsr.utils.option_file import read_option_file
from fasrgan_basicsr.visualization.score_map import has_score_map


def parse_args(argv=None):
    parser = ArgumentParser(description=__doc__)
    parser.add_argument('-opt', required=True, help='training option file (name, scale, network_g, network_d)')
    parser.add_argument('--net_g', required=True, help='generator checkpoint (params_ema used when present)')
    parser.add_argument('--net_d', required=True, help='discriminator checkpoint')
    parser.add_argument('-i', '--input', required=True, help='LR image or folder of LR images')
    parser.add_argument('-o', '--output', required=True, help='output folder')
    parser.add_argument('--hr', default=None, help='folder of the HR images, matched by name: adds HR to the panel')
    parser.add_argument('--normalize', action='store_true',
                        help='also write the map stretched to its own min..max (beside the absolute scale)')
    parser.add_argument('--overwrite', action='store_true', help='replace existing outputs (never an input)')
    parser.add_argument('--device', default=None, help='torch device (default: cuda when available, else cpu)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    opt = read_option_file(args.opt)
    g_opt = network_option(opt, 'network_g', args.opt)
    d_opt = network_option(opt, 'network_d', args.opt)
    if not has_score_map(ARCH_REGISTRY.get(d_opt['type'])):
        raise UserError(f'{args.opt}: network_d {d_opt["type"]} has no score map, so there is nothing to show; the '
                        'viewer needs a fine-grained-attention discriminator (UNetDiscriminatorFA: FASRGAN, SRGAN_FA, '
                        'FA+Fs-SRGAN).')
    device = resolve_device(args.device)
    lr_paths = list_image_files(args.input)
    scale = opt.get('scale', g_opt.get('scale', 4))
    hr_paths = match_hr(lr_paths, args.hr, scale) if args.hr else None
    for path in lr_paths:
        image_size(path, '-i')
    inputs = lr_paths + list((hr_paths or {}).values())
    plans = plan_outputs(args.output, lr_paths, inputs, output_kinds(args.normalize), args.overwrite)
    net_g = load_network(build(g_opt, 'network_g', args.opt), args.net_g)
    net_d = load_network(build(d_opt, 'network_d', args.opt), args.net_d, param_keys=('params',))
    extractor = discriminator_extractor(net_g, d_opt, args.net_d)
    write_score_maps(net_g, net_d, lr_paths, plans, run_title(opt, args.opt, args.net_g, args.net_d), device,
                     extractor, hr_paths, args.normalize)



run = entry_point(main)

if __name__ == '__main__':
    sys.exit(run())
