"""Write the discriminator's score map of super-resolved images as heat-maps (the paper's attention figure).

    python fasrgan_basicsr/visualize_score_map.py -opt options/train_FASRGAN_x4.yml \
        --net_g experiments/FASRGAN_x4_DIV2K/models/net_g_latest.pth \
        --net_d experiments/FASRGAN_x4_DIV2K/models/net_d_latest.pth \
        -i LR_IMAGE_OR_DIR -o OUT_DIR

    python fasrgan_basicsr/visualize_score_map.py -opt options/train_FAFsSRGAN_x4.yml \
        --net_g experiments/FAFsSRGAN_x4_DIV2K/models/net_g_latest.pth \
        --net_d experiments/FAFsSRGAN_x4_DIV2K/models/net_d_latest.pth -i LR_IMAGE_OR_DIR -o OUT_DIR

The networks are built from the training option file's ``network_g`` / ``network_d``. A discriminator
that reads features (``network_d.num_in_ch`` ≠ the image's channels: FA+Fs-SRGAN) scores
``E(SR)``, the features of the generator's shared extractor ``net_g.extractor`` — or of the
discriminator's own extractor when its checkpoint holds one (``params_extractor``, the woFs
ablation). For each LR image it writes ``<name>_sr.png``, ``<name>_score_map.png`` (the mean over channels of
``M = sigmoid(map logits)``, JET colours: red = judged real, blue = judged fake, i.e. where the
attention loss weighs most) and ``<name>_panel.png`` (the two side by side).
"""
import fasrgan_basicsr  # noqa: F401  (first: makes basicsr importable, registers the plugin)

# isort: split
import argparse
import copy
import os
from os import path as osp

import cv2
import numpy as np
import torch
import yaml
from basicsr.archs import build_network
from basicsr.utils import img2tensor, tensor2img

from fasrgan_basicsr.utils.checkpoint import load_network, load_state_dict

IMG_EXTS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp')


def list_images(path):
    if osp.isdir(path):
        return sorted(osp.join(path, f) for f in os.listdir(path) if f.lower().endswith(IMG_EXTS))
    return [path]


@torch.no_grad()
def score_map(net_d, img, extractor=None):
    """Score-map probabilities ``(B, C, H, W)`` of an image batch of any size.

    The image is reflect-padded to multiples of 8; a feature-reading discriminator gets
    ``extractor(padded image)`` (``(B, num_feat, H', W')``, size-preserving) instead of the image.
    """
    h, w = img.shape[-2:]
    padded = torch.nn.functional.pad(img, (0, -w % 8, 0, -h % 8), mode='reflect')
    if extractor is not None:
        padded = extractor(padded)
    return torch.sigmoid(net_d.score_map(padded))[..., :h, :w]


def heatmap(prob):
    """``(C, H, W)`` probabilities → BGR uint8 JET heat-map of their channel mean."""
    gray = np.clip(prob.mean(0).cpu().numpy() * 255 + 0.5, 0, 255).astype(np.uint8)
    return cv2.applyColorMap(gray, cv2.COLORMAP_JET)


def write_score_maps(net_g, net_d, lr_paths, out_dir, device='cpu', extractor=None):
    """Super-resolve each LR image and write its SR, score map and side-by-side panel; returns the panel paths.

    ``extractor``: the feature extractor a feature-reading discriminator scores (see :func:`score_map`).
    """
    os.makedirs(out_dir, exist_ok=True)
    net_g.eval().to(device)
    net_d.eval().to(device)
    if extractor is not None:
        extractor.eval().to(device)
    panels = []
    for path in lr_paths:
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        if img is None:
            raise ValueError(f'{path}: not a readable image.')
        lr = img2tensor(img.astype(np.float32) / 255., bgr2rgb=True, float32=True).unsqueeze(0).to(device)
        with torch.no_grad():
            sr = net_g(lr).clamp(0, 1)
        sr_img = tensor2img(sr)
        heat = heatmap(score_map(net_d, sr, extractor)[0])
        name = osp.splitext(osp.basename(path))[0]
        cv2.imwrite(osp.join(out_dir, f'{name}_sr.png'), sr_img)
        cv2.imwrite(osp.join(out_dir, f'{name}_score_map.png'), heat)
        panels.append(osp.join(out_dir, f'{name}_panel.png'))
        cv2.imwrite(panels[-1], np.concatenate([sr_img, heat], axis=1))
    return panels


def discriminator_extractor(net_g, net_d_opt, net_d_path, image_channels=3):
    """The module whose features a feature-reading discriminator scores, or None when it reads images.

    The discriminator's own extractor when its checkpoint holds ``params_extractor`` (woFs), else the
    generator's shared ``extractor`` (FA+Fs-SRGAN, Fs-SRGAN).
    """
    if net_d_opt.get('num_in_ch', image_channels) == image_channels:
        return None
    extractor = getattr(net_g, 'extractor', None)
    if extractor is None:
        raise ValueError(f'network_d reads {net_d_opt["num_in_ch"]}-channel features, but the generator '
                         f'{type(net_g).__name__} has no shared extractor (expected FsRRDBNet or FsMSRResNet).')
    try:
        own = load_state_dict(net_d_path, ('params_extractor',))
    except ValueError:
        own = None
    if own is not None and set(own) == set(extractor.state_dict()):
        extractor = copy.deepcopy(extractor)
        extractor.load_state_dict(own)
    return extractor


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('-opt', required=True, help='training option file (network_g and network_d)')
    parser.add_argument('--net_g', required=True, help='generator checkpoint (params_ema used when present)')
    parser.add_argument('--net_d', required=True, help='discriminator checkpoint')
    parser.add_argument('-i', '--input', required=True, help='LR image or folder of LR images')
    parser.add_argument('-o', '--output', required=True, help='output folder')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    args = parser.parse_args()
    with open(args.opt) as f:
        opt = yaml.safe_load(f)
    net_g = load_network(build_network(opt['network_g']), args.net_g)
    net_d = load_network(build_network(opt['network_d']), args.net_d, param_keys=('params',))
    extractor = discriminator_extractor(net_g, opt['network_d'], args.net_d)
    for panel in write_score_maps(net_g, net_d, list_images(args.input), args.output, args.device, extractor):
        print(panel)


if __name__ == '__main__':
    main()
