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
import os
from os import path as osp

from torch.utils.data import Dataset

from fasrgan_basicsr.utils.errors import UserError


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
        with open(dataset['meta_info_file'], encoding='utf-8') as f:
            names = [line.strip().split(' ')[0] for line in f if line.strip()]
        for name in names:
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


def preflight(phase, dataset):
    """Problems (``datasets:<phase>:<key>: ...`` strings) of one dataset's files, before any work."""
    problems = []
    backend = (dataset.get('io_backend') or {}).get('type', 'disk')
    roots = [k for k in ('dataroot_gt', 'dataroot_lq') if dataset.get(k) is not None]
    for key in roots:
        path = dataset[key]
        if not osp.exists(path):
            hint = ('fasrgan-prepare-div2k --profile authors_release builds it' if 'authors_release' in str(path) else
                    'see datasets_prep/ to build it')
            problems.append(f'datasets:{phase}:{key}: {path!r} does not exist ({hint}).')
        elif backend == 'lmdb':
            problem = _lmdb_problem(path) or _lmdb_key_problem(path)
            if problem:
                problems.append(f'datasets:{phase}:{key}: {problem}.')
        elif not osp.isdir(path):
            problems.append(f'datasets:{phase}:{key}: {path!r} is a file; expected a folder of images '
                            '(or io_backend: lmdb with an LMDB folder).')
    meta = dataset.get('meta_info_file')
    if meta is not None and not osp.isfile(meta):
        problems.append(f'datasets:{phase}:meta_info_file: {meta!r} is not a file.')
    if problems or dataset.get('type') != 'PairedImageDataset' or len(roots) != 2:
        return problems
    if backend == 'lmdb':
        gt_keys, lq_keys = _meta_keys(dataset['dataroot_gt']), _meta_keys(dataset['dataroot_lq'])
        if sorted(gt_keys) != sorted(lq_keys):
            only = sorted(set(gt_keys) ^ set(lq_keys))
            problems.append(f'datasets:{phase}: the GT and LQ LMDBs list different keys, e.g. {only[0]!r} '
                            f'({len(gt_keys)} GT, {len(lq_keys)} LQ keys).' if only else
                            f'datasets:{phase}: the GT and LQ LMDBs list different numbers of keys.')
        return problems
    problem = _pairs_problem(dataset)
    if problem:
        problems.append(f'datasets:{phase}: {problem}.')
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
