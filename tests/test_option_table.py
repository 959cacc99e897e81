"""One table of options, three uses: the option check, the options reference page and the editors' JSON Schema agree
with each other and with every shipped option file; a typo of any key is refused by the check (naming the key and
suggesting the right one) and by the schema (a standard validator)."""
import copy
import json
import string
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from fasrgan_basicsr.pipeline.option_reference import reference_text
from fasrgan_basicsr.pipeline.option_schema import schema_text
from fasrgan_basicsr.pipeline.option_structure import applicable, walk
from fasrgan_basicsr.pipeline.option_table import TABLE, section_for
from fasrgan_basicsr.pipeline.options_check import OptionsError, check_structure

REPO = Path(__file__).resolve().parents[1]
OPTIONS = REPO / 'options'
FILES = sorted(OPTIONS.rglob('*.yml'))
jsonschema = pytest.importorskip('jsonschema', reason='jsonschema is not installed (pip install -e .[dev])')


def load(path):
    return yaml.safe_load(path.read_text())


def is_training(opt):
    return 'train' in opt['datasets']


def key_paths(node, path=()):
    """Every ``(path to its mapping, key)`` of an option dict, depth first."""
    for key, value in node.items():
        yield path, key
        if isinstance(value, dict):
            yield from key_paths(value, path + (key,))


@pytest.fixture(scope='module')
def validator():
    schema = json.loads((OPTIONS / 'options.schema.json').read_text())
    jsonschema.Draft7Validator.check_schema(schema)  # a schema a standard validator accepts
    return jsonschema.Draft7Validator(schema)


def test_the_generated_page_and_schema_are_the_tables():
    """docs/options.md and options/options.schema.json are what tools/generate_option_docs.py makes now."""
    assert (REPO / 'docs' / 'options.md').read_text() == reference_text()
    assert (OPTIONS / 'options.schema.json').read_text() == schema_text()


def test_the_page_documents_every_key_of_the_table():
    page = (REPO / 'docs' / 'options.md').read_text()
    rows = [line for line in page.splitlines() if line.startswith('| `')]
    assert len(rows) == len(TABLE)
    for option in TABLE:
        assert f'| `{option.key}` |' in page, option.path


@pytest.mark.parametrize('path', FILES, ids=lambda p: str(p.relative_to(OPTIONS)))
def test_every_key_of_every_shipped_file_is_in_the_table(path):
    opt = load(path)
    missing = []
    for parent, key in key_paths(opt):
        node = opt
        for part in parent:
            node = node[part]
        keys = applicable(parent, node, opt, is_training(opt))
        if keys is not None and keys.find(key) is None:
            missing.append(':'.join(map(str, parent + (key,))))
        elif keys is None and section_for(parent + (key,)) is None and not isinstance(node.get(key), dict) \
                and parent not in {(), ('datasets',)} and parent[:2] != ('val', 'metrics') and parent[-1:] != (
                    'layer_weights',):
            missing.append(':'.join(map(str, parent + (key,))))
    assert missing == []


@pytest.mark.parametrize('path', FILES, ids=lambda p: str(p.relative_to(OPTIONS)))
def test_every_shipped_file_validates_against_the_schema_and_passes_the_check(path, validator):
    opt = load(path)
    assert [e.message for e in validator.iter_errors(opt)] == []
    check_structure(copy.deepcopy(opt), str(path), is_train=is_training(opt))


@pytest.mark.parametrize('path', FILES, ids=lambda p: str(p.relative_to(OPTIONS)))
def test_every_shipped_file_points_editors_at_the_shipped_schema(path):
    first = path.read_text().splitlines()[0]
    assert first.startswith('# yaml-language-server: $schema=')
    assert (path.parent / first.split('=', 1)[1]).resolve() == (OPTIONS / 'options.schema.json').resolve()


def _typo(key, edit, position, letter):
    """``key`` with one edit: a letter swapped with the next, dropped, doubled or replaced."""
    i = position % len(key)
    if edit == 'swap' and len(key) > 1:
        i = min(i, len(key) - 2)
        return key[:i] + key[i + 1] + key[i] + key[i + 2:]
    if edit == 'drop' and len(key) > 2:
        return key[:i] + key[i + 1:]
    if edit == 'double':
        return key[:i] + key[i] + key[i:]
    return key[:i] + letter + key[i + 1:]


SAMPLES = [p for p in FILES if p.name in ('train_FASRGAN_x4.yml', 'train_FsSRGAN_x4.yml', 'test_FASRGAN_x4.yml',
                                          'train_RealESRGAN_FA_x4plus.yml', 'train_SRGAN_FA_x4.yml',
                                          'train_RealESRNet_x4plus.yml')]
CASES = [(path, parent, key) for path in SAMPLES for parent, key in key_paths(load(path))]


@settings(max_examples=400, deadline=None)
@given(case=st.sampled_from(CASES), edit=st.sampled_from(['swap', 'drop', 'double', 'replace']),
       position=st.integers(0, 40), letter=st.sampled_from(string.ascii_lowercase))
def test_a_typo_of_any_key_is_refused_by_the_check_and_by_the_schema(case, edit, position, letter, validator):
    path, parent, key = case
    opt = load(path)
    training = is_training(opt)
    node = opt
    for part in parent:
        node = node[part]
    typo = _typo(str(key), edit, position, letter)
    if typo == key or typo in node:
        return
    keys = applicable(parent, node, opt, training)
    if keys is None or not keys.strict or keys.find(typo) is not None or typo in keys.plain_names:
        return  # a name of its own (a dataset phase, a metric, a VGG layer), or another valid key
    node[typo] = node.pop(key)
    where = ':'.join(map(str, parent + (typo,)))
    with pytest.raises(OptionsError) as refused:
        check_structure(opt, str(path), is_train=training)
    named = [p for p in refused.value.problems if p.startswith(f'{where}:')]
    assert named, refused.value.problems
    assert any(p.startswith(f'{where}: ') for p in named)
    assert list(validator.iter_errors(opt)) != []


def test_a_top_level_typo_suggests_the_key(tmp_path):
    opt = load(OPTIONS / 'train_FASRGAN_x4.yml')
    opt['manual_sed'] = opt.pop('manual_seed')
    problems = []
    walk(opt, (), opt, problems, True)
    assert problems == ['manual_sed: not an option of FASRGANModel. Did you mean manual_seed?']


def test_metric_and_dataset_argument_typos_are_named_before_any_work():
    opt = load(OPTIONS / 'train_FASRGAN_x4.yml')
    opt['val']['metrics']['psnr']['crop_boder'] = opt['val']['metrics']['psnr'].pop('crop_border')
    opt['datasets']['train']['gt_szie'] = opt['datasets']['train'].pop('gt_size')
    problems = []
    walk(opt, (), opt, problems, True)
    assert "val:metrics:psnr:crop_border: missing; expected an integer >= 0." in problems
    assert "val:metrics:psnr:crop_boder: calculate_psnr has no argument 'crop_boder'. Did you mean crop_border?" \
        in problems
    assert 'datasets:train:gt_szie: not an option of PairedImageDataset. Did you mean gt_size?' in problems


def test_a_users_component_is_checked_against_its_signature(tmp_path):
    """An arch the table does not know (a user's, here BasicSR's EDSR) is checked against its own signature."""
    opt = load(OPTIONS / 'train_RRDBNet_PSNR_x4.yml')
    opt['network_g'] = {'type': 'EDSR', 'num_in_ch': 3, 'num_out_ch': 3, 'num_feats': 64}
    problems = []
    walk(opt, (), opt, problems, True)
    assert problems == ["network_g:num_feats: EDSR has no argument 'num_feats'. Did you mean num_feat?"]


def test_defaults_basicsr_indexes_are_filled_in():
    """``test.py`` with ``save_img`` but no ``suffix`` ended in ``KeyError: 'suffix'`` inside BasicSR."""
    opt = load(OPTIONS / 'test' / 'test_FASRGAN_x4.yml')
    del opt['val']['suffix']
    check_structure(opt, 'x.yml', is_train=False)
    assert opt['val']['suffix'] is None

