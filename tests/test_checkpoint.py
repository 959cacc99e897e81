"""The one checkpoint loader and the atomic save (utils/checkpoint.py): exact messages, files byte for byte."""
import os
import pickle
import re
import stat

import pytest
import torch
from torch import nn

from fasrgan_basicsr.utils import checkpoint
from fasrgan_basicsr.utils.checkpoint import (
    CheckpointError,
    atomic_torch_save,
    find_state_dict,
    fit_state_dict,
    load_network,
    load_state_dict,
    remove_orphan_temporaries,
    torch_load,
    weights_only_loading,
)


class Pair(nn.Module):
    def __init__(self, width=2):
        super().__init__()
        self.a = nn.Linear(width, width)
        self.b = nn.Linear(width, 1)


def pair_state(width=2, offset=0.0):
    return {k: torch.full_like(v, offset) + torch.arange(v.numel()).reshape(v.shape)
            for k, v in Pair(width).state_dict().items()}


# ------------------------------------------------------------------------------------------------ loading
def test_weights_only_loading_forces_weights_only_and_restores_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    monkeypatch.delenv('TORCH_FORCE_WEIGHTS_ONLY_LOAD', raising=False)
    path = tmp_path / 'pickled.pth'
    with open(path, 'wb') as f:
        pickle.dump({'params': Pair}, f)  # a class: allowed by a full unpickler, refused by weights-only
    with weights_only_loading():
        assert os.environ['TORCH_FORCE_WEIGHTS_ONLY_LOAD'] == '1'
        assert 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD' not in os.environ
        with pytest.raises(pickle.UnpicklingError):
            torch.load(path, weights_only=False)  # what torchvision's loader passes
    assert os.environ['TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'] == '1'
    assert 'TORCH_FORCE_WEIGHTS_ONLY_LOAD' not in os.environ


def test_weights_only_loading_restores_a_previous_value_also_on_error(monkeypatch):
    monkeypatch.setenv('TORCH_FORCE_WEIGHTS_ONLY_LOAD', '0')
    monkeypatch.delenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', raising=False)
    with pytest.raises(KeyError):
        with weights_only_loading():
            raise KeyError('x')
    assert os.environ['TORCH_FORCE_WEIGHTS_ONLY_LOAD'] == '0'
    assert 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD' not in os.environ


def test_torch_load_names_the_file_and_the_cause(tmp_path):
    with pytest.raises(CheckpointError, match=r'^\S+nope.pth: no such checkpoint file\.$'):
        torch_load(str(tmp_path / 'nope.pth'))
    with pytest.raises(CheckpointError, match=r'^\S+: is a folder, not a checkpoint file\.$'):
        torch_load(str(tmp_path))
    torch.save({'w': torch.ones(8)}, tmp_path / 'whole.pth')
    (tmp_path / 'cut.pth').write_bytes((tmp_path / 'whole.pth').read_bytes()[:200])
    with pytest.raises(CheckpointError, match=r'cut.pth: not a readable checkpoint \(RuntimeError: .+\)\.$'):
        torch_load(str(tmp_path / 'cut.pth'))
    (tmp_path / 'empty.pth').write_bytes(b'')
    with pytest.raises(CheckpointError, match=r'empty.pth: not a readable checkpoint \(EOFError'):
        torch_load(str(tmp_path / 'empty.pth'))


@pytest.mark.parametrize('error, shown', [(ValueError('first line\nsecond line'), 'ValueError: first line'),
                                          (EOFError(), 'EOFError: ')])
def test_torch_load_shows_the_first_line_of_what_went_wrong(tmp_path, monkeypatch, error, shown):
    (tmp_path / 'w.pth').write_bytes(b'x')
    monkeypatch.setattr(torch, 'load', lambda *a, **k: (_ for _ in ()).throw(error))
    with pytest.raises(CheckpointError) as caught:
        torch_load(str(tmp_path / 'w.pth'))
    assert str(caught.value) == f'{tmp_path / "w.pth"}: not a readable checkpoint ({shown}).'


def test_torch_load_refuses_pickled_code_without_running_it(tmp_path):
    class RunsCode:
        def __reduce__(self):
            return (os.system, (f'touch {tmp_path / "pwned"}',))

    with open(tmp_path / 'evil.pth', 'wb') as f:
        pickle.dump({'params': RunsCode()}, f)
    with pytest.raises(CheckpointError, match=r'evil.pth: refused — it holds pickled objects that weights-only '
                                              r'loading does not allow \(loading it could run arbitrary code\)\. '
                                              r'Only tensors, numbers, strings and containers are accepted\.$'):
        torch_load(str(tmp_path / 'evil.pth'))
    assert not (tmp_path / 'pwned').exists()


def test_torch_load_maps_to_the_cpu_and_can_map_the_file_into_memory(tmp_path, monkeypatch):
    atomic_torch_save({'w': torch.arange(4.)}, str(tmp_path / 'w.pth'))
    calls = []
    real_load = torch.load
    monkeypatch.setattr(torch, 'load', lambda *a, **k: calls.append(k) or real_load(*a, **k))
    assert torch.equal(torch_load(str(tmp_path / 'w.pth'))['w'], torch.arange(4.))
    assert torch.equal(torch_load(str(tmp_path / 'w.pth'), mmap=True)['w'], torch.arange(4.))
    assert calls == [dict(map_location='cpu', weights_only=True, mmap=False),
                     dict(map_location='cpu', weights_only=True, mmap=True)]


def test_find_state_dict_prefers_the_first_param_key_and_strips_module_prefixes(tmp_path):
    path = str(tmp_path / 'g.pth')
    ema, plain = pair_state(offset=100), pair_state()
    torch.save({'params': plain, 'params_ema': {f'module.{k}': v for k, v in ema.items()}}, path)
    state, used = find_state_dict(path)
    assert used == 'params_ema' and state.keys() == ema.keys()
    assert all(torch.equal(state[k], ema[k]) for k in ema)
    state, used = find_state_dict(path, param_keys=('params', 'params_ema'))
    assert used == 'params' and all(torch.equal(state[k], plain[k]) for k in plain)
    torch.save({'backbone.module.w': torch.ones(1), 'module.v': torch.zeros(1)}, path)  # a bare state dict
    state, used = find_state_dict(path)
    assert used is None and sorted(state) == ['backbone.module.w', 'v']  # only a leading prefix goes


def test_find_state_dict_skips_a_param_key_that_holds_no_dict(tmp_path):
    path = str(tmp_path / 'g.pth')
    torch.save({'params_ema': torch.ones(1), 'params': pair_state()}, path)
    assert find_state_dict(path)[1] == 'params'


def test_find_state_dict_says_what_the_file_holds_instead(tmp_path):
    path = str(tmp_path / 'x.pth')
    torch.save(torch.ones(2), path)
    with pytest.raises(CheckpointError, match=r'x.pth: expected a dict of tensors, found Tensor\.$'):
        find_state_dict(path)
    torch.save({'epoch': 3, 'iter': 7}, path)  # a training state, not weights
    with pytest.raises(CheckpointError, match=r'x.pth: has no network weights under params_ema, params or at its top '
                                              r'level \(keys: epoch, iter\)\.$'):
        find_state_dict(path)
    with pytest.raises(CheckpointError, match=r'x.pth: has no network weights under its top level '
                                              r'\(keys: epoch, iter\)\.$'):
        find_state_dict(path, param_keys=())
    torch.save({}, path)
    with pytest.raises(CheckpointError, match=r'x.pth: has no network weights'):
        find_state_dict(path)
    torch.save({'params': {}}, path)
    with pytest.raises(CheckpointError, match=r'x.pth: has no network weights .*\(keys: \)\.$'):
        find_state_dict(path)


# ------------------------------------------------------------------------------------------------ fitting
def test_fit_state_dict_loads_every_tensor_of_a_fitting_file():
    net = Pair()
    assert fit_state_dict(net, pair_state(offset=5), 'p.pth') == []
    assert all(torch.equal(v, pair_state(offset=5)[k]) for k, v in net.state_dict().items())


def test_a_tensor_of_another_shape_names_file_network_key_and_shapes():
    state = pair_state(width=3)
    with pytest.raises(CheckpointError, match=r'^p.pth: does not fit Pair — 3 tensor\(s\) of another shape, first '
                                              r'a.weight: \(3, 3\) in the file, \(2, 2\) in the network \(another '
                                              r'architecture or width in network_g/network_d\?\)\.$'):
        fit_state_dict(Pair(), state, 'p.pth')
    with pytest.raises(CheckpointError, match=r'^p.pth: does not fit net_d — 3'):
        fit_state_dict(Pair(), state, 'p.pth', label='net_d')


def test_not_strict_skips_tensors_of_another_shape_and_loads_the_rest():
    net = Pair()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    state = dict(pair_state(offset=7), **{'b.weight': torch.zeros(1, 5)})
    notes = fit_state_dict(net, state, 'p.pth', strict=False)
    assert notes == ['p.pth: b.weight has shape (1, 5), Pair needs (1, 2): not loaded.',
                     'p.pth: not in the file, left as built: b.weight (strict_load is false).']
    assert torch.equal(net.b.weight, before['b.weight'])
    for k in ('a.weight', 'a.bias', 'b.bias'):
        assert torch.equal(net.state_dict()[k], state[k])


def test_missing_and_unexpected_keys_are_listed():
    state = pair_state()
    del state['a.weight'], state['a.bias'], state['b.weight'], state['b.bias']
    state.update({f'extra{i}': torch.zeros(1) for i in range(5)})
    with pytest.raises(CheckpointError, match=r'^p.pth: does not fit Pair \(missing a.weight, a.bias, b.weight '
                                              r'\(\+1 more\); unexpected extra0, extra1, extra2 \(\+2 more\)\): '
                                              r'another architecture or depth in network_g/network_d\? '
                                              r'\(strict_load: false loads what fits\)$'):
        fit_state_dict(Pair(), state, 'p.pth')
    with pytest.raises(CheckpointError, match=r'^p.pth: does not fit Pair \(unexpected extra0\): '):
        fit_state_dict(Pair(), dict(pair_state(), extra0=torch.zeros(1)), 'p.pth')
    with pytest.raises(CheckpointError, match=r'^p.pth: does not fit Pair \(missing b.bias\): '):
        fit_state_dict(Pair(), {k: v for k, v in pair_state().items() if k != 'b.bias'}, 'p.pth')


def test_not_strict_notes_missing_and_unexpected_keys():
    state = {k: v for k, v in pair_state().items() if k != 'b.bias'}
    state.update({f'extra{i}': torch.zeros(1) for i in range(12)})
    notes = fit_state_dict(Pair(), state, 'p.pth', strict=False)
    assert notes == ['p.pth: not in the file, left as built: b.bias (strict_load is false).',
                     'p.pth: not in the network, ignored: ' + ', '.join(f'extra{i}' for i in range(10)) +
                     ' (+2 more) (strict_load is false).']


def test_exactly_three_keys_are_listed_without_a_count():
    state = {k: v for k, v in pair_state().items() if k == 'b.bias'}
    with pytest.raises(CheckpointError, match=r'^p.pth: does not fit Pair \(missing a.weight, a.bias, b.weight\): '):
        fit_state_dict(Pair(), state, 'p.pth')


def test_a_one_line_error_of_load_state_dict_is_shown_whole():
    class OneLine(Pair):
        def load_state_dict(self, state, strict=True):
            raise RuntimeError('cannot load into this')

    with pytest.raises(CheckpointError, match=r'^p.pth: does not fit OneLine \(cannot load into this\)\.$'):
        fit_state_dict(OneLine(), pair_state(), 'p.pth')


def test_an_error_inside_load_state_dict_names_the_file():
    class Refusing(Pair):
        def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                  error_msgs):
            error_msgs.append('the refusing hook says no')

    with pytest.raises(CheckpointError, match=r'^p.pth: does not fit Refusing \(the refusing hook says no\)\.$'):
        fit_state_dict(Refusing(), pair_state(), 'p.pth')


def test_load_network_loads_the_preferred_set_into_the_network(tmp_path):
    path = str(tmp_path / 'g.pth')
    torch.save({'params': pair_state(), 'params_ema': pair_state(offset=3)}, path)
    net = Pair()
    assert load_network(net, path) is net
    assert all(torch.equal(v, pair_state(offset=3)[k]) for k, v in net.state_dict().items())
    load_network(net, path, param_keys=('params',))
    assert all(torch.equal(v, pair_state()[k]) for k, v in net.state_dict().items())
    with pytest.raises(CheckpointError, match=r'g.pth: does not fit the critic — 3 tensor'):
        load_network(Pair(width=3), path, label='the critic')
    assert load_state_dict(path).keys() == pair_state().keys()


# ------------------------------------------------------------------------------------------------- saving
@pytest.mark.parametrize('umask, mode', [(0o027, 0o640), (0, 0o666)])
def test_atomic_save_writes_the_object_with_umask_permissions_and_no_temporary(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        atomic_torch_save({'w': torch.arange(3)}, str(tmp_path / 'w.pth'))
    finally:
        os.umask(old)
    assert torch.equal(torch.load(tmp_path / 'w.pth', weights_only=True)['w'], torch.arange(3))
    assert stat.S_IMODE(os.stat(tmp_path / 'w.pth').st_mode) == mode  # as torch.save's own file would have
    assert os.listdir(tmp_path) == ['w.pth']


def test_the_temporary_is_a_hidden_file_beside_the_final_one(tmp_path, monkeypatch):
    (tmp_path / 'models').mkdir()
    seen = []
    real_save = torch.save
    monkeypatch.setattr(torch, 'save', lambda obj, f: seen.append(os.listdir(tmp_path / 'models')) or real_save(obj, f))
    atomic_torch_save({}, str(tmp_path / 'models' / 'net_g_5.pth'))
    assert len(seen) == 1 and len(seen[0]) == 1
    assert re.fullmatch(r'\.net_g_5\.pth\.[0-9a-f]{8}\.tmp', seen[0][0])  # what remove_orphan_temporaries removes
    assert os.listdir(tmp_path / 'models') == ['net_g_5.pth']


def test_atomic_save_through_a_relative_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    atomic_torch_save({'w': torch.ones(1)}, 'w.pth')
    assert os.listdir(tmp_path) == ['w.pth']


def test_a_failed_save_leaves_the_previous_file_byte_for_byte_and_no_temporary(tmp_path):
    path = tmp_path / 'w.pth'
    atomic_torch_save({'w': torch.ones(1)}, str(path))
    before = path.read_bytes()
    with pytest.raises(Exception):
        atomic_torch_save({'w': lambda: 0}, str(path))  # cannot be pickled, after the temporary was created
    assert path.read_bytes() == before and os.listdir(tmp_path) == ['w.pth']


def test_a_full_disk_is_reported_as_an_os_error_naming_the_final_path(tmp_path, monkeypatch):
    path = str(tmp_path / 'w.pth')

    def full_disk(obj, f):
        f.write(b'part of it')
        try:
            raise OSError(28, 'No space left on device')
        except OSError as err:
            raise RuntimeError('[enforce fail at inline_container.cc] unexpected pos 64 vs 0') from err

    monkeypatch.setattr(torch, 'save', full_disk)
    with pytest.raises(OSError) as caught:
        atomic_torch_save({}, path)
    assert (caught.value.errno, caught.value.strerror, caught.value.filename) == (28, 'No space left on device', path)
    assert os.listdir(tmp_path) == []


def test_an_os_error_without_a_file_name_gets_the_final_path(tmp_path, monkeypatch):
    path = str(tmp_path / 'w.pth')
    monkeypatch.setattr(torch, 'save', lambda obj, f: (_ for _ in ()).throw(OSError(5, 'Input/output error')))
    with pytest.raises(OSError) as caught:
        atomic_torch_save({}, path)
    assert (caught.value.errno, caught.value.filename) == (5, path)
    assert os.listdir(tmp_path) == []


def test_an_os_error_naming_its_file_is_raised_as_it_is(tmp_path, monkeypatch):
    error = PermissionError(13, 'Permission denied', '/somewhere/else')
    monkeypatch.setattr(torch, 'save', lambda obj, f: (_ for _ in ()).throw(error))
    with pytest.raises(PermissionError) as caught:
        atomic_torch_save({}, str(tmp_path / 'w.pth'))
    assert caught.value is error


def test_an_error_without_an_os_cause_is_raised_as_it_is(tmp_path, monkeypatch):
    error = RuntimeError('no')
    monkeypatch.setattr(torch, 'save', lambda obj, f: (_ for _ in ()).throw(error))
    with pytest.raises(RuntimeError) as caught:
        atomic_torch_save({}, str(tmp_path / 'w.pth'))
    assert caught.value is error and os.listdir(tmp_path) == []


def test_os_error_in_follows_causes_and_contexts_and_stops_on_cycles():
    inner = OSError(28, 'No space left on device')
    outer = RuntimeError('outer')
    outer.__cause__ = ValueError('middle')
    outer.__cause__.__context__ = inner
    assert checkpoint._os_error_in(outer) is inner
    assert checkpoint._os_error_in(OSError('no errno')) is None
    loop = RuntimeError('a')
    loop.__context__ = RuntimeError('b')
    loop.__context__.__context__ = loop
    assert checkpoint._os_error_in(loop) is None
    assert checkpoint._os_error_in(None) is None


def test_remove_orphan_temporaries_removes_only_interrupted_saves(tmp_path):
    names = ['.net_g_5.pth.1a2b3c4d.tmp', '.5.state.00ff00ff.tmp', 'net_g_5.pth', '5.state', 'net_g_5.pth.x.tmp',
             '.notes.tmp', '.net_g.txt.1a2b.tmp', '.pth.tmp.keep']
    for name in names:
        (tmp_path / name).write_bytes(b'x')
    assert sorted(remove_orphan_temporaries(str(tmp_path))) == ['.5.state.00ff00ff.tmp', '.net_g_5.pth.1a2b3c4d.tmp']
    assert sorted(os.listdir(tmp_path)) == sorted(names[2:])
    assert remove_orphan_temporaries(str(tmp_path / 'absent')) == []


def test_a_save_interrupted_mid_write_leaves_a_temporary_that_is_then_recognised(tmp_path, monkeypatch):
    def killed(obj, f):
        f.write(b'half')
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, 'save', killed)
    with pytest.raises(KeyboardInterrupt):
        atomic_torch_save({}, str(tmp_path / 'net_g_5.pth'))
    assert os.listdir(tmp_path) == []  # removed on the way out; a SIGKILL would leave it for the next run
