"""Measure what ``train.batchnorm_updates: release`` changes: the numbers of docs/authors_models.md.

    PYTHONPATH=. python tools/measure_batchnorm_updates.py [--iterations 200]

Trains a tiny FASRGAN (RRDBNet of 8 features, UNet discriminator of 4) twice from the same seed on the same random
32-pixel batches, once per setting of ``batchnorm_updates``, on the CPU, and prints the largest weight difference
(expected 0: training normalises with batch statistics), the relative difference of some BatchNorm running
statistics, and the difference of the eval-mode score maps of a photograph (scikit-image's astronaut) and of the
generator's output for it.
"""
import argparse
import os
import tempfile

import torch

import fasrgan_basicsr  # noqa: F401  (registers the plugin)
from fasrgan_basicsr.demos.photos import load_photo


def tiny_model(mode, root, lr):
    from basicsr.models import build_model
    opt = {
        'name': f'bn_{mode}', 'model_type': 'FASRGANModel', 'scale': 4, 'num_gpu': 0, 'manual_seed': 0,
        'is_train': True, 'dist': False, 'rank': 0, 'world_size': 1, 'auto_resume': False,
        'network_g': {'type': 'RRDBNet', 'num_in_ch': 3, 'num_out_ch': 3, 'num_feat': 8, 'num_block': 1,
                      'num_grow_ch': 4},
        'network_d': {'type': 'UNetDiscriminatorFA', 'num_in_ch': 3, 'num_feat': 4, 'input_size': 32},
        'path': {'pretrain_network_g': None, 'strict_load_g': True, 'resume_state': None,
                 **{k: os.path.join(root, k) for k in ('experiments_root', 'models', 'training_states', 'log',
                                                       'visualization')}},
        'train': {'ema_decay': 0, 'batchnorm_updates': mode,
                  'optim_g': {'type': 'Adam', 'lr': lr, 'betas': [0.9, 0.99]},
                  'optim_d': {'type': 'Adam', 'lr': lr, 'betas': [0.9, 0.99]},
                  'scheduler': {'type': 'MultiStepLR', 'milestones': [10 ** 9], 'gamma': 0.5},
                  'total_iter': 10 ** 9, 'warmup_iter': -1,
                  'pixel_opt': {'type': 'L1Loss', 'loss_weight': 1e-2, 'reduction': 'mean'},
                  'gan_opt': {'type': 'GANLoss', 'gan_type': 'vanilla', 'loss_weight': 5e-3},
                  'map_gan_opt': {'type': 'ScoreMapGANLoss', 'gan_type': 'vanilla', 'loss_weight': 5e-3},
                  'attention_opt': {'type': 'AttentionL1Loss', 'loss_weight': 1e-2},
                  'net_d_iters': 1, 'net_d_init_iters': 0},
        'val': {'val_freq': 10 ** 9, 'save_img': False},
        'logger': {'print_freq': 10 ** 9, 'save_checkpoint_freq': 10 ** 9, 'use_tb_logger': False},
    }
    for key in ('models', 'training_states'):
        os.makedirs(opt['path'][key], exist_ok=True)
    return build_model(opt)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--iterations', type=int, default=200)
    parser.add_argument('--lr', type=float, default=1e-4)
    args = parser.parse_args()
    photo = torch.from_numpy(load_photo('astronaut', downscale=4)[:32, :32].copy()).permute(2, 0, 1).float()
    photo = photo.div(255).unsqueeze(0)
    runs = {}
    for mode in ('step', 'release'):
        torch.manual_seed(0)
        model = tiny_model(mode, tempfile.mkdtemp(), args.lr)
        gen = torch.Generator().manual_seed(1)
        for it in range(1, args.iterations + 1):
            model.feed_data({'lq': torch.rand(2, 3, 8, 8, generator=gen),
                             'gt': torch.rand(2, 3, 32, 32, generator=gen)})
            model.optimize_parameters(it)
        with torch.no_grad():
            _, real_map = model.net_d.eval()(photo)
            _, fake_map = model.net_d(model.net_g.eval()(torch.nn.functional.interpolate(photo, scale_factor=0.25,
                                                                                           mode='area')))
        runs[mode] = (model.net_d.state_dict(), torch.sigmoid(real_map), torch.sigmoid(fake_map))
    (a, real_a, fake_a), (b, real_b, fake_b) = runs['step'], runs['release']
    stats = ('running_mean', 'running_var', 'num_batches_tracked')
    print('largest weight difference:', max((a[k] - b[k]).abs().max().item() for k in a if not k.endswith(stats)))
    for key in ('enc1.1.running_mean', 'enc4.4.running_var', 'dec1.4.running_mean'):
        print(f'{key}: relative difference {((a[key] - b[key]).norm() / a[key].norm()).item():.4f}')
    for name, x, y in (('score map of the photograph', real_a, real_b), ('score map of its SR', fake_a, fake_b)):
        print(f'{name}: mean |difference| {(x - y).abs().mean().item():.4f}, largest {(x - y).abs().max().item():.4f}')


if __name__ == '__main__':
    main()
