"""Each speed-up of the GAN step keeps the step's mathematics: losses and every parameter's gradient.

Models are built twice from the same seed with learning rate 0 (Adam then leaves the weights as they
are), run one iteration each way on the same batch, and their ``.grad`` tensors are compared.
"""
import os
import sys

import pytest
import torch
from conftest import NO_DATA, build_training_model, tiny_batch, tiny_options

FS_G = {'type': 'FsRRDBNet', 'num_feat': 8, 'num_grow_ch': 4, 'num_shared_block': 1, 'num_block': 1}
VARIANTS = {
    'FASRGAN': dict(),
    'SRGAN_FA': dict(model_type='SRGANFAModel'),
    'woFs': dict(model_type='FsSRGANModel', network_g=FS_G, share_extractor=False, map_gan_opt=None,
                 attention_opt=None, network_d={'type': 'VGGFeatureDiscriminator', 'num_in_ch': 8, 'num_feat': 4,
                                                'input_size': 32}),
}


def one_iteration(tmp_path, seed=0, **extra):
    torch.manual_seed(seed)
    opt = tiny_options(NO_DATA, **extra)
    opt['train']['optim_g']['lr'] = opt['train']['optim_d']['lr'] = 0
    model = build_training_model(opt, tmp_path)
    model.feed_data(tiny_batch())
    model.optimize_parameters(current_iter=1)
    grads = {f'{n}.{k}': p.grad.detach().clone() for n, net in (('g', model.net_g), ('d', model.net_d))
             for k, p in net.named_parameters() if p.grad is not None}
    extractor = getattr(model, 'net_d_extractor', None)
    if extractor is not None and model.share_extractor is False:
        grads.update({f'e.{k}': p.grad.detach().clone() for k, p in extractor.named_parameters()})
    return model, {k: v.item() for k, v in model._last_terms.items()}, grads


def assert_same(a, b, grad_tol, loss_rel=1e-4):
    (_, losses_a, grads_a), (_, losses_b, grads_b) = a, b
    assert losses_a.keys() == losses_b.keys() and grads_a.keys() == grads_b.keys()
    for k in losses_a:
        assert losses_b[k] == pytest.approx(losses_a[k], rel=loss_rel, abs=1e-7), k
    scale = max(g.abs().max().item() for g in grads_a.values())
    for k in grads_a:  # absolute, against the largest gradient: some biases have a zero gradient up to round-off
        assert (grads_a[k] - grads_b[k]).abs().max().item() <= grad_tol * scale, k


@pytest.mark.parametrize('variant', list(VARIANTS))
def test_reusing_discriminator_outputs_equals_the_straightforward_step(tmp_path, variant):
    straightforward = one_iteration(tmp_path, reuse_discriminator_outputs=False, **VARIANTS[variant])
    reused = one_iteration(tmp_path, reuse_discriminator_outputs=True, **VARIANTS[variant])
    assert reused[0].reuse_discriminator_outputs and not straightforward[0].reuse_discriminator_outputs
    assert_same(straightforward, reused, grad_tol=1e-6)


def test_a_shared_extractor_keeps_the_straightforward_step(tmp_path):
    # the generator's update trains the shared extractor, i.e. changes the discriminator: nothing can be reused
    shared = dict(VARIANTS['woFs'], share_extractor=True)
    assert one_iteration(tmp_path, **shared)[0].reuse_discriminator_outputs is False


def test_channels_last_equals_contiguous(tmp_path):
    assert_same(one_iteration(tmp_path), one_iteration(tmp_path, channels_last=True), grad_tol=1e-4)


def test_compiled_forwards_equal_eager(tmp_path):
    # aot_eager traces the same graphs torch.compile does (dynamo + AOT autograd) without generating kernels,
    # which keeps this test fast; compile: true uses inductor
    assert_same(one_iteration(tmp_path), one_iteration(tmp_path, compile='aot_eager'), grad_tol=1e-4)


# Differences of each loss term from fp32 measured on this step (4 model/batch seeds, CPU autocast): the whole-image
# relativistic terms (differences of the discriminator's raw scores, ~0.1, where bf16's 8-bit mantissa shows) up
# to 1.63 % in bf16 and 0.19 % in fp16; every other term up to 0.09 % in bf16 and 0.01 % in fp16. The tolerances
# are about 2 to 5 times those, so that a term computed wrongly in a mixed-precision step by a per cent fails.
WHOLE_IMAGE_TERMS = ('l_g_gan', 'l_d_real', 'l_d_fake')
AMP_LOSS_REL = {'bf16': {'whole_image': 0.03, 'other': 0.005}, 'fp16': {'whole_image': 0.005, 'other': 0.0005}}


def assert_losses_close_to_fp32(fp32, amp, precision):
    terms = [k for k in fp32[1] if k.startswith('l_')]  # out_* are means of raw scores near 0, coarse in bf16
    assert terms and set(terms) <= set(amp[1])
    for k in terms:
        rel = AMP_LOSS_REL[precision]['whole_image' if k in WHOLE_IMAGE_TERMS else 'other']
        assert amp[1][k] == pytest.approx(fp32[1][k], rel=rel, abs=0), k


def gradient_agreement(fp32, amp, part):
    """Cosine similarity and norm ratio of all of one network's gradients, amp against fp32."""
    a = torch.cat([g.flatten() for k, g in fp32[2].items() if k.startswith(part)])
    b = torch.cat([g.flatten() for k, g in amp[2].items() if k.startswith(part)])
    assert torch.isfinite(b).all(), part
    return torch.nn.functional.cosine_similarity(a, b, dim=0).item(), (b.norm() / a.norm()).item()


def test_bf16_autocast(tmp_path):
    fp32 = one_iteration(tmp_path)
    bf16_reused = one_iteration(tmp_path, mixed_precision='bf16')
    bf16_straight = one_iteration(tmp_path, mixed_precision='bf16', reuse_discriminator_outputs=False)
    # the reuse optimisation is exact in bf16 too
    assert_same(bf16_straight, bf16_reused, grad_tol=1e-6)
    assert_losses_close_to_fp32(fp32, bf16_reused, 'bf16')
    # gradients point the same way, at the same size: measured cosines 0.71 (G) and 0.94 (D) for this seed
    # (0.50-0.89 and 0.88-0.97 over 4 seeds; many of G's gradients are bf16 round-off), norm ratios 0.83 and 0.99
    cos_g, norm_g = gradient_agreement(fp32, bf16_reused, 'g.')
    cos_d, norm_d = gradient_agreement(fp32, bf16_reused, 'd.')
    assert cos_g > 0.5 and cos_d > 0.8
    assert 1 / 1.5 < norm_g < 1.5 and 1 / 1.5 < norm_d < 1.5


def test_fp16_autocast_losses_and_generator_gradients(tmp_path):
    fp32 = one_iteration(tmp_path)
    fp16 = one_iteration(tmp_path, mixed_precision='fp16')
    assert_losses_close_to_fp32(fp32, fp16, 'fp16')
    # measured: cosine 0.93 (0.92-0.998 over 4 seeds), norm ratio 1.04. The discriminator's gradients overflow fp16
    # at the scaler's initial scale 2^16 on this first step (the scaler then skips it: the next test)
    cos_g, norm_g = gradient_agreement(fp32, fp16, 'g.')
    assert cos_g > 0.8 and 1 / 1.5 < norm_g < 1.5


def test_fp16_uses_a_gradient_scaler_that_skips_overflowing_steps(tmp_path):
    torch.manual_seed(0)
    model = build_training_model(tiny_options(NO_DATA, mixed_precision='fp16'), tmp_path)
    assert model.grad_scaler.is_enabled()
    start = model.grad_scaler.get_scale()
    for it in range(1, 4):
        model.feed_data(tiny_batch(seed=it))
        model.optimize_parameters(current_iter=it)
    assert model.grad_scaler.get_scale() <= start
    assert all(torch.isfinite(p).all() for p in model.net_g.parameters())
    assert all(torch.isfinite(p).all() for p in model.net_d.parameters())


def test_the_step_never_reads_values_back_to_the_host(tmp_path, monkeypatch):
    model = build_training_model(tiny_options(NO_DATA), tmp_path)
    model.feed_data(tiny_batch())
    calls = []

    def forbid(name):
        original = getattr(torch.Tensor, name)

        def guarded(self, *args, **kwargs):
            caller = sys._getframe(1).f_code.co_filename
            # torch itself reads host-side scalars (e.g. Adam's step counter, a CPU tensor even on GPU)
            if f'{os.sep}torch{os.sep}' not in caller:
                calls.append(f'{name} from {caller}:{sys._getframe(1).f_lineno}')
            return original(self, *args, **kwargs)
        return guarded

    with monkeypatch.context() as patch:
        for name in ('item', 'tolist', 'cpu', 'numpy', '__bool__', '__float__', '__int__', '__index__'):
            patch.setattr(torch.Tensor, name, forbid(name))
        model.optimize_parameters(current_iter=1)
    assert calls == [], 'host-device synchronisation inside the training step'
    assert model.grad_scaler.is_enabled() is False  # fp16's scaler must check for overflow: one read per step
    assert set(model.get_current_log()) >= {'l_g_gan', 'l_d_real'}  # read at the logging interval


def test_non_finite_losses_are_tracked_on_device_and_reported_with_their_first_iteration(tmp_path):
    from fasrgan_basicsr.pipeline.resilience import DivergenceError

    model = build_training_model(tiny_options(NO_DATA), tmp_path)
    for it in range(1, 4):
        batch = tiny_batch(seed=it)
        if it == 2:
            batch['gt'][0, 0, 0, 0] = float('nan')
        model.feed_data(batch)
        model.optimize_parameters(current_iter=it)
    with pytest.raises(DivergenceError, match=r'loss term l_g_pix became non-finite at iteration 2'):
        model.get_current_log()
    with pytest.raises(DivergenceError):
        model.save(epoch=0, current_iter=3)
    assert not any((tmp_path / 'experiments' / 'tiny' / 'models').iterdir())


def test_fused_adam_of_the_option_files_makes_the_same_update(tmp_path):
    models = []
    for fused in (False, True):
        torch.manual_seed(0)
        opt = tiny_options(NO_DATA)
        for key in ('optim_g', 'optim_d'):
            opt['train'][key]['fused'] = fused
        model = build_training_model(opt, tmp_path)
        model.feed_data(tiny_batch())
        model.optimize_parameters(current_iter=1)
        models.append(model)
    for net in ('net_g', 'net_d'):
        a, b = (dict(getattr(m, net).named_parameters()) for m in models)
        for k in a:
            assert torch.equal(a[k].grad, b[k].grad), f'{net}.{k}'  # same step up to the optimizer
            # Adam's first step is lr · g / (|g| + eps): where |g| is round-off (conv biases before BatchNorm, the
            # relativistic score's bias), any two implementations may step differently
            meaningful = a[k].grad.abs() > 1e-6
            assert torch.allclose(a[k][meaningful], b[k][meaningful], rtol=0, atol=1e-7), f'{net}.{k}'
