"""A model card for an exported generator: OpenModelDB's model fields as JSON, and a short Markdown card.

The JSON uses the field names of OpenModelDB's model files (``OpenModelDB/open-model-database``,
``src/lib/schema.ts`` and ``src/lib/model-props.ts``): ``name``, ``author``, ``license``, ``tags``,
``description``, ``date``, ``architecture``, ``size``, ``scale``, ``inputChannels``, ``outputChannels``,
``resources``, ``images``, and the optional ``trainingIterations``, ``trainingEpochs``, ``trainingBatchSize``,
``trainingHRSize``, ``trainingOTF``, ``dataset``, ``datasetSize``, ``pretrainedModelG``, ``pretrainedModelD``.
What this project knows beyond them (the option file's name and SHA-256, the model type, the checkpoint and where
each training fact came from) is under one extra key, ``fasrgan_basicsr``.

Where the facts come from:

- **the weights** (always): ``architecture`` (OpenModelDB's id: ``esrgan`` for RRDBNet, ``sr-res-net`` for
  MSRResNet), ``size`` (``['64nf', '23nb']``, as OpenModelDB and spandrel write it), ``scale``, ``inputChannels``,
  ``outputChannels``; the files written (``resources``: ``.pth`` and ``.onnx``, the types OpenModelDB lists, with
  byte size and SHA-256);
- **the run**, when the checkpoint lies in ``<experiments>/<name>/models/`` as BasicSR's training writes it: the
  option file BasicSR copied into ``<experiments>/<name>/`` (its first four lines, BasicSR's ``# GENERATE TIME`` and
  ``# CMD`` header, are not part of it: its SHA-256 is that of the file the user trained with), the options the run
  used as the training log's option dump records them (``--force_yml`` overrides, ``num_gpu: auto`` and the world
  size included; without a log, the copied file with the header's ``--force_yml`` entries applied), and the
  checkpoint's name: ``net_g_<N>.pth`` holds iteration N; ``net_g_latest.pth`` is written when training ends, after
  ``train:total_iter`` iterations;
- **the user**: ``license`` (``fasrgan-export --license``).

Anything else is left empty (``null``, ``[]``, ``''``), never guessed: ``author``, ``tags`` and ``date`` (of
publication) are the user's to fill in, and a generator downloaded from elsewhere (no run beside it) gets only what its
weights say.
"""
import ast
import datetime
import hashlib
import json
import os
import re
from os import path as osp

import cv2
import numpy as np
import torch
import yaml

from fasrgan_basicsr.utils.errors import UserError
from fasrgan_basicsr.utils.files import atomic_write_bytes
from fasrgan_basicsr.utils.option_file import OptionFileError, load_text, read_option_text
from fasrgan_basicsr.visualization.drawing import LINE, MARGIN, enlarge, put_text, text_width

#: OpenModelDB architecture ids of the BasicSR archs an export writes (``data/architectures.json``)
ARCHITECTURE_IDS = {'RRDBNet': 'esrgan', 'MSRResNet': 'sr-res-net'}
#: OpenModelDB's resource types (``Resource = PthFile | OnnxFile``) by file extension
RESOURCE_TYPES = {'.pth': ('pth', 'pytorch'), '.onnx': ('onnx', 'onnx')}
#: an SPDX licence expression: identifiers (``MIT``, ``CC-BY-NC-SA-4.0``, ``LicenseRef-x``) joined by AND / OR / WITH
SPDX_EXPRESSION = re.compile(r'^\(?[A-Za-z0-9][A-Za-z0-9.+-]*\)?( (AND|OR|WITH) \(?[A-Za-z0-9][A-Za-z0-9.+-]*\)?)*$')
#: BasicSR's ``copy_opt_file`` header: ``# GENERATE TIME: …``, ``# CMD:``, ``# <command>``, an empty line
HEADER = re.compile(r'\A# GENERATE TIME: [^\n]*\n# CMD:\n# ([^\n]*)\n\n')
CHECKPOINT_NAME = re.compile(r'^net_g_(\d+|latest)\.pth$')
#: the example the card shows: a crop of scikit-image's chelsea (the cat's face), shrunk by the model's scale
EXAMPLE_PHOTO, EXAMPLE_BOX = 'chelsea', (40, 140, 192, 192)  # top, left, height, width


def check_license(text):
    """``text`` if it is an SPDX licence expression, else raises ValueError naming what is expected."""
    if not SPDX_EXPRESSION.match(text):
        raise ValueError(f'expected an SPDX licence identifier or expression (e.g. MIT, CC-BY-4.0, '
                         f'CC-BY-NC-SA-4.0, Apache-2.0; https://spdx.org/licenses), got {text!r}')
    return text


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


# ------------------------------------------------------------------------------------------------ the run
def option_text(path):
    """``(the option file as the user wrote it, the command of BasicSR's header or None)`` of a copied option file
    (read as every option file is: :func:`~fasrgan_basicsr.utils.option_file.read_option_text`)."""
    text = read_option_text(path)
    match = HEADER.match(text)
    return (text[match.end():], match.group(1)) if match else (text, None)


def parse_option_dump(text):
    """The option dict BasicSR's ``dict2str`` logged at the start of a training log (values via ``literal_eval``
    where they are Python literals, else strings), or None when the log holds none."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if re.match(r'^  name: ', line)), None)
    if start is None:
        return None
    root, stack = {}, []
    node, indent = root, 2
    for line in lines[start:]:
        if not line.startswith(' ' * 2) or not line.strip():
            break
        depth = len(line) - len(line.lstrip(' '))
        body = line.strip()
        if body == ']':
            node, indent = stack.pop()
            continue
        if depth != indent:
            break
        key, sep, value = body.partition(': ') if not body.endswith(':[') else (body[:-2], ':[', None)
        if sep == ':[':
            child = {}
            node[key] = child
            stack.append((node, indent))
            node, indent = child, indent + 2
        elif sep:
            try:
                node[key] = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                node[key] = value
        else:
            break
    return root


def apply_force_yml(opt, command):
    """The ``--force_yml key:sub=value`` entries of ``command`` (a logged command line) applied to ``opt``."""
    words = command.split()
    if '--force_yml' not in words:
        return opt
    for entry in words[words.index('--force_yml') + 1:]:
        if entry.startswith('-'):
            break
        keys, sep, value = entry.partition('=')
        if not sep:
            continue
        *parents, last = keys.split(':')
        node = opt
        for key in parents:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            try:
                node[last] = load_text(value) if value else None
            except yaml.YAMLError:
                continue
    return opt


class Run:
    """What the experiment folder of a checkpoint (``<experiments>/<name>/models/net_g_*.pth``) says about its run."""

    def __init__(self, root, option_path):
        self.root, self.option_path = root, option_path
        try:
            self.text, self.command = option_text(option_path)
            self.options = load_text(self.text) or {}
        except (OptionFileError, yaml.YAMLError) as err:
            raise UserError(f'{option_path}: the run\'s copy of its option file cannot be read for the model card '
                            f'({str(err).splitlines()[0] if str(err) else type(err).__name__}); --no_card exports '
                            f'without a card') from None
        if not isinstance(self.options, dict):
            raise UserError(f'{option_path}: the run\'s copy of its option file is not a mapping of options; '
                            f'--no_card exports without a card')
        self.option_sha256 = hashlib.sha256(self.text.encode('utf-8')).hexdigest()
        logs = sorted(f for f in os.listdir(root) if f.startswith('train_') and f.endswith('.log'))
        dump = None
        for log in reversed(logs):  # the newest run's options (a resumed run logs them again)
            with open(osp.join(root, log), encoding='utf-8', errors='replace') as f:
                dump = parse_option_dump(f.read())
            if dump:
                break
        self.from_log = dump is not None
        self.effective = dump if dump else apply_force_yml(load_text(self.text) or {}, self.command or '')

    @classmethod
    def of(cls, checkpoint):
        """The run of ``checkpoint``, or None (not in a ``models`` folder, or no copied option file beside it)."""
        models = osp.dirname(osp.abspath(checkpoint))
        if osp.basename(models) != 'models':
            return None
        root = osp.dirname(models)
        candidates = sorted((f for f in os.listdir(root) if f.endswith(('.yml', '.yaml'))),
                            key=lambda f: osp.getmtime(osp.join(root, f)))
        named = [f for f in candidates if _name_of(osp.join(root, f)) == osp.basename(root)]
        chosen = (named or candidates)[-1:] if candidates else []
        return cls(root, osp.join(root, chosen[0])) if chosen else None

    def get(self, *keys):
        node = self.effective
        for key in keys:
            node = node.get(key) if isinstance(node, dict) else None
        return node

    @property
    def run_root(self):
        """The folder the run's relative paths are relative to: the one holding ``experiments/``."""
        return osp.dirname(osp.dirname(self.root))


def _name_of(path):
    try:
        opt = load_text(option_text(path)[0])
    except (yaml.YAMLError, OptionFileError):
        return None
    return opt.get('name') if isinstance(opt, dict) else None


def synthesises_pairs(model_type, opt):
    """True/False whether ``model_type`` degrades its HR images on the fly (BasicSR's Real-ESRGAN models and their
    subclasses, unless ``high_order_degradation: false``); None when the model type is not registered here."""
    from basicsr.models.realesrgan_model import RealESRGANModel
    from basicsr.models.realesrnet_model import RealESRNetModel
    from basicsr.utils.registry import MODEL_REGISTRY

    if model_type not in MODEL_REGISTRY:
        return None
    return issubclass(MODEL_REGISTRY.get(model_type), (RealESRGANModel, RealESRNetModel)) and \
        opt.get('high_order_degradation', True) is not False


def dataset_size(train, run_root):
    """Images of the training set as its meta-info list or folder counts them, when readable now; else None."""
    def resolve(p):
        return p if p is None or osp.isabs(p) else osp.join(run_root, p)

    dataroot = resolve(train.get('dataroot_gt'))
    for key in ('meta_info', 'meta_info_file'):
        listed = resolve(train.get(key))
        if listed and osp.isfile(listed):
            with open(listed, encoding='utf-8', errors='replace') as f:
                return sum(1 for line in f if line.strip()) or None
    if dataroot and dataroot.endswith('.lmdb') and osp.isfile(osp.join(dataroot, 'meta_info.txt')):
        with open(osp.join(dataroot, 'meta_info.txt'), encoding='utf-8', errors='replace') as f:
            return sum(1 for line in f if line.strip()) or None
    if dataroot and osp.isdir(dataroot):
        images = [f for f in os.listdir(dataroot) if f.lower().endswith(('.png', '.jpg', '.jpeg', '.bmp', '.tif',
                                                                         '.tiff', '.webp'))]
        return len(images) or None
    return None


def training_facts(run, checkpoint):
    """OpenModelDB's training fields (None: not known) and where each came from, for ``checkpoint`` of ``run``."""
    facts = dict.fromkeys(('trainingIterations', 'trainingBatchSize', 'trainingHRSize', 'trainingOTF', 'dataset',
                           'datasetSize'))
    sources = {}
    if run is None:
        return facts, sources
    options_source = 'the training log\'s option dump' if run.from_log else f'{osp.basename(run.option_path)}'
    name = CHECKPOINT_NAME.match(osp.basename(checkpoint))
    if name and name.group(1) != 'latest':
        facts['trainingIterations'] = int(name.group(1))
        sources['trainingIterations'] = 'the checkpoint\'s name'
    elif name and isinstance(run.get('train', 'total_iter'), (int, float)):
        facts['trainingIterations'] = int(run.get('train', 'total_iter'))
        sources['trainingIterations'] = f'train:total_iter ({options_source}): net_g_latest.pth is written at the end'
    otf = synthesises_pairs(run.get('model_type'), run.effective)
    facts['trainingOTF'] = otf
    if otf is not None:
        sources['trainingOTF'] = (f'model_type {run.get("model_type")} ({options_source}): '
                                  + ('degrades its HR crops on the fly' if otf else 'reads prepared pairs'))
    train = run.get('datasets', 'train') or {}
    hr_size = run.get('gt_size') if otf else train.get('gt_size')
    if isinstance(hr_size, int):
        facts['trainingHRSize'] = hr_size
        sources['trainingHRSize'] = ('gt_size' if otf else 'datasets:train:gt_size') + f' ({options_source})'
    per_gpu, num_gpu = train.get('batch_size_per_gpu'), run.get('num_gpu')
    if isinstance(per_gpu, int):
        if run.from_log and run.get('dist') is True and isinstance(run.get('world_size'), int):
            facts['trainingBatchSize'] = per_gpu * run.get('world_size')
            sources['trainingBatchSize'] = 'batch_size_per_gpu × world_size (the training log)'
        elif run.get('dist') is not True and '--launcher' not in (run.command or '') and isinstance(num_gpu, int):
            facts['trainingBatchSize'] = per_gpu * max(num_gpu, 1)  # BasicSR's loader multiplies by num_gpu
            sources['trainingBatchSize'] = f'batch_size_per_gpu × max(num_gpu, 1) ({options_source})'
    if train.get('name'):
        facts['dataset'] = str(train['name'])
        sources['dataset'] = f'datasets:train:name ({options_source})'
        facts['datasetSize'] = dataset_size(train, run.run_root)
        if facts['datasetSize'] is not None:
            sources['datasetSize'] = 'the training set\'s meta-info list or folder, counted at export'
    return facts, sources


# ------------------------------------------------------------------------------------------------ the card
def architecture_facts(plain_opt, trained_opt):
    """``(architecture id or None, size list, scale, input channels, output channels)`` from the weights."""
    arch = ARCHITECTURE_IDS.get(plain_opt['type'])
    if plain_opt['type'] == 'RRDBNet':
        size = [f'{plain_opt["num_feat"]}nf', f'{plain_opt["num_block"]}nb']
    elif plain_opt['type'] == 'MSRResNet':
        size = [f'{plain_opt["num_feat"]}nf', f'{plain_opt["num_block"]}nb']
    else:
        size = None
    scale = plain_opt.get('scale', plain_opt.get('upscale', 4))
    return arch, size, scale, plain_opt.get('num_in_ch', 3), plain_opt.get('num_out_ch', plain_opt.get('num_in_ch', 3))


def resource(path):
    kind, platform = RESOURCE_TYPES[osp.splitext(path)[1]]
    return {'platform': platform, 'type': kind, 'size': osp.getsize(path), 'sha256': sha256_of(path), 'urls': []}


def model_card(checkpoint, plain_opt, trained_opt, n_params, written, license=None, name=None, images=()):
    """The card as a dict of OpenModelDB's fields (plus ``fasrgan_basicsr``), from the checkpoint, its run and the
    files ``written`` (paths; ``.pth`` and ``.onnx`` become ``resources``)."""
    from fasrgan_basicsr.version import __version__

    run = Run.of(checkpoint)
    arch, size, scale, in_ch, out_ch = architecture_facts(plain_opt, trained_opt)
    facts, sources = training_facts(run, checkpoint)
    card_name = name or (run.options.get('name') if run else None) or osp.splitext(osp.basename(checkpoint))[0]
    model_type = run.get('model_type') if run else None
    option_name = osp.basename(run.option_path) if run else None
    description = (f'{model_type} trained with fasrgan_basicsr (BasicSR 1.4.2 plugin) from the option file '
                   f'{option_name} (SHA-256 {run.option_sha256[:12]}…)' +
                   (f', {facts["trainingIterations"]} iterations' if facts['trainingIterations'] else '') + '.'
                   if run else '')
    card = {
        'name': card_name,
        'author': None,
        'license': license,
        'tags': [],
        'description': description,
        'date': None,
        'architecture': arch,
        'size': size,
        'scale': scale,
        'inputChannels': in_ch,
        'outputChannels': out_ch,
        'resources': [resource(p) for p in written if osp.splitext(p)[1] in RESOURCE_TYPES],
        'images': [dict(image) for image in images],
        **facts,
        'trainingEpochs': None,
        'pretrainedModelG': None,
        'pretrainedModelD': None,
        'fasrgan_basicsr': {
            'version': __version__,
            'exported': datetime.date.today().isoformat(),
            'checkpoint': osp.basename(checkpoint),
            'checkpointSha256': sha256_of(checkpoint),
            'network_g': trained_opt,
            'parameters': n_params,
            'modelType': model_type,
            'optionFile': option_name,
            'optionFileSha256': run.option_sha256 if run else None,
            'pretrainNetworkG': (run.get('path', 'pretrain_network_g') if run else None),
            'sources': sources,
        },
    }
    return card


def _cell(value):
    if value is None or value == [] or value == '':
        return '– (not known)'
    if isinstance(value, list):
        return ', '.join(map(str, value))
    return str(value)


def markdown_card(card, files, example=None):
    """The short Markdown card: the same facts as ``card``, the files with their SHA-256, the example panel."""
    extra = card['fasrgan_basicsr']
    arch_type = (extra['network_g'] or {}).get('type')
    rows = [('architecture', f'{card["architecture"]} ({arch_type})' if card['architecture'] else arch_type),
            ('size', card['size']), ('scale', f'×{card["scale"]}'),
            ('parameters', f'{extra["parameters"] / 1e6:.2f} M ({extra["parameters"]:,})'),
            ('input / output channels', f'{card["inputChannels"]} / {card["outputChannels"]}'),
            ('model type', extra['modelType']), ('training iterations', card['trainingIterations']),
            ('training batch size', card['trainingBatchSize']), ('training HR size', card['trainingHRSize']),
            ('degradations on the fly', {True: 'yes', False: 'no (paired data)'}.get(card['trainingOTF'])),
            ('dataset', card['dataset']), ('dataset size', card['datasetSize']),
            ('option file', extra['optionFile']), ('option file SHA-256', extra['optionFileSha256']),
            ('started from', extra['pretrainNetworkG']), ('licence', card['license']),
            ('checkpoint', f'{extra["checkpoint"]} (SHA-256 {extra["checkpointSha256"]})')]
    lines = [f'# {card["name"]}', '', card['description'] or 'Weights only: the training run is not known.', '',
             '| field | value |', '|---|---|'] + [f'| {k} | {_cell(v)} |' for k, v in rows]
    if example:
        lines += ['', '## Example', '', f'![{example["caption"]}]({example["file"]})', '', example['caption']]
    lines += ['', '## Files', '', '| file | bytes | SHA-256 |', '|---|---|---|']
    lines += [f'| {osp.basename(p)} | {osp.getsize(p)} | {sha256_of(p)} |' for p in files]
    lines += ['', f'Written by `fasrgan-export` (fasrgan_basicsr {extra["version"]}) on {extra["exported"]}; the '
              f'JSON beside this card holds the same facts in OpenModelDB\'s model fields. Empty fields are not '
              f'known from this checkpoint and its run: fill them in before publishing.', '']
    return '\n'.join(lines)


# ------------------------------------------------------------------------------------------------ the example
def example_images(net, scale, image=None):
    """``(LR, SR, HR or None)`` uint8 RGB: ``image`` (RGB uint8) as the input, or by default the crop of
    scikit-image's chelsea in :data:`EXAMPLE_BOX` shrunk ×``scale`` (area) with the crop as the reference."""
    hr = None
    if image is None:
        from skimage import data as skdata
        top, left, h, w = EXAMPLE_BOX
        hr = skdata.chelsea()[top:top + h, left:left + w]
        image = cv2.resize(hr, (w // scale, h // scale), interpolation=cv2.INTER_AREA)
    x = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float().div(255)
    param = next(net.parameters(), None)
    with torch.no_grad():
        out = net(x.to(param.dtype) if param is not None else x).float().clamp(0, 1)
    sr = (out[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    return np.ascontiguousarray(image), sr, hr


def example_panel(lr, sr, hr, scale):
    """One figure: the input enlarged ×scale (nearest) | the SR output | the reference, titled (RGB uint8)."""
    tiles = [(f'input ({lr.shape[1]}x{lr.shape[0]}), nearest x{scale}', enlarge(lr, scale)),
             (f'SR x{scale}', sr)] + ([('reference', hr)] if hr is not None else [])
    height = max(t.shape[0] for _, t in tiles)
    widths = [max(t.shape[1], text_width(title) + 4) for title, t in tiles]
    canvas = np.full((MARGIN * 2 + LINE + height, MARGIN * (len(tiles) + 1) + sum(widths), 3), 255, np.uint8)
    x = MARGIN
    for (title, tile), width in zip(tiles, widths):
        put_text(canvas, title, x, MARGIN + LINE - 6)
        canvas[MARGIN + LINE:MARGIN + LINE + tile.shape[0], x:x + tile.shape[1]] = tile
        x += width + MARGIN
    return canvas


def write_png(path, rgb):
    ok, data = cv2.imencode('.png', cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise OSError(f'{path}: PNG encoding failed')
    atomic_write_bytes(path, data.tobytes())


def write_json(path, card):
    atomic_write_bytes(path, (json.dumps(card, indent=4, ensure_ascii=False) + '\n').encode('utf-8'))
