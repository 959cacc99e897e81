"""The paper's object-recognition protocol (after EnhanceNet): ResNet-50 top-1/top-5 error on the first 1000
ImageNet CLS-LOC validation images, bicubic ×4 down then super-resolved.

For each image (file names sorted, the first ``num_images`` kept):

1. HR: shorter side resized to 256 (bilinear, antialiased), centre crop 224×224 — torchvision's ResNet-50
   evaluation transform, as uint8 RGB (the paper does not give the crop; this is the classifier's own);
2. LR: MATLAB-compatible bicubic ×1/4 of the HR (BasicSR's ``imresize``), 56×56, quantised to uint8;
3. SR: the method's ×4 output of the LR, clamped and quantised to uint8 (what a saved image holds);
4. ResNet-50 (torchvision, ``ResNet50_Weights.IMAGENET1K_V1``) on the normalised 224×224 image.

"HR" (the paper's "Baseline") classifies step 1 directly. Errors are the fractions of images whose label
is not the top-1 / not among the top-5 classes. Class indices are torchvision's (sorted WordNet IDs).
"""
import csv
import os
import re
from os import path as osp

import cv2
import numpy as np
import torch
from basicsr.utils.matlab_functions import imresize

from fasrgan_basicsr.generators.loading import NotAGeneratorError, load_generator, network_scale
from fasrgan_basicsr.utils.checkpoint import weights_only_loading

IMG_EXTS = ('.jpeg', '.jpg', '.png', '.bmp')
WNID = re.compile(r'^n\d{8}$')
RESNET50_FILE = 'resnet50-0676ba61.pth'
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


class ProtocolError(ValueError):
    """Bad ImageNet folder, labels or weights (message names the file and what was expected)."""


def load_classifier(device='cpu'):
    """torchvision's ResNet-50 with ``IMAGENET1K_V1`` weights through its own loader (eval mode).

    The loader reads ``$TORCH_HOME/hub/checkpoints/resnet50-0676ba61.pth`` and downloads it only when absent.
    """
    from torchvision.models import ResNet50_Weights, resnet50

    try:
        with weights_only_loading():  # torchvision's loader passes weights_only=False
            model = resnet50(weights=ResNet50_Weights.IMAGENET1K_V1)
    except Exception as err:  # offline and not cached, or a corrupt file
        raise ProtocolError(f'cannot load ResNet-50 weights ({type(err).__name__}: {err}); put {RESNET50_FILE} '
                            f'({ResNet50_Weights.IMAGENET1K_V1.url}) in {torch.hub.get_dir()}/checkpoints/ '
                            f'(set TORCH_HOME to move it).') from err
    return model.eval().to(device)


def read_synsets(path):
    """WordNet IDs in class-index order from ``LOC_synset_mapping.txt`` (``n01440764 tench, ...``) or a WNID list."""
    with open(path, encoding='utf-8') as f:
        wnids = [line.split()[0] for line in f if line.strip()]
    if len(wnids) != 1000 or not all(WNID.match(w) for w in wnids):
        raise ProtocolError(f'{path}: expected 1000 lines starting with a WordNet ID (n01440764 ...), the ImageNet '
                            f'classes in torchvision\'s order; found {len(wnids)} lines.')
    if wnids != sorted(wnids):
        raise ProtocolError(f'{path}: WordNet IDs are not sorted; torchvision\'s class indices follow the sorted IDs.')
    return {w: i for i, w in enumerate(wnids)}


def read_labels(path, synsets_path=None):
    """``{image name without extension: class index}`` from a labels file.

    Accepted: the Kaggle CLS-LOC ``LOC_val_solution.csv`` (``ImageId,PredictionString``; first WordNet ID
    of the string), or lines ``<image name> <class index 0-999 | WordNet ID>``. WordNet IDs need the class
    order: ``synsets_path`` or a ``LOC_synset_mapping.txt`` beside the labels file.
    """
    if not osp.isfile(path):
        raise ProtocolError(f'{path}: no such labels file.')
    with open(path, encoding='utf-8') as f:
        text = f.read()
    first = text.lstrip().split('\n', 1)[0]
    raw = {}
    if 'ImageId' in first and 'PredictionString' in first:
        for row in csv.DictReader(text.splitlines()):
            raw[osp.splitext(row['ImageId'])[0]] = row['PredictionString'].split()[0]
    else:
        for number, line in enumerate(text.splitlines(), 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 2:
                raise ProtocolError(
                    f'{path}:{number}: expected "<image name> <class index or WordNet ID>", got {line.strip()!r}. '
                    f'(The devkit\'s ILSVRC2012_validation_ground_truth.txt numbers classes differently from '
                    f'torchvision; use LOC_val_solution.csv or a "name index" list.)')
            raw[osp.splitext(osp.basename(parts[0]))[0]] = parts[1]
    if not raw:
        raise ProtocolError(f'{path}: no labels found.')
    if all(v.isdigit() for v in raw.values()):
        labels = {k: int(v) for k, v in raw.items()}
        bad = [k for k, v in labels.items() if not 0 <= v < 1000]
        if bad:
            raise ProtocolError(f'{path}: class index of {bad[0]} is {labels[bad[0]]}, expected 0-999.')
        return labels
    if not all(WNID.match(v) for v in raw.values()):
        raise ProtocolError(f'{path}: labels must be all class indices (0-999) or all WordNet IDs (n01440764).')
    synsets_path = synsets_path or osp.join(osp.dirname(path), 'LOC_synset_mapping.txt')
    if not osp.isfile(synsets_path):
        raise ProtocolError(f'{path}: labels are WordNet IDs; their class order comes from LOC_synset_mapping.txt '
                            f'(--synsets), not found at {synsets_path}.')
    order = read_synsets(synsets_path)
    unknown = sorted({v for v in raw.values() if v not in order})
    if unknown:
        raise ProtocolError(f'{path}: WordNet IDs not in {synsets_path}: {", ".join(unknown[:3])}.')
    return {k: order[v] for k, v in raw.items()}


def list_images(val_dir, labels, num_images):
    """The first ``num_images`` images of ``val_dir`` by file name, each with its label."""
    if not osp.isdir(val_dir):
        raise ProtocolError(f'{val_dir}: no such ImageNet validation folder.')
    files = sorted(f for f in os.listdir(val_dir) if f.lower().endswith(IMG_EXTS))[:num_images]
    if not files:
        raise ProtocolError(f'{val_dir}: no images ({", ".join(IMG_EXTS)}).')
    unlabelled = [f for f in files if osp.splitext(f)[0] not in labels]
    if unlabelled:
        raise ProtocolError(f'{val_dir}: {len(unlabelled)} of the first {len(files)} images have no label '
                            f'(e.g. {unlabelled[0]}).')
    return [(osp.join(val_dir, f), labels[osp.splitext(f)[0]]) for f in files]


def prepare_hr(path, resize=256, crop=224):
    """Step 1: ``(crop, crop, 3)`` uint8 RGB."""
    from torchvision.transforms.v2 import functional as F
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise ProtocolError(f'{path}: not a readable image.')
    tensor = torch.from_numpy(np.ascontiguousarray(img[..., ::-1].transpose(2, 0, 1)))
    tensor = F.center_crop(F.resize(tensor, [resize], antialias=True), [crop, crop])
    return tensor.permute(1, 2, 0).numpy()


def bicubic_down(hr, scale=4):
    """Step 2: MATLAB bicubic ×1/scale of a uint8 image, quantised to uint8."""
    lr = imresize(hr.astype(np.float32) / 255., 1 / scale)
    return np.clip(np.round(lr * 255.), 0, 255).astype(np.uint8)


@torch.no_grad()
def super_resolve(net, images, device):
    """Step 3: uint8 RGB images (same size) → the generator's uint8 RGB outputs."""
    lr = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float().div(255.).to(device)
    sr = net(lr).float().clamp(0, 1).mul(255.).round().byte()
    return list(sr.permute(0, 2, 3, 1).cpu().numpy())


@torch.no_grad()
def classify(model, images, device):
    """Step 4: uint8 RGB images (same size) → logits ``(N, 1000)``."""
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float().div(255.).to(device)
    mean = torch.tensor(MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=device).view(1, 3, 1, 1)
    return model((x - mean) / std).float().cpu()


def topk_errors(logits, labels):
    """``(top-1 error, top-5 error)`` counts of a batch."""
    top5 = logits.topk(5, dim=1).indices
    labels = torch.as_tensor(labels).view(-1, 1)
    return int((top5[:, 0:1] != labels).sum()), int((top5 != labels).all(dim=1).sum())


def evaluate(methods, items, classifier, device='cpu', batch_size=25, scale=4, progress=None):
    """Top-1/top-5 error of each method.

    Args:
        methods (dict): ``{label: generator nn.Module, or None for the HR baseline}``.
        items (list): ``[(image path, class index), ...]``.

    Returns:
        dict: ``{label: {'top1': error, 'top5': error, 'images': n}}``.
    """
    counts = {name: [0, 0] for name in methods}
    for start in range(0, len(items), batch_size):
        batch = items[start:start + batch_size]
        hr = [prepare_hr(path) for path, _ in batch]
        lr = [bicubic_down(img, scale) for img in hr]
        labels = [label for _, label in batch]
        for name, net in methods.items():
            images = hr if net is None else super_resolve(net, lr, device)
            top1, top5 = topk_errors(classify(classifier, images, device), labels)
            counts[name][0] += top1
            counts[name][1] += top5
        if progress is not None:
            progress(len(batch))
    n = len(items)
    return {name: {'top1': c[0] / n, 'top5': c[1] / n, 'images': n} for name, c in counts.items()}


def build_methods(specs, device):
    """``{label: generator or None (HR)}`` from ``HR``, ``Bicubic`` or ``LABEL=CHECKPOINT`` specs."""
    methods = {}
    for spec in specs:
        if spec == 'HR':
            label, net = 'Baseline (HR)', None
        elif spec == 'Bicubic':
            label, net = 'Bicubic', load_generator(arch='Bicubic')[0]
        elif '=' in spec:
            label, path = spec.split('=', 1)
            net, opt = load_generator(path)
            if network_scale(opt) != 4:
                raise NotAGeneratorError(f'{path}: a ×{network_scale(opt)} generator; the protocol is ×4.')
        else:
            raise ValueError(f'--method {spec!r}: expected HR, Bicubic or LABEL=CHECKPOINT.')
        if label in methods:
            raise ValueError(f'--method: the label {label!r} is given twice.')
        methods[label] = net if net is None else net.to(device)
    return methods


def render(results):
    lines = ['| Evaluation | Top-1 error | Top-5 error |', '|---|---:|---:|']
    lines += [f'| {name} | {r["top1"]:.3f} | {r["top5"]:.3f} |' for name, r in results.items()]
    return '\n'.join(lines) + '\n'
