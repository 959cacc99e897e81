"""The step's speed options, as built: the autocast dtype and the gradient scaler of each ``mixed_precision``, the
memory layout of ``channels_last``, the forwards ``compile`` wraps and its backend, and the refusal of other values.
(That each option computes the same step is in ``test_step_speedups.py``.)"""
from contextlib import nullcontext

import pytest
import torch
from conftest import NO_DATA, build_training_model, tiny_batch, tiny_options


@pytest.mark.parametrize('precision, dtype', [(None, None), ('fp32', None), ('bf16', torch.bfloat16),
                                              ('fp16', torch.float16)])
def test_each_precision_picks_its_autocast_dtype_and_a_scaler_only_for_fp16(tmp_path, precision, dtype):
    model = build_training_model(tiny_options(NO_DATA, mixed_precision=precision), tmp_path)
    assert model.amp_dtype is dtype
    assert model.grad_scaler.is_enabled() is (dtype is torch.float16)
    context = model.autocast()
    if dtype is None:
        assert isinstance(context, nullcontext)
    else:
        assert isinstance(context, torch.autocast) and (context.device, context.fast_dtype) == ('cpu', dtype)


@pytest.mark.parametrize('channels_last', [False, True])
def test_channels_last_lays_out_both_networks_and_the_batches(tmp_path, channels_last):
    layout = torch.channels_last if channels_last else torch.contiguous_format
    model = build_training_model(tiny_options(NO_DATA, channels_last=channels_last), tmp_path)
    assert model.memory_format is layout
    model.feed_data(tiny_batch())
    for tensor in (model.lq, model.gt, model.net_g.conv_first.weight, model.net_d.enc1[0].weight):
        assert tensor.is_contiguous(memory_format=layout)
        assert not tensor.is_contiguous(memory_format=torch.contiguous_format if channels_last else torch.channels_last)


@pytest.mark.parametrize('option, backend', [(None, None), (False, None), (True, 'inductor'),
                                             ('aot_eager', 'aot_eager')])
def test_compile_wraps_the_two_training_forwards_with_its_backend(tmp_path, monkeypatch, option, backend):
    compiled = []

    def fake_compile(module, backend):
        compiled.append((module, backend))
        return ('compiled', module)

    monkeypatch.setattr(torch, 'compile', fake_compile)
    model = build_training_model(tiny_options(NO_DATA, compile=option), tmp_path)
    if backend is None:
        assert compiled == [] and model.generator_forward is model.net_g
        assert model.discriminator_forward is model.discriminator_for_update is model.net_d
    else:
        assert compiled == [(model.net_g, backend), (model.net_d, backend)]
        assert model.generator_forward == ('compiled', model.net_g)
        assert model.discriminator_forward == model.discriminator_for_update == ('compiled', model.net_d)


@pytest.mark.parametrize('key, value, message', [
    ('mixed_precision', 'fp8', "train:mixed_precision must be one of bf16, fp16, fp32 or ~, got 'fp8'."),
    ('mixed_precision', True, 'train:mixed_precision must be one of bf16, fp16, fp32 or ~, got True.'),
    ('compile', 3, 'train:compile must be true, false or a torch.compile backend name, got 3.'),
    ('compile', ['inductor'], "train:compile must be true, false or a torch.compile backend name, got ['inductor']."),
])
def test_other_values_are_refused_by_name(tmp_path, key, value, message):
    with pytest.raises(ValueError) as caught:
        build_training_model(tiny_options(NO_DATA, **{key: value}), tmp_path)
    assert str(caught.value) == message


def test_the_step_reuses_the_discriminators_outputs_unless_told_not_to(tmp_path):
    """No shipped option file sets ``reuse_discriminator_outputs``: the default is the reused step (FASRGAN's
    discriminator is unchanged by the generator's update; an Fs shared extractor is not, test_step_speedups)."""
    assert build_training_model(tiny_options(NO_DATA, name='default'), tmp_path).reuse_discriminator_outputs is True
    off = tiny_options(NO_DATA, name='off', reuse_discriminator_outputs=False)
    assert build_training_model(off, tmp_path).reuse_discriminator_outputs is False
