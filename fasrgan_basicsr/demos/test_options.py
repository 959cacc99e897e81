"""The test option file each demo writes for its trained generator: BasicSR's plain ``SRModel`` on the EMA weights."""
import yaml


def plain(value):
    """``value`` with every mapping a plain dict (the option reader's are ``OrderedDict``, which YAML's safe dumper
    does not write)."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def write_test_options(path, train_opt, test_name, dataset_name):
    """Write a BasicSR test option file ``path`` named ``test_name`` that evaluates the generator of the training
    run ``train_opt`` (its ``net_g_latest.pth``, EMA weights) on its validation set, renamed ``dataset_name``."""
    opt = {
        'name': test_name,
        'model_type': 'SRModel',
        'scale': train_opt['scale'],
        'num_gpu': 0,
        'datasets': {'test_1': dict(train_opt['datasets']['val'], name=dataset_name)},
        'network_g': train_opt['network_g'],
        'path': {'pretrain_network_g': f'experiments/{train_opt["name"]}/models/net_g_latest.pth',
                 'param_key_g': 'params_ema', 'strict_load_g': True},
        'val': {'save_img': True, 'suffix': None, 'metrics': train_opt['val']['metrics']},
    }
    with open(path, 'w', encoding='utf-8') as f:
        yaml.safe_dump(plain(opt), f, sort_keys=False)
