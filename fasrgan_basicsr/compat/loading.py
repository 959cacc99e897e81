"""Fix 3: ``BaseModel.load_network`` weights-only, naming the file it loads and why a file does not fit.

Checkpoints of a foreign layout the package maps (the authors' release, :mod:`fasrgan_basicsr.utils.state_layouts`)
load too, and the log says which layout was read.

BasicSR relies on ``torch.load``'s default, which became ``weights_only=True`` only in torch 2.6; here every
network checkpoint goes through the package's one checkpoint loader (:mod:`fasrgan_basicsr.utils.checkpoint`).
"""
from basicsr.utils import get_root_logger

from fasrgan_basicsr.utils.checkpoint import fit_state_dict, read_weights


def load_network(self, net, load_path, strict=True, param_key='params'):
    """Drop-in for ``BaseModel.load_network``: weights-only, names what it loads, and why a file does not fit."""
    logger = get_root_logger()
    net = self.get_bare_model(net)
    state, used, layout = read_weights(load_path, (param_key, 'params') if param_key is not None else ())
    logger.info(f'Loading {net.__class__.__name__} model from {load_path}, with param key: [{used or "(top level)"}].')
    if layout is not None:
        logger.info(f'Loading: {load_path} is {layout.description}; its keys are read under this project\'s names.')
    if param_key is not None and used != param_key:
        logger.info(f'Loading: {param_key} does not exist in {load_path}, use {used or "its top level"}.')
    for note in fit_state_dict(net, state, load_path, strict):
        logger.warning(note)
