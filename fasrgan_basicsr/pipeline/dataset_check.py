"""Training and test data that fail with a message naming the dataset, the file or key, and what was expected.

BasicSR's datasets fail deep inside OpenCV or numpy on a bad sample (``'NoneType' object has no
attribute 'astype'`` for a zero-byte PNG, ``TypeError`` for an LMDB key that is absent, a bare
``AssertionError`` when two folders do not pair up). Two layers replace those tracebacks:

- :func:`preflight` (run by the option check, before any work): a paired dataset's folders, LMDBs and
  meta-info files exist and are what their backend reads; every pair BasicSR will list exists (folder
  mode: each GT name has its LQ; meta-info mode: every listed file; LMDB mode: every key of
  ``meta_info.txt`` is in the LMDB and the key counts agree).
- :class:`CheckedDataset` (wrapped around every dataset the pipelines build): a sample that cannot be
  decoded, or whose GT is not ``scale`` × its LQ, raises :class:`DatasetError` naming the dataset and
  the files or keys.
"""
import math
import os
import re
from os import path as osp

from basicsr.utils.registry import DATASET_REGISTRY
from PIL import Image
from torch.utils.data import Dataset

from fasrgan_basicsr.utils.errors import UserError
from fasrgan_basicsr.utils.run_root import shown_path


class DatasetError(UserError):
    """A dataset problem; the message names the dataset option, the file or LMDB key and what was expected."""


# --------------------------------------------------------------------------------------------- pre-flight
def _lmdb_problem(path):
    if not osp.isdir(path):
        return f'{path!r} is not a folder; the lmdb backend reads an LMDB folder (<name>.lmdb with data.mdb)'
    if not path.rstrip('/').endswith('.lmdb'):
        return f'{path!r} does not end with .lmdb, which BasicSR\'s lmdb backend requires'
    missing = [f for f in ('data.mdb', 'meta_info.txt') if not osp.isfile(osp.join(path, f))]
    if missing:
        return (f'{path!r} is not an LMDB built for BasicSR (no {" or ".join(missing)}; '
                'datasets_prep/create_lmdb.py builds one)')
    return None


def _meta_keys(path):
    """The keys listed in an LMDB folder's ``meta_info.txt``, as BasicSR reads them (each line up to its first dot)."""
    with open(osp.join(path, 'meta_info.txt'), encoding='utf-8') as f:
        return [line.split('.')[0] for line in f if line.strip()]


def _lmdb_key_problem(path):
    """A mismatch between ``meta_info.txt`` and the LMDB's keys, or None."""
    import lmdb
    try:
        env = lmdb.open(path, readonly=True, lock=False, readahead=False, meminit=False)
    except lmdb.Error as err:
        return f'{path!r}: cannot be opened as an LMDB ({err})'
    with env.begin(write=False) as txn:
        stored = {k.decode('ascii', 'replace') for k in txn.cursor().iternext(keys=True, values=False)}
    env.close()
    listed = _meta_keys(path)
    absent = [k for k in listed if k not in stored]
    if absent:
        return (f'{path!r}: {len(absent)} key(s) listed in meta_info.txt are not in the LMDB, e.g. {absent[0]!r} '
                f'({len(listed)} listed, {len(stored)} stored; rebuild it with datasets_prep/create_lmdb.py)')
    return None


def _pairs_problem(dataset):
    """BasicSR's own pairing of GT and LQ for this dataset; a problem it or a missing file raises, or None."""
    from basicsr.data.data_util import paired_paths_from_folder

    gt, lq, tmpl = dataset['dataroot_gt'], dataset['dataroot_lq'], dataset.get('filename_tmpl', '{}')
    if dataset.get('meta_info_file'):
        for name in _listed(dataset['meta_info_file']):
            base, ext = osp.splitext(osp.basename(name))
            for folder, file in ((gt, name), (lq, f'{tmpl.format(base)}{ext}')):
                if not osp.isfile(osp.join(folder, file)):
                    return (f'{osp.join(folder, file)!r}, listed (as {name}) in {dataset["meta_info_file"]}, '
                            'does not exist')
        return None
    gt_names = sorted(os.listdir(gt))
    lq_names = set(os.listdir(lq))
    unpaired = [n for n in gt_names if f'{tmpl.format(osp.splitext(n)[0])}{osp.splitext(n)[1]}' not in lq_names]
    if unpaired:
        example = unpaired[0]
        expected = f'{tmpl.format(osp.splitext(example)[0])}{osp.splitext(example)[1]}'
        return (f'{len(unpaired)} GT file(s) have no LQ partner, e.g. {example!r} needs {expected!r} in {lq!r} '
                f"(filename_tmpl: {tmpl!r}; every file in the GT folder counts, images or not)")
    if len(lq_names) != len(gt_names):
        return (f'{lq!r} holds {len(lq_names)} files but {gt!r} {len(gt_names)}: BasicSR pairs folders file for '
                'file (remove the extra files)')
    try:
        paired_paths_from_folder([lq, gt], ['lq', 'gt'], tmpl)
    except AssertionError as err:
        return str(err)
    return None


def _is_lmdb(path):
    return osp.isfile(osp.join(path, 'data.mdb'))


def _root_problem(phase, key, path, backend):
    """Why ``path`` cannot be read with ``backend``, or None."""
    if not osp.exists(path):
        hint = ('fasrgan-prepare-div2k --profile authors_release builds it' if 'authors_release' in str(path) else
                'the fasrgan-prepare-* commands build the paper\'s datasets')
        return f'datasets:{phase}:{key}: {shown_path(path)} does not exist ({hint}).'
    if backend == 'lmdb':
        problem = _lmdb_problem(path) or _lmdb_key_problem(path)
        if problem and osp.isdir(path) and not _is_lmdb(path):
            problem += ' — a folder of images is read with io_backend: {type: disk}'
        return f'datasets:{phase}:{key}: {problem}.' if problem else None
    if not osp.isdir(path):
        return (f'datasets:{phase}:{key}: {path!r} is a file; expected a folder of images (or io_backend: lmdb with an '
                'LMDB folder).')
    if _is_lmdb(path):
        return (f'datasets:{phase}:{key}: {path!r} is an LMDB (it holds data.mdb), read here as a folder of images; '
                'set io_backend: {type: lmdb}.')
    return None


def _listed(meta_file):
    """The names a ``meta_info`` file lists (each line's first word)."""
    with open(meta_file, encoding='utf-8') as f:
        return [line.strip().split(' ')[0] for line in f if line.strip()]


def sample_count(dataset):
    """``(samples, what they are)`` the dataset will hold, as BasicSR counts them, or None when unknown."""
    kind = DATASET_REGISTRY.get(dataset['type']).__name__ if dataset.get('type') in DATASET_REGISTRY else None
    backend = (dataset.get('io_backend') or {}).get('type', 'disk')
    if kind == 'PairedImageDataset':
        if backend == 'lmdb':
            return len(_meta_keys(dataset['dataroot_gt'])), 'keys in the GT LMDB'
        if dataset.get('meta_info_file'):
            return len(_listed(dataset['meta_info_file'])), f'lines of {dataset["meta_info_file"]}'
        return len(os.listdir(dataset['dataroot_gt'])), f'files in {dataset["dataroot_gt"]}'
    if kind == 'SingleImageDataset':
        if dataset.get('meta_info_file'):
            return len(_listed(dataset['meta_info_file'])), f'lines of {dataset["meta_info_file"]}'
        if backend == 'lmdb':
            return len(_meta_keys(dataset['dataroot_lq'])), 'keys in the LQ LMDB'
        return len(os.listdir(dataset['dataroot_lq'])), f'files in {dataset["dataroot_lq"]}'
    if kind == 'RealESRGANDataset':
        if backend == 'lmdb':
            return len(_meta_keys(dataset['dataroot_gt'])), 'keys in the GT LMDB'
        if dataset.get('meta_info') and osp.isfile(dataset['meta_info']):
            return len(_listed(dataset['meta_info'])), f'lines of {dataset["meta_info"]}'
    return None


def _batch_problem(phase, dataset, count, what, world_size):
    """A training set that cannot fill one batch per process: BasicSR would train nothing and say it finished."""
    batch, ratio = dataset.get('batch_size_per_gpu'), dataset.get('dataset_enlarge_ratio', 1)
    if not isinstance(batch, int) or not isinstance(ratio, int) or ratio < 1:
        return None
    per_process = math.ceil(count * ratio / world_size)
    if per_process >= batch:
        return None
    spread = f' / {world_size} processes' if world_size > 1 else ''
    return (f'datasets:{phase}:batch_size_per_gpu: {batch}, but the train set holds {count} sample(s) ({what}; × '
            f'dataset_enlarge_ratio {ratio}{spread} = {per_process} per process and epoch): not one batch, so nothing '
            'would be trained; lower batch_size_per_gpu or raise dataset_enlarge_ratio.')


def gt_sizes(dataset, limit=5000):
    """``{name: (h, w)}`` of a paired dataset's GT images (from ``meta_info.txt`` for an LMDB, image headers for a
    folder), or None when there are more than ``limit`` files or the sizes cannot be read cheaply."""
    root = dataset['dataroot_gt']
    if (dataset.get('io_backend') or {}).get('type') == 'lmdb':
        sizes = {}
        with open(osp.join(root, 'meta_info.txt'), encoding='utf-8') as f:
            for line in f:
                match = re.match(r'(\S+) \((\d+),(\d+)', line)
                if match:
                    sizes[match.group(1)] = (int(match.group(2)), int(match.group(3)))
        return sizes
    names = sorted(os.listdir(root))
    if len(names) > limit:
        return None
    sizes = {}
    for name in names:
        try:
            with Image.open(osp.join(root, name)) as img:
                sizes[name] = (img.height, img.width)
        except (OSError, ValueError):
            continue  # an unreadable file is named by the pairing check or when it is read
    return sizes


def _crop_problems(phase, dataset, metrics):
    """Images too small for a metric's border crop: it would give NaN for them (and a wrong mean)."""
    crops = {name: m.get('crop_border', 0) for name, m in (metrics or {}).items()
             if isinstance(m, dict) and isinstance(m.get('crop_border', 0), int) and m.get('crop_border', 0) > 0}
    if not crops:
        return []
    sizes = gt_sizes(dataset) or {}
    problems = []
    for metric, crop in sorted(crops.items()):
        small = sorted(n for n, (h, w) in sizes.items() if min(h, w) <= 2 * crop)
        if small:
            h, w = sizes[small[0]]
            problems.append(f'datasets:{phase}: {len(small)} image(s) are too small for val:metrics:{metric} '
                            f'(crop_border {crop} on each side leaves nothing), e.g. {small[0]} ({w}×{h}); remove '
                            'them or lower crop_border.')
    return problems


def preflight(phase, dataset, opt=None):
    """Problems (``datasets:<phase>:<key>: ...`` strings) of one dataset's files, before any work.

    ``opt`` (the whole option dict) adds the checks that need it: a train set that fills no batch, and validation or
    test images too small for a metric's border crop.
    """
    opt = opt or {}
    backend = (dataset.get('io_backend') or {}).get('type', 'disk')
    roots = [k for k in ('dataroot_gt', 'dataroot_lq') if dataset.get(k) is not None]
    problems = [p for p in (_root_problem(phase, key, dataset[key], backend) for key in roots) if p]
    for key in ('meta_info_file', 'meta_info'):
        meta = dataset.get(key)
        if meta is not None and not problems and not osp.isfile(meta):  # (a missing dataroot says it all)
            what = 'does not exist' if not osp.lexists(meta) else 'is not a file'
            problems.append(f'datasets:{phase}:{key}: {shown_path(meta)} {what}.')
    if problems:
        return problems
    paired = dataset.get('type') == 'PairedImageDataset' and len(roots) == 2
    if paired and backend == 'lmdb':
        gt_keys, lq_keys = _meta_keys(dataset['dataroot_gt']), _meta_keys(dataset['dataroot_lq'])
        if sorted(gt_keys) != sorted(lq_keys):
            only = sorted(set(gt_keys) ^ set(lq_keys))
            return [f'datasets:{phase}: the GT and LQ LMDBs list different keys, e.g. {only[0]!r} '
                    f'({len(gt_keys)} GT, {len(lq_keys)} LQ keys).' if only else
                    f'datasets:{phase}: the GT and LQ LMDBs list different numbers of keys.']
    elif paired:
        problem = _pairs_problem(dataset)
        if problem:
            return [f'datasets:{phase}: {problem}.']
    counted = sample_count(dataset)
    if counted is not None and counted[0] == 0:
        return [f'datasets:{phase}: holds no samples (0 {counted[1]}): nothing would be '
                f'{"trained" if phase == "train" else "measured"}.']
    if counted is not None and phase == 'train':
        problem = _batch_problem(phase, dataset, *counted, opt.get('world_size') or 1)
        if problem:
            problems.append(problem)
    if paired and phase != 'train':
        problems += _crop_problems(phase, dataset, (opt.get('val') or {}).get('metrics'))
    return problems


# ------------------------------------------------------------------------------------------ at read time
def _decode(path, client_key, file_client):
    """``(image or None, description)`` of a file or LMDB key: the decoded image, or why there is none."""
    import cv2
    import numpy as np

    client = getattr(file_client, 'client', None)
    if type(client).__name__ == 'LmdbBackend':
        with client._client[client_key].begin(write=False) as txn:
            data = txn.get(str(path).encode('ascii'))
        what = f'LMDB key {path!r} ({client_key})'
        if data is None:
            return None, f'{what} is listed in meta_info.txt but absent from the LMDB'
    else:
        what = str(path)
        if not osp.isfile(path):
            return None, f'{what}: no such file'
        with open(path, 'rb') as f:
            data = f.read()
    if len(data) == 0:
        return None, f'{what}: empty (0 bytes)'
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if img is None:
        return None, f'{what}: not a decodable image ({len(data)} bytes)'
    return img, what


def _sample_problem(files, scale, file_client):
    """Why the sample with these ``gt_path``/``lq_path`` entries cannot be used, or None when it looks fine."""
    images = {}
    for key in ('gt', 'lq'):
        if f'{key}_path' in files:
            img, what = _decode(files[f'{key}_path'], key, file_client)
            if img is None:
                return what
            images[key] = (img.shape[:2], what)
    if scale and len(images) == 2:
        return _scale_problem(*images['gt'], *images['lq'], scale)
    return None


def _scale_problem(gt, gt_what, lq, lq_what, scale):
    """The message when GT (``(h, w)``) is not ``scale`` × LQ, else None."""
    if tuple(gt) == (lq[0] * scale, lq[1] * scale):
        return None
    return (f'GT {gt_what} is {gt[1]}×{gt[0]} but LQ {lq_what} is {lq[1]}×{lq[0]}; '
            f'expected GT = {scale} × LQ (scale: {scale})')


class CheckedDataset(Dataset):
    """A dataset whose sample errors name the dataset and its files; attributes are the wrapped dataset's."""

    def __init__(self, dataset, label):
        self.dataset, self.label = dataset, label

    def __getattr__(self, name):  # opt, paths, ... of the wrapped dataset (BasicSR's validation reads .opt)
        if name in ('dataset', 'label'):
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def __len__(self):
        return len(self.dataset)

    def _files(self, index):
        paths = getattr(self.dataset, 'paths', None)
        entry = paths[index] if isinstance(paths, (list, tuple)) and index < len(paths) else None
        return entry if isinstance(entry, dict) else {}

    def __getitem__(self, index):
        files = self._files(index)
        try:
            item = self.dataset[index]
        except DatasetError:
            raise
        except Exception as err:
            scale = (getattr(self.dataset, 'opt', None) or {}).get('scale')
            reason = _sample_problem(files, scale, getattr(self.dataset, 'file_client', None))
            if reason:
                raise DatasetError(f'{self.label}: {reason}.') from err
            named = ', '.join(f'{k[:-5]} {v}' for k, v in files.items() if k.endswith('_path'))
            raise DatasetError(f'{self.label}: sample {index}{" (" + named + ")" if named else ""} cannot be '
                               f'read: {type(err).__name__}: {err}') from err
        self._check_scale(item, files)
        return item

    def _check_scale(self, item, files):
        scale = (getattr(self.dataset, 'opt', None) or {}).get('scale')
        if not (isinstance(item, dict) and scale and 'gt' in item and 'lq' in item):
            return
        problem = _scale_problem(item['gt'].shape[-2:], files.get('gt_path', '?'), item['lq'].shape[-2:],
                                 files.get('lq_path', '?'), scale)
        if problem:
            raise DatasetError(f'{self.label}: {problem}.')


def wrap_build_dataset(build_dataset):
    """``basicsr.data.build_dataset`` whose datasets are :class:`CheckedDataset`\\ s labelled by their option name."""
    def wrapped(dataset_opt):
        dataset = build_dataset(dataset_opt)
        return CheckedDataset(dataset, f'dataset {dataset_opt.get("name", "?")} ({dataset_opt.get("phase", "?")})')
    return wrapped
