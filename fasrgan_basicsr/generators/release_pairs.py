"""The authors' released Fs-SRGAN / FA+Fs-SRGAN weights — an extractor file and a generator file — as one generator.

The release saves its feature-sharing models' shared extractor (``model_ex``, ``<iter>_E.pth``) and generator
(``RRDBNet_G``, ``<iter>_G.pth``) separately. :func:`join_release_fs` reads both (weights only), checks that they
are the two halves of one network (``archs/release_layouts.py``), and writes one checkpoint of this project: an
``FsRRDBNet`` with ``layout: stacked`` under ``params``, which computes the release's ``G(E(x))`` and loads
wherever this project's generators load (``pretrain_network_g``, ``fasrgan-infer``, ``fasrgan-export``, spandrel
after :func:`fasrgan_basicsr.interop.spandrel.install`).
"""
from os import path as osp

from basicsr.archs import build_network

from fasrgan_basicsr.archs.release_layouts import PairError, join_fs_pair
from fasrgan_basicsr.utils.checkpoint import atomic_torch_save, fit_state_dict, read_weights
from fasrgan_basicsr.utils.errors import UserError


def join_release_fs(extractor_path, generator_path, output_path, overwrite=False):
    """Join the release's ``_E.pth`` and ``_G.pth`` into ``output_path``; returns ``(network_g options, net)``.

    Raises:
        UserError: a file is missing or unreadable, the two are not an extractor and its generator (swapped,
            a whole generator, a discriminator, parts of different networks: the message says what each is),
            or ``output_path`` exists (without ``overwrite``) or is one of the inputs.
    """
    for path in (extractor_path, generator_path):
        if osp.exists(output_path) and osp.exists(path) and osp.samefile(output_path, path):
            raise UserError(f'-o {output_path}: is one of the input files; choose another output.')
    if osp.isdir(output_path):
        raise UserError(f'-o {output_path}: is a folder; expected the path of the checkpoint to write.')
    if osp.exists(output_path) and not overwrite:
        raise UserError(f'-o {output_path}: exists; pass --overwrite to replace it.')
    extractor = read_weights(extractor_path, convert=False).state
    generator = read_weights(generator_path, convert=False).state
    try:
        state, opt = join_fs_pair(extractor, generator, f'--extractor {extractor_path}',
                                  f'--generator {generator_path}')
    except PairError as err:
        raise UserError(str(err)) from None
    net = build_network(dict(opt))
    fit_state_dict(net, state, output_path, strict=True)  # every tensor placed, none missing
    folder = osp.dirname(osp.abspath(output_path))
    if not osp.isdir(folder):
        raise UserError(f'-o {output_path}: its folder {folder} does not exist.')
    atomic_torch_save({'params': net.state_dict()}, output_path)
    return opt, net.eval()
