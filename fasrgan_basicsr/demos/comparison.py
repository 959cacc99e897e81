"""The FASRGAN demo's result in one picture: what the L1 stage and fine-grained attention each bought.

One crop of the validation photograph, side by side: LR (nearest-neighbour enlarged) | bicubic | the L1-trained
generator | FASRGAN | HR, each tile labelled with the whole image's PSNR (Y channel, 4-pixel border cropped, as
the demo's validation) and LPIPS (AlexNet, version 0.0, the paper's), and beside them the FASRGAN discriminator's
score map ``M`` of the FASRGAN output on the same crop (mean over channels, stretched from the crop's minimum, blue,
to its maximum, red, both printed: the probability that a pixel is real, Sec. III-A of the paper).

The crop is the window where the L1 and FASRGAN outputs differ most (mean absolute difference of their grey levels,
a box filter's maximum): where the eye should look. What cannot be computed is said, never left blank: LPIPS
needs torchvision's AlexNet weights (``alexnet-owt-7be5be79.pth`` in ``$TORCH_HOME/hub/checkpoints``), which the
demo never downloads; without them its cells read ``n/a`` and the summary says why.
"""
from dataclasses import dataclass
from os import path as osp

import cv2
import numpy as np
import torch
from basicsr.metrics import calculate_psnr
from basicsr.utils import img2tensor, tensor2img

from fasrgan_basicsr.metrics.lpips_metric import ALEXNET_FILE, calculate_lpips
from fasrgan_basicsr.utils.image_files import write_image_file
from fasrgan_basicsr.utils.matlab_bicubic import matlab_bicubic_uint8
from fasrgan_basicsr.visualization.drawing import LINE, MARGIN, SMALL_SCALE, enlarge, put_text
from fasrgan_basicsr.visualization.score_map import channel_mean, score_map_probabilities
from fasrgan_basicsr.visualization.score_map_panel import COLUMN_GAP, color_bar, colorize

#: side of the HR crop shown (pixels), and its enlargement in the panel
CROP = 96
ZOOM = 2
CROP_BORDER = 4


@dataclass
class Row:
    """One method of the comparison: its name, its whole-image output (BGR uint8, HR size) and its scores."""
    name: str
    image: np.ndarray
    psnr: float | None = None
    lpips: float | None = None


def alexnet_weights():
    """Where torchvision's loader looks for the AlexNet weights that LPIPS needs (they may be absent)."""
    return osp.join(torch.hub.get_dir(), 'checkpoints', ALEXNET_FILE)


@torch.no_grad()
def super_resolve(net, lr):
    """``net`` (eval mode, CPU) on one BGR uint8 image → BGR uint8."""
    tensor = img2tensor(lr.astype(np.float32) / 255., bgr2rgb=True, float32=True).unsqueeze(0)
    return tensor2img(net(tensor).clamp(0, 1))


def score(rows, hr, lpips_ok):
    """Fill each row's PSNR (Y, border cropped) and, with ``lpips_ok``, LPIPS against ``hr``; HR itself has none."""
    for row in rows:
        if row.image is hr:
            continue
        row.psnr = float(calculate_psnr(row.image, hr, CROP_BORDER, test_y_channel=True))
        if lpips_ok:
            row.lpips = float(calculate_lpips(row.image, hr, device='cpu'))


def pick_crop(a, b, size=CROP):
    """``(top, left)`` of the ``size × size`` window where ``a`` and ``b`` (BGR uint8, same shape) differ most:
    the largest mean absolute difference of their grey levels (the first such window, scanning rows top down)."""
    h, w = a.shape[:2]
    size = min(size, h, w)
    diff = np.abs(cv2.cvtColor(a, cv2.COLOR_BGR2GRAY).astype(np.float64)
                  - cv2.cvtColor(b, cv2.COLOR_BGR2GRAY).astype(np.float64))
    window = cv2.boxFilter(diff, -1, (size, size), normalize=True, borderType=cv2.BORDER_CONSTANT)
    half = size // 2
    valid = window[half:h - size + half + 1, half:w - size + half + 1]  # centres of windows inside the image
    top, left = np.unravel_index(int(np.argmax(valid)), valid.shape)
    return int(top), int(left), size


def _label(row):
    psnr = 'PSNR -' if row.psnr is None else f'PSNR {row.psnr:.2f} dB'
    if row.psnr is None:
        lpips = 'reference'
    else:
        lpips = 'LPIPS n/a' if row.lpips is None else f'LPIPS {row.lpips:.3f}'
    return row.name, f'{psnr}, {lpips}' if row.psnr is not None else lpips


def panel(rows, score_map, crop):
    """The figure: a title line, the tiles of ``rows`` on ``crop`` (``(top, left, size)``) enlarged ×``ZOOM``, each
    with its name and scores above it, then the score map on the same crop with its colour bar. BGR uint8."""
    top, left, size = crop
    tile = size * ZOOM
    columns = len(rows) + 1
    bar = 12
    width = MARGIN * 2 + columns * tile + (columns - 1) * COLUMN_GAP + COLUMN_GAP // 2 + bar + 48
    tiles_top = MARGIN + 3 * LINE
    height = tiles_top + tile + MARGIN + LINE
    canvas = np.full((height, width, 3), 255, np.uint8)
    put_text(canvas, f'FASRGAN demo: {size}x{size} crop at ({left}, {top}) of the validation image, x{ZOOM}; '
             f'scores of the whole image', MARGIN, MARGIN + 12)
    x = MARGIN
    for row in rows:
        canvas[tiles_top:tiles_top + tile, x:x + tile] = enlarge(row.image[top:top + size, left:left + size], ZOOM)
        name, scores = _label(row)
        put_text(canvas, name, x, tiles_top - LINE - 6, SMALL_SCALE)
        put_text(canvas, scores, x, tiles_top - 6, SMALL_SCALE)
        x += tile + COLUMN_GAP
    crop_map = score_map[top:top + size, left:left + size]
    low, high = float(crop_map.min()), float(crop_map.max())
    canvas[tiles_top:tiles_top + tile, x:x + tile] = enlarge(colorize(crop_map, low, high), ZOOM)
    put_text(canvas, 'FASRGAN score map M, stretched', x, tiles_top - LINE - 6, SMALL_SCALE)
    put_text(canvas, f'mean {crop_map.mean():.3f} (0 fake, 1 real)', x, tiles_top - 6, SMALL_SCALE)
    bar_x = x + tile + COLUMN_GAP // 2
    canvas[tiles_top:tiles_top + tile, bar_x:bar_x + bar] = color_bar(tile, bar)
    put_text(canvas, f'{high:.3f}', bar_x + bar + 4, tiles_top + 10, SMALL_SCALE)
    put_text(canvas, f'{low:.3f}', bar_x + bar + 4, tiles_top + tile, SMALL_SCALE)
    put_text(canvas, 'LR: nearest-neighbour x4; bicubic: MATLAB kernel; PSNR on Y (border 4); LPIPS AlexNet v0.0, '
             'lower is better', MARGIN, height - MARGIN, SMALL_SCALE)
    return canvas


def compare(lr, hr, l1_net, fasrgan_net, net_d, scale, out_png):
    """The comparison of the demo's validation pair (BGR uint8 ``lr``, ``hr``): writes ``out_png`` and returns
    ``(rows, lpips_note)``: the rows in panel order and, when LPIPS could not be computed, why (else None)."""
    rows = [Row('LR (nearest)', enlarge(lr, scale)), Row('bicubic', matlab_bicubic_uint8(lr, scale)),
            Row('L1 stage', super_resolve(l1_net, lr)), Row('FASRGAN', super_resolve(fasrgan_net, lr)), Row('HR', hr)]
    for row in rows:
        if row.image.shape != hr.shape:
            raise ValueError(f'{row.name}: {row.image.shape} is not the HR shape {hr.shape}')
    weights = alexnet_weights()
    present = osp.isfile(weights)
    note = None if present else (f'LPIPS n/a: torchvision\'s AlexNet weights are not on this machine ({weights}); '
                                 'put them there to see it (the demo downloads nothing)')
    score(rows, hr, lpips_ok=present)
    sr = img2tensor(rows[3].image.astype(np.float32) / 255., bgr2rgb=True, float32=True).unsqueeze(0)
    score_map = channel_mean(score_map_probabilities(net_d, sr)[0])
    crop = pick_crop(rows[2].image, rows[3].image)
    write_image_file(out_png, panel(rows, score_map, crop))
    return rows, note


def summary_table(rows):
    """The rows as a Markdown table (PSNR, LPIPS; ``n/a`` where not computed)."""
    lines = ['| method | PSNR (Y) | LPIPS |', '|---|---|---|']
    for row in rows:
        if row.psnr is None:
            continue
        lpips = 'n/a' if row.lpips is None else f'{row.lpips:.4f}'
        lines.append(f'| {row.name} | {row.psnr:.2f} dB | {lpips} |')
    return '\n'.join(lines)
