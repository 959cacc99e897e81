"""Whether a training state can be resumed by this option file — checked before anything is archived or built.

A training state records the run that saved it (:func:`run_signature`: model, networks, optimizers). Resuming it
with an option file that describes another model, other networks or another set of optimizers is refused in one
line saying what differs; so is ``--auto_resume`` on a run whose states exist but none of which this option file
can resume (BasicSR would archive the run and start again from iteration 0), and a resume whose ``total_iter`` is
already reached (nothing would be trained). A ``path:resume_state`` of another run continues that run under this
option file's ``name``: its networks are read from the run that saved the state, and this run's folder is created
(it must not hold another run).
"""
import os
from os import path as osp

from fasrgan_basicsr.utils.checkpoint import CheckpointError, find_state_dict, fit_state_dict
from fasrgan_basicsr.utils.errors import UserError

from .options_check import build_on_meta


class ResumeError(UserError):
    """A training state this option file cannot resume (the message says what differs)."""


def networks(opt):
    return sorted(k for k in opt if k.startswith('network_') and isinstance(opt[k], dict))


def optimizer_names(opt):
    return sorted(k for k in (opt.get('train') or {}) if k.startswith('optim_'))


def run_signature(opt):
    """What a training state records of the run that saved it: plain data only."""
    return {'model_type': opt.get('model_type'),
            'networks': {name: dict(opt[name]) for name in networks(opt)},
            'optimizers': optimizer_names(opt)}


def _differences(saved, now):
    found = []
    if saved.get('model_type') != now['model_type']:
        found.append(f'model_type is {saved.get("model_type")} there, {now["model_type"]} here')
    for name in sorted(set(saved.get('networks', {})) | set(now['networks'])):
        there, here = saved.get('networks', {}).get(name), now['networks'].get(name)
        if there is None or here is None:
            found.append(f'{name} is {"absent" if there is None else there.get("type")} there, '
                         f'{"absent" if here is None else here.get("type")} here')
            continue
        changed = [k for k in sorted(set(there) | set(here)) if there.get(k) != here.get(k)]
        if changed:
            found.append(f'{name} differs in ' + ', '.join(f'{k} ({there.get(k)!r} there, {here.get(k)!r} here)'
                                                          for k in changed[:3]))
    if saved.get('optimizers') is not None and saved['optimizers'] != now['optimizers']:
        found.append(f'optimizers are {", ".join(saved["optimizers"]) or "none"} there, '
                     f'{", ".join(now["optimizers"]) or "none"} here')
    return found


def state_run(state_path):
    """The experiment folder whose ``training_states/`` holds ``state_path``."""
    return osp.dirname(osp.dirname(osp.abspath(state_path)))


def check_resumable(opt, state, state_path):
    """Raise :class:`ResumeError` unless ``state`` (read from ``state_path``) can be resumed by ``opt``."""
    now = run_signature(opt)
    found = _differences(state['run'], now) if isinstance(state.get('run'), dict) else []
    saved_optimizers = len(state.get('optimizers', ()))
    if not found and saved_optimizers != len(now['optimizers']):
        found.append(f'{saved_optimizers} optimizer(s) there, {len(now["optimizers"])} here '
                     f'({", ".join(now["optimizers"])})')
    models = osp.join(state_run(state_path), 'models')
    ignored = (opt.get('path') or {}).get('ignore_resume_networks') or ()
    for name in networks(opt) if not found else ():
        if name in ignored:
            continue
        checkpoint = osp.join(models, f'net_{name[len("network_"):]}_{state["iter"]}.pth')
        net = build_on_meta(opt[name])
        if net is None or not osp.isfile(checkpoint):
            continue  # a missing network checkpoint is reported by the loader
        try:
            fit_state_dict(net, find_state_dict(checkpoint)[0], checkpoint, True, f'{name} ({opt[name]["type"]})')
        except CheckpointError as err:
            found.append(str(err))
            break
    if found:
        raise ResumeError(f'{state_path}: saved by another run than this option file describes: {"; ".join(found)}. '
                          'Resume it with the option file it was trained with, or start a new run with another name '
                          '(nothing was changed).')
    total = (opt.get('train') or {}).get('total_iter')
    if isinstance(total, (int, float)) and state['iter'] >= total:
        raise ResumeError(f'{state_path}: iteration {state["iter"]} is already at train:total_iter ({total:g}): '
                          'nothing is left to train; raise total_iter to continue.')


def refuse_unresumable_run(opt, skipped):
    """``--auto_resume`` found training states but none it can resume: refuse instead of starting again."""
    folder = opt['path']['training_states']
    states = sorted(f for f in os.listdir(folder) if f.endswith('.state')) if osp.isdir(folder) else []
    if states:
        raise ResumeError(f'--auto_resume: {folder} holds {len(states)} training state(s) but none can be resumed'
                          f'{": " + "; ".join(skipped) if skipped else ""}. BasicSR would archive the run and start '
                          'again from iteration 0; nothing was changed. Fix or remove the states, or use another name.')


def continue_elsewhere(opt, state, state_path):
    """A ``path:resume_state`` of another run: read its networks from that run; create this run's folders."""
    own = osp.abspath(opt['path']['experiments_root'])
    source = state_run(state_path)
    if source == own:
        return
    ignored = (opt.get('path') or {}).get('ignore_resume_networks') or ()
    for name in networks(opt):
        if name not in ignored:
            opt['path'][f'pretrain_{name}'] = osp.join(source, 'models', f'net_{name[len("network_"):]}_'
                                                                         f'{state["iter"]}.pth')
    if osp.isdir(own) and os.listdir(own):
        raise ResumeError(f'path:resume_state: {state_path} belongs to run {source}; continuing it as '
                          f'{opt["name"]} needs a new folder, but {own} holds another run (nothing was changed).')
    for key in ('experiments_root', 'models', 'training_states', 'visualization'):
        os.makedirs(opt['path'][key], exist_ok=True)
