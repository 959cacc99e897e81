"""The FASRGAN demo: a small RRDBNet pretrained with L1, then a small FASRGAN, tested, and its score maps drawn."""
import yaml


def write_test_options(path, train_opt):
    """A BasicSR test option file evaluating the FASRGAN generator (EMA weights) with plain SRModel."""
    opt = {
        'name': 'FASRGAN_demo_test',
        'model_type': 'SRModel',
        'scale': 4,
        'num_gpu': 0,
        'datasets': {'test_1': dict(train_opt['datasets']['val'], name='demo_val')},
        'network_g': train_opt['network_g'],
        'path': {'pretrain_network_g': 'experiments/FASRGAN_demo/models/net_g_latest.pth',
                 'param_key_g': 'params_ema', 'strict_load_g': True},
        'val': {'save_img': True, 'suffix': None, 'metrics': train_opt['val']['metrics']},
    }
    with open(path, 'w') as f:
        yaml.safe_dump(opt, f, sort_keys=False)
