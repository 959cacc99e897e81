"""The perceptual term loads VGG19 through torchvision's real loader, from a stand-in checkpoint."""
import torch
from basicsr.losses import build_loss
from conftest import build_training_model, tiny_batch, tiny_options

PERCEPTUAL = {'type': 'PerceptualLoss', 'layer_weights': {'conv5_4': 1}, 'vgg_type': 'vgg19', 'use_input_norm': True,
              'range_norm': False, 'perceptual_weight': 1.0, 'style_weight': 0, 'criterion': 'l1'}


def test_vgg19_weights_come_from_the_torch_cache(stand_in_vgg19):
    loss = build_loss(PERCEPTUAL)
    vgg = loss.vgg.vgg_net
    assert torch.equal(vgg.conv1_1.weight, stand_in_vgg19['features.0.weight'])
    assert torch.equal(vgg.conv5_4.weight, stand_in_vgg19['features.34.weight'])  # conv5_4, before its ReLU
    assert list(vgg._modules)[-1] == 'conv5_4'  # features stop before relu5_4
    x, y = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    percep, style = loss(x, y)
    assert style is None and percep.item() > 0 and loss(x, x)[0].item() == 0


def test_fasrgan_generator_update_includes_the_perceptual_term(stand_in_vgg19, tmp_path):
    data = {'train_gt': '.', 'train_lq': '.', 'val_gt': '.', 'val_lq': '.'}
    model = build_training_model(tiny_options(data, perceptual_opt=PERCEPTUAL), tmp_path)
    model.feed_data(tiny_batch())
    terms = model.optimize_generator(current_iter=1)
    assert list(terms) == ['l_g_pix', 'l_g_percep', 'l_g_gan', 'l_g_fine', 'l_g_attention']
    assert all(not p.requires_grad for p in model.cri_perceptual.parameters())  # VGG stays fixed
