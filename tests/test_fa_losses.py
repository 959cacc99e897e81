"""Hand-computed values of AttentionL1Loss, ScoreMapGANLoss and the relativistic terms."""
import math

import pytest
import torch
from basicsr.losses import build_loss

import fasrgan_basicsr  # noqa: F401
from fasrgan_basicsr.losses.adversarial import discriminator_adversarial_loss, generator_adversarial_loss

LN2 = math.log(2)


def sp(x):  # softplus: BCE(x, 0) = sp(x), BCE(x, 1) = sp(-x)
    return math.log1p(math.exp(x))


# ------------------------------------------------------------------------------------------- attention
def _attention_inputs():
    pred = torch.tensor([[[[0., 2.], [3., 1.]]]])
    target = torch.ones(1, 1, 2, 2)
    prob = torch.tensor([[[[0.5, 1.0], [0.0, 0.25]]]])
    # (1 - M) = [.5, 0, 1, .75], |pred - target| = [1, 1, 2, 0] → products [.5, 0, 2, 0]
    return pred, target, prob


def test_attention_l1_from_probabilities():
    pred, target, prob = _attention_inputs()
    loss = build_loss({'type': 'AttentionL1Loss', 'loss_weight': 1.0, 'map_is_logits': False})
    assert loss(pred, target, prob).item() == pytest.approx(2.5 / 4)
    assert build_loss({'type': 'AttentionL1Loss', 'loss_weight': 0.01, 'map_is_logits': False,
                       'reduction': 'sum'})(pred, target, prob).item() == pytest.approx(0.025)
    per_pixel = build_loss({'type': 'AttentionL1Loss', 'map_is_logits': False, 'reduction': 'none'})
    assert per_pixel(pred, target, prob).flatten().tolist() == [0.5, 0.0, 2.0, 0.0]


def test_attention_l1_from_logits_equals_sigmoid_of_them():
    pred, target, _ = _attention_inputs()
    logits = torch.tensor([[[[0., math.log(3)], [-math.log(3), 2.]]]])  # σ = .5, .75, .25, .8808
    expected = (0.5 * 1 + 0.25 * 1 + 0.75 * 2 + (1 - 1 / (1 + math.exp(-2))) * 0) / 4
    assert build_loss({'type': 'AttentionL1Loss'})(pred, target, logits).item() == pytest.approx(expected)


def test_attention_weight_carries_no_gradient():
    pred, target, prob = _attention_inputs()
    pred.requires_grad_(True)
    score_map = prob.clone().requires_grad_(True)
    build_loss({'type': 'AttentionL1Loss', 'map_is_logits': False})(pred, target, score_map).backward()
    assert score_map.grad is None
    # d/dpred of mean((1-M)|pred-target|) = (1-M) sign(pred-target) / N
    assert pred.grad.flatten().tolist() == pytest.approx([-0.5 / 4, 0.0, 1.0 / 4, 0.75 * 0 / 4])


def test_attention_single_channel_map_broadcasts_over_rgb():
    pred, target = torch.zeros(1, 3, 2, 2), torch.ones(1, 3, 2, 2)
    prob = torch.tensor([[[[1.0, 0.0], [0.5, 0.5]]]])
    loss = build_loss({'type': 'AttentionL1Loss', 'map_is_logits': False})
    assert loss(pred, target, prob).item() == pytest.approx((0 + 1 + 0.5 + 0.5) / 4)
    with pytest.raises(ValueError, match='does not match pred'):
        loss(pred, target, torch.zeros(1, 2, 2, 2))
    with pytest.raises(ValueError, match=r'score_map of shape \(1, 1, 3, 2\) does not match pred'):
        loss(pred, target, torch.zeros(1, 1, 3, 2))  # same number of dimensions, another height


def test_attention_per_channel_map_weights_each_channel():
    pred, target = torch.zeros(1, 3, 1, 2), torch.ones(1, 3, 1, 2)
    prob = torch.tensor([[[[1.0, 0.0]], [[0.5, 0.25]], [[0.0, 0.0]]]])  # (1, 3, 1, 2): one weight per element
    per_element = build_loss({'type': 'AttentionL1Loss', 'map_is_logits': False, 'reduction': 'none'})
    assert per_element(pred, target, prob).flatten().tolist() == [0.0, 1.0, 0.5, 0.75, 1.0, 1.0]


def test_attention_unbatched_input_equals_a_batch_of_one():
    pred, target, prob = _attention_inputs()
    loss = build_loss({'type': 'AttentionL1Loss', 'map_is_logits': False})
    assert loss(pred[0], target[0], prob[0]).item() == pytest.approx(2.5 / 4)


def test_attention_rejects_unknown_reduction_naming_it():
    with pytest.raises(ValueError, match=r"AttentionL1Loss: reduction must be one of .*got 'max'"):
        build_loss({'type': 'AttentionL1Loss', 'reduction': 'max'})


# --------------------------------------------------------------------------------------- score-map GAN
def test_vanilla_score_map_loss_is_pixelwise_bce():
    logits = torch.tensor([[[[0., math.log(3)]]]])
    loss = build_loss({'type': 'ScoreMapGANLoss', 'gan_type': 'vanilla', 'loss_weight': 0.5})
    # real: BCE(0,1)=ln2, BCE(ln3,1)=ln(4/3); fake: BCE(0,0)=ln2, BCE(ln3,0)=ln4
    assert loss(logits, True, is_disc=True).item() == pytest.approx((LN2 + math.log(4 / 3)) / 2)
    assert loss(logits, False, is_disc=True).item() == pytest.approx((LN2 + math.log(4)) / 2)
    assert loss(logits, True, is_disc=False).item() == pytest.approx(0.5 * (LN2 + math.log(4 / 3)) / 2)
    none = build_loss({'type': 'ScoreMapGANLoss', 'reduction': 'none'})(logits, False, is_disc=True)
    assert none.shape == logits.shape and none.flatten().tolist() == pytest.approx([LN2, math.log(4)])


def test_lsgan_and_hinge_score_map_losses():
    x = torch.tensor([[[[-0.5, 2.0]]]])
    ls = build_loss({'type': 'ScoreMapGANLoss', 'gan_type': 'lsgan'})
    assert ls(x, True, is_disc=True).item() == pytest.approx((2.25 + 1.0) / 2)
    assert ls(x, False, is_disc=True).item() == pytest.approx((0.25 + 4.0) / 2)
    hinge = build_loss({'type': 'ScoreMapGANLoss', 'gan_type': 'hinge', 'loss_weight': 2.0})
    assert hinge(x, True, is_disc=True).item() == pytest.approx((1.5 + 0.0) / 2)
    assert hinge(x, False, is_disc=True).item() == pytest.approx((0.5 + 3.0) / 2)
    assert hinge(x, True, is_disc=False).item() == pytest.approx(-2.0 * 1.5 / 2)


def test_score_map_loss_defaults_to_an_unweighted_generator_loss():
    logits = torch.tensor([[[[0., math.log(3)]]]])
    loss = build_loss({'type': 'ScoreMapGANLoss'})  # loss_weight 1, is_disc False
    assert loss(logits, True).item() == pytest.approx((LN2 + math.log(4 / 3)) / 2)
    weighted = build_loss({'type': 'ScoreMapGANLoss', 'loss_weight': 0.5})
    assert weighted(logits, True).item() == pytest.approx(0.5 * (LN2 + math.log(4 / 3)) / 2)


def test_score_map_loss_rejects_unknown_types():
    with pytest.raises(ValueError, match='gan_type must be one of'):
        build_loss({'type': 'ScoreMapGANLoss', 'gan_type': 'wgan'})
    with pytest.raises(ValueError, match='reduction must be one of'):
        build_loss({'type': 'ScoreMapGANLoss', 'reduction': 'max'})


# ---------------------------------------------------------------------------------------- relativistic
def _scores():
    # asymmetric on purpose: E[C_r] = 2.5, E[C_f] = 0.5 → C_r - E[C_f] = [0.5, 3.5], C_f - E[C_r] = [-2.5, -1.5];
    # no two of the four BCE terms below are equal, so one side in place of the other, a one-sided loss or
    # l_real and l_fake swapped all change a value
    return torch.tensor([[1.], [4.]]), torch.tensor([[0.], [1.]])


def test_relativistic_discriminator_terms():
    cri = build_loss({'type': 'GANLoss', 'gan_type': 'vanilla', 'loss_weight': 5e-3})  # D's loss is never weighted
    real, fake = _scores()
    l_real, l_fake = discriminator_adversarial_loss(cri, real, fake, relativistic=True)
    assert l_real.item() == pytest.approx(0.5 * (sp(-0.5) + sp(-3.5)) / 2)  # ½ BCE([0.5, 3.5], 1) = 0.1260
    assert l_fake.item() == pytest.approx(0.5 * (sp(-2.5) + sp(-1.5)) / 2)  # ½ BCE([-2.5, -1.5], 0) = 0.0701
    # the relativistic form is the default
    assert [t.item() for t in discriminator_adversarial_loss(cri, real, fake)] == [l_real.item(), l_fake.item()]


def test_relativistic_generator_term_is_weighted_and_averages_both_sides():
    cri = build_loss({'type': 'GANLoss', 'gan_type': 'vanilla', 'loss_weight': 5e-3})
    real, fake = _scores()
    loss = generator_adversarial_loss(cri, real, fake, relativistic=True)
    # ½ [BCE([0.5, 3.5], 0) + BCE([-2.5, -1.5], 1)] · λ1; the two sides are 2.2519 and 2.1402
    real_side, fake_side = (sp(0.5) + sp(3.5)) / 2, (sp(2.5) + sp(1.5)) / 2
    assert loss.item() == pytest.approx(5e-3 * (real_side + fake_side) / 2)
    assert generator_adversarial_loss(cri, real, fake).item() == loss.item()  # relativistic by default


def test_discriminator_gradient_flows_through_both_sides():
    cri = build_loss({'type': 'GANLoss', 'gan_type': 'vanilla'})
    real, fake = (t.clone().requires_grad_(True) for t in _scores())
    l_real, _ = discriminator_adversarial_loss(cri, real, fake, relativistic=True)
    l_real.backward()
    # l_real = ½ mean_i sp(-x_i), x_i = C_r,i - mean C_f; d sp(-x)/dx = -σ(-x), dx_i/dC_r,i = 1, dx_i/dC_f,j = -1/2
    sig = [1 / (1 + math.exp(x)) for x in (0.5, 3.5)]  # σ(-x_i)
    assert real.grad.flatten().tolist() == pytest.approx([-0.5 * s / 2 for s in sig])
    # ∂/∂C_f,j = ½ · ½ Σ_i σ(-x_i) · ½: the mean of the other side is not detached
    assert fake.grad.flatten().tolist() == pytest.approx([0.5 * sum(sig) / 2 / 2] * 2)


def test_standard_gan_terms():
    cri = build_loss({'type': 'GANLoss', 'gan_type': 'vanilla', 'loss_weight': 0.1})
    real, fake = _scores()
    l_real, l_fake = discriminator_adversarial_loss(cri, real, fake, relativistic=False)
    assert l_real.item() == pytest.approx((sp(-1.) + sp(-4.)) / 2)
    assert l_fake.item() == pytest.approx((sp(0.) + sp(1.)) / 2)
    g = generator_adversarial_loss(cri, real, fake, relativistic=False)
    assert g.item() == pytest.approx(0.1 * (sp(-0.) + sp(-1.)) / 2)
