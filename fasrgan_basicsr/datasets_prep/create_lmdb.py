"""Pack a folder of images into an LMDB that BasicSR reads with ``io_backend: {type: lmdb}``.

The command is ``fasrgan-create-lmdb`` (:mod:`fasrgan_basicsr.cli.create_lmdb`; in a clone also
``python datasets_prep/create_lmdb.py``), whose ``--help`` says what it writes and how.
"""
import contextlib
import functools
import re
import shutil
from pathlib import Path

import cv2
import lmdb
import numpy as np

from .common import (
    PrepError,
    Summary,
    human_bytes,
    info,
    name_list,
    parallel_map,
    tree_bytes,
)
from .images import (
    encode_png,
    list_images,
    read_image,
    refuse_name_clashes,
    report_colour_conversions,
    scan_images,
)
from .staging import StagedOutput, refuse_overlap, remove_path, staged_outputs

META_INFO = 'meta_info.txt'
_META_LINE = re.compile(r'^(?P<key>[^.\s]+)\.png \((?P<h>\d+),(?P<w>\d+),(?P<c>\d+)\) (?P<level>\d)$')


def check_keys(paths, key_of=None):
    """LMDB keys (``key_of(path)``, default: the file name without extension) must be ASCII, free of dots and spaces
    (BasicSR parses meta_info.txt by them) and unique even ignoring case; PrepError names the offending files."""
    key_of = key_of or file_key
    bad = [Path(p).name for p in paths if not _valid_key(key_of(p))]
    if bad:
        raise PrepError(f'LMDB keys are the file names without extension and must be ASCII without dots or spaces '
                        f'(BasicSR parses meta_info.txt by them); rename: {name_list(bad)}')
    refuse_name_clashes(paths, role='LMDB input', name_of=key_of)


def file_key(path):
    """The LMDB key of an image file: its name without extension (``0001_s001.png`` -> ``0001_s001``)."""
    return Path(path).stem


def _valid_key(key):
    return bool(key) and key.isascii() and '.' not in key and not any(c.isspace() for c in key)


def encode_one(path, compress_level):
    """``(path, png_bytes, (h, w, c))`` of one image, read as 3-channel BGR."""
    img = read_image(path)
    return path, encode_png(img, compress_level), img.shape


def _existing_ancestor(path):
    path = Path(path).absolute()
    while not path.exists():
        path = path.parent
    return path


def check_free_space(output, needed_bytes):
    """PrepError if the disk holding ``output`` has less than ``needed_bytes`` free."""
    free = shutil.disk_usage(_existing_ancestor(output)).free
    if free < needed_bytes:
        raise PrepError(f'not enough disk space for {output}: it needs about {human_bytes(needed_bytes)}, '
                        f'{human_bytes(free)} are free')


#: free bytes an LMDB keeps in reserve beside each value it stores (its pages, the meta-info file, the commit)
GROWTH_RESERVE = 8 * 2**20


def check_room_to_grow(lmdb_path, value_bytes):
    """PrepError unless the disk holding ``lmdb_path`` has room for one more value of ``value_bytes``.

    An LMDB is a memory-mapped file: a page written on a full disk (a tmpfs above all) is a SIGBUS that kills the
    process with no message. Asked before each value is stored, so a disk that fills during the build (another
    process writing) ends in one line and the partial LMDB is discarded, never published.
    """
    free = shutil.disk_usage(_existing_ancestor(lmdb_path)).free
    if free < 2 * value_bytes + GROWTH_RESERVE:
        raise PrepError(f'the disk holding {lmdb_path} is full ({human_bytes(free)} free) while the LMDB grows; '
                        'nothing was published: free some space and rerun')


def map_size_for(infos):
    """LMDB map size: twice the raw pixel bytes (PNG never grows much past raw) plus page overhead and slack."""
    return 2 * sum(i.height * i.width * 3 + 8192 for i in infos) + 64 * 2**20


def write_lmdb(infos, lmdb_path, compress_level, workers, desc, key_of=None):
    """Write ``infos`` (in order) to a new LMDB at ``lmdb_path`` with BasicSR's LmdbMaker.

    Each image's key is ``key_of(path)`` of its own file (default: the name without extension), never its position.
    """
    from basicsr.utils.lmdb_util import LmdbMaker

    paths = [i.path for i in infos]
    key_of = key_of or file_key
    check_keys(paths, key_of)
    maker = LmdbMaker(str(lmdb_path), map_size=map_size_for(infos), compress_level=compress_level)
    try:
        for path, data, shape in parallel_map(functools.partial(encode_one, compress_level=compress_level), paths,
                                              workers, desc):
            check_room_to_grow(lmdb_path, len(data))
            maker.put(data, key_of(path), shape)
        maker.close()
    except lmdb.Error as err:
        _abandon(maker)
        raise PrepError(f'writing the LMDB failed: {err} (this usually means the disk is full or not writable)') \
            from err
    except BaseException:
        _abandon(maker)
        raise


def _abandon(maker):
    """Release a failed LmdbMaker's transaction, environment and meta_info file (each may already be closed)."""
    for release in (maker.txn.abort, maker.env.close, maker.txt_file.close):
        with contextlib.suppress(Exception):
            release()


def read_meta_info(lmdb_path):
    """``[(key, (h, w, c)), ...]`` from ``meta_info.txt``; PrepError on a malformed line."""
    entries = []
    for number, line in enumerate((Path(lmdb_path) / META_INFO).read_text().splitlines(), 1):
        match = _META_LINE.match(line)
        if not match:
            raise PrepError(f'{lmdb_path}/{META_INFO} line {number} is malformed: {line!r}')
        entries.append((match['key'], (int(match['h']), int(match['w']), int(match['c']))))
    return entries


def verify_lmdb(lmdb_path, expected_count):
    """Check an LMDB: key count = meta_info lines = ``expected_count``, same keys, and its first, middle and last
    entries decode to the shape meta_info records."""
    problems = []
    meta = read_meta_info(lmdb_path)
    env = lmdb.open(str(lmdb_path), readonly=True, lock=False, readahead=False)
    try:
        with env.begin() as txn:
            entries = env.stat()['entries']
            db_keys = {bytes(k).decode('ascii') for k in txn.cursor().iternext(keys=True, values=False)}
            if not (entries == len(meta) == expected_count):
                problems.append(f'{entries} keys, {len(meta)} meta_info lines, {expected_count} inputs')
            elif db_keys != {key for key, _ in meta}:
                problems.append('the keys differ from the names in meta_info.txt')
            picks = sorted({0, len(meta) // 2, len(meta) - 1}) if meta else []
            for key, shape in [meta[i] for i in picks]:
                got = _shape(_decode(txn.get(key.encode('ascii'))))
                if got != shape:
                    problems.append(f'entry {key} decodes to {got}, meta_info records {shape}')
    finally:
        env.close()
    if problems:
        raise PrepError(f'LMDB {lmdb_path} failed verification: ' + '; '.join(problems))
    return entries


def build_verified_lmdb(infos, output, compress_level=1, workers=1, overwrite=False, desc=None):
    """Write ``infos`` to ``<output stem>.partial.lmdb``, verify it and move it to ``output``."""
    output = Path(output)
    if output.suffix != '.lmdb':
        raise PrepError(f'--output must end with .lmdb (BasicSR requires it), got {output}')
    with StagedOutput(output, overwrite, create=False) as staged:
        check_free_space(staged.partial, sum(i.path.stat().st_size for i in infos))
        write_lmdb(infos, staged.partial, compress_level, workers, desc or f'write {output.name}')
        verify_lmdb(staged.partial, len(infos))
        staged.commit()


def build_lmdb_in_workspace(workspace, name, infos, compress_level=1, workers=1, key_of=None):
    """Build and verify ``<workspace>/<name>`` unless an earlier (interrupted) run already did; return its path.

    A verified LMDB is marked by ``.<name>.verified``; anything else found there is half-written and rebuilt.
    """
    path, marker = Path(workspace) / name, Path(workspace) / f'.{name}.verified'
    if marker.exists() and path.exists():
        info(f'{name} was already built and verified by the interrupted run')
        return path
    remove_path(path)
    check_free_space(path, sum(i.path.stat().st_size for i in infos))
    write_lmdb(infos, path, compress_level, workers, desc=f'write {name}', key_of=key_of)
    verify_lmdb(path, len(infos))
    marker.touch()
    return path


def _decode(value):
    """The image stored in an LMDB value, or None when it does not decode."""
    if value is None:
        return None
    return cv2.imdecode(np.frombuffer(value, np.uint8), cv2.IMREAD_UNCHANGED)


def _shape(img):
    return None if img is None else (img.shape if img.ndim == 3 else img.shape + (1,))


def verify_pair(gt_lmdb, lq_lmdb, scale):
    """GT and LQ LMDBs hold the same keys, and for every key both entries decode and the GT is exactly ``scale``
    times the LQ (height and width; same channels). PrepError names the keys that fail.

    Pairs are looked up by key, each entry is decoded (meta_info.txt is not trusted) and both shapes must also match
    what meta_info.txt records, since BasicSR's datasets take the keys from there.
    """
    gt_meta, lq_meta = dict(read_meta_info(gt_lmdb)), dict(read_meta_info(lq_lmdb))
    if gt_meta.keys() != lq_meta.keys():
        only_gt, only_lq = sorted(gt_meta.keys() - lq_meta.keys()), sorted(lq_meta.keys() - gt_meta.keys())
        raise PrepError(f'{gt_lmdb} and {lq_lmdb} hold different keys ({len(gt_meta)} vs {len(lq_meta)}; only in '
                        f'GT: {name_list(only_gt) or "-"}; only in LQ: {name_list(only_lq) or "-"})')
    wrong = []
    gt_env = lmdb.open(str(gt_lmdb), readonly=True, lock=False, readahead=False)
    lq_env = lmdb.open(str(lq_lmdb), readonly=True, lock=False, readahead=False)
    try:
        with gt_env.begin() as gt_txn, lq_env.begin() as lq_txn:
            for key in gt_meta:
                gt = _shape(_decode(gt_txn.get(key.encode('ascii'))))
                lq = _shape(_decode(lq_txn.get(key.encode('ascii'))))
                if gt is None or lq is None:
                    wrong.append(f'{key} (does not decode)')
                elif gt != (lq[0] * scale, lq[1] * scale, lq[2]) or (gt, lq) != (gt_meta[key], lq_meta[key]):
                    wrong.append(f'{key} (GT {gt[1]}x{gt[0]}x{gt[2]}, LQ {lq[1]}x{lq[0]}x{lq[2]})')
    finally:
        gt_env.close()
        lq_env.close()
    if wrong:
        raise PrepError(f'GT is not exactly x{scale} its LQ for key(s) {name_list(wrong)} ({gt_lmdb}, {lq_lmdb})')


def verify_entries_match_files(lmdb_path, file_of_key):
    """Every key of ``lmdb_path`` decodes to exactly the pixels of ``file_of_key(key)``, the file named for it.

    A check by name, independent of the order the LMDB was written in: an entry holding another image of the same
    size fails it. PrepError names the keys that differ.
    """
    wrong = []
    env = lmdb.open(str(lmdb_path), readonly=True, lock=False, readahead=False)
    try:
        with env.begin() as txn:
            for key, _ in read_meta_info(lmdb_path):
                stored = _decode(txn.get(key.encode('ascii')))
                if stored is None or not np.array_equal(stored, read_image(file_of_key(key))):
                    wrong.append(key)
    finally:
        env.close()
    if wrong:
        raise PrepError(f'LMDB {lmdb_path} failed verification: the entries of key(s) {name_list(wrong)} differ from '
                        'the files of those names')


def create_lmdb(input_dir, output, compress_level=1, workers=1, overwrite=False):
    """The whole step for one folder; returns the Summary."""
    summary = Summary('create_lmdb')
    refuse_overlap(staged_outputs('--output', output), [('--input', input_dir)])
    infos = scan_images(list_images(input_dir))
    check_keys([i.path for i in infos])
    summary.notes += report_colour_conversions(infos)
    build_verified_lmdb(infos, output, compress_level, workers, overwrite)
    summary.bytes_written = tree_bytes(output)
    summary.images = len(infos)
    summary.notes.append(f'verified {output}: {len(infos)} keys = meta_info lines = input images')
    return summary.finish()
