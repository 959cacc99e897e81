"""visualize_features.py end to end through its CLI on tiny stand-in generators (random weights): every cell of the
grid is the hooked channel computed here independently, in the order of the channel ranking; the ranking and the
stretch on hand-built values; bad inputs are one line and exit 2 before any network runs."""
import cv2
import numpy as np
import pytest
import torch
from basicsr.archs import build_network
from skimage import data

from fasrgan_basicsr.archs.fs_split import to_split_state_dict
from fasrgan_basicsr.cli import visualize_features as vf
from fasrgan_basicsr.evaluation import feature_maps
from fasrgan_basicsr.utils.cli import run_cli

# a plain generator and an Fs generator of the same trunk kind; E + G blocks of the Fs one
PAIRS = {
    'rrdb': (dict(type='RRDBNet', num_in_ch=3, num_out_ch=3, num_feat=8, num_block=3, num_grow_ch=4),
             dict(type='FsRRDBNet', num_feat=8, num_shared_block=2, num_block=1, num_grow_ch=4)),
    'residual': (dict(type='MSRResNet', num_feat=8, num_block=2, upscale=4),
                 dict(type='FsMSRResNet', num_feat=8, num_shared_block=1, num_block=1)),
}
TOP = 5


def cli(*args):
    return run_cli(vf.main, [str(a) for a in args])


def build(opt, seed):
    torch.manual_seed(seed)
    return build_network(dict(opt)).eval()


@pytest.fixture(scope='module')
def image(tmp_path_factory):
    """A 40×32 crop of scikit-image's chelsea (BGR uint8) and its path."""
    img = cv2.cvtColor(data.chelsea(), cv2.COLOR_RGB2BGR)[120:152, 200:240]
    path = tmp_path_factory.mktemp('img') / 'chelsea.png'
    cv2.imwrite(str(path), img)
    return path, img


@pytest.fixture(scope='module')
def nets(tmp_path_factory):
    """``{kind: (plain net, its checkpoint, Fs net, its checkpoint)}``; the Fs checkpoint has plain names."""
    root = tmp_path_factory.mktemp('nets')
    out = {}
    for kind, (plain_opt, fs_opt) in PAIRS.items():
        plain, fs = build(plain_opt, 0), build(fs_opt, 1)
        torch.save({'params': plain.state_dict()}, root / f'{kind}_plain.pth')
        torch.save({'params_ema': fs.state_dict()}, root / f'{kind}_fs.pth')
        out[kind] = plain, root / f'{kind}_plain.pth', fs, root / f'{kind}_fs.pth'
    return out


def rgb_tensor(img):
    return torch.from_numpy(img[..., ::-1].astype(np.float32) / 255).permute(2, 0, 1)[None].contiguous()


def expected_cells(features, top=TOP):
    """The ``top`` channels by mean |activation| (ties: lower index), each stretched to 0..255, computed here."""
    scores = features.abs().mean(dim=(1, 2)).tolist()
    order = sorted(range(len(scores)), key=lambda c: (-scores[c], c))[:top]
    cells = []
    for c in order:
        x = features[c].double().numpy()
        cells.append(np.floor((x - x.min()) / (x.max() - x.min()) * 255 + 0.5).astype(np.uint8))
    return order, cells


@torch.no_grad()
def first_block(net, x, kind):
    """The first trunk block's output, written out from the plain archs' forward (no hook): RRDBNet's stem is its
    first conv, MSRResNet's that conv and LeakyReLU(0.1)."""
    stem = net.conv_first(x)
    if kind == 'residual':
        stem = torch.nn.functional.leaky_relu(stem, 0.1)
    return net.body[0](stem)[0]


def locate(grid, cell):
    """Top-left ``(x, y)`` where ``cell`` (enlarged as the CLI enlarges) appears exactly, in grey, in ``grid``."""
    factor = max(1, feature_maps.CELL_LONG_SIDE // max(cell.shape))
    tile = cell.repeat(factor, axis=0).repeat(factor, axis=1)
    scores = cv2.matchTemplate(grid[..., 1].astype(np.float32), tile.astype(np.float32), cv2.TM_SQDIFF)
    y, x = np.unravel_index(np.argmin(scores), scores.shape)
    found = grid[y:y + tile.shape[0], x:x + tile.shape[1]]
    np.testing.assert_array_equal(found, np.repeat(tile[..., None], 3, axis=2))
    return x, y


@pytest.mark.parametrize('kind', PAIRS)
def test_grid_cells_are_the_hooked_channels(kind, image, nets, tmp_path, capsys):
    path, img = image
    plain, plain_path, fs, fs_path = nets[kind]
    shared = PAIRS[kind][1]['num_shared_block']
    out = tmp_path / 'grid.png'
    assert cli('-i', path, '-o', out, '--plain', f'Plain={plain_path}', '--fs', f'Fs={fs_path}',
               '--shared_blocks', shared, '--top', TOP, '--columns', 3) == 0
    printed = capsys.readouterr().out
    grid = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    x = rgb_tensor(img)
    with torch.no_grad():
        fs_features = fs.extractor(x)[0]  # H_shared from the Fs arch's own extractor, not through plain names
    lefts = []
    for label, features in (('Plain', first_block(plain, x, kind)), ('Fs', fs_features)):
        order, cells = expected_cells(features)
        assert f'strongest: ch {order[0]} ' in printed.split(f'{label}: ')[1]
        where = [locate(grid, cell) for cell in cells]
        # ranks fill rows of 3 cells left to right, then the next row
        assert [y for _, y in where[:3]] == [where[0][1]] * 3 and where[3][1] > where[0][1]
        assert where[0][0] < where[1][0] < where[2][0] and where[3][0] == where[0][0]
        lefts.append(where[0][0])
    assert lefts[0] < lefts[1]  # the generators side by side, in the order given


def test_split_name_checkpoint_records_its_shared_blocks(image, nets, tmp_path):
    """An Fs checkpoint with the older ``extractor.*`` names needs no --shared_blocks and refuses a wrong one."""
    path, img = image
    fs = nets['rrdb'][2]
    old = tmp_path / 'old_fs.pth'
    torch.save({'params': to_split_state_dict(fs.state_dict(), 2)}, old)
    out = tmp_path / 'grid.png'
    assert cli('-i', path, '-o', out, '--fs', old, '--top', TOP) == 0
    with torch.no_grad():
        _, cells = expected_cells(fs.extractor(rgb_tensor(img))[0])
    grid = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    for cell in cells:
        locate(grid, cell)
    assert cli('-i', path, '-o', tmp_path / 'other.png', '--fs', old, '--shared_blocks', 1) == 2
    assert not (tmp_path / 'other.png').exists()


def test_release_layout_extractor_has_its_shortcut(image, tmp_path):
    """FsRRDBNet ``layout: stacked`` (the authors' release) keeps its own names; its H_shared is stem + RRDBs(stem)."""
    path, img = image
    fs = build(dict(PAIRS['rrdb'][1], layout='stacked'), 2)
    checkpoint = tmp_path / 'stacked.pth'
    torch.save({'params': fs.state_dict()}, checkpoint)
    out = tmp_path / 'grid.png'
    assert cli('-i', path, '-o', out, '--fs', checkpoint, '--top', TOP) == 0
    with torch.no_grad():
        stem, blocks = fs.extractor.conv_first(rgb_tensor(img)), fs.extractor.body
        _, cells = expected_cells((stem + blocks(stem))[0])
    grid = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    for cell in cells:
        locate(grid, cell)


def test_rank_channels_by_mean_absolute_activation():
    features = torch.tensor([
        [[0., 0.], [0., 4.]],      # mean |F| 1.0 (L2 4.0: an L2 ranking would put it first)
        [[1.5, 1.5], [1.5, 1.5]],  # 1.5 (L2 3.0)
        [[-2., -2.], [-2., -2.]],  # 2.0: the sign does not matter
        [[1., -1.], [1., -1.]],    # 1.0, tied with channel 0: the lower index first
        [[0., 0.], [0., 0.]],      # 0.0
    ])
    indices, scores = feature_maps.rank_channels(features, 4)
    assert indices == [2, 1, 0, 3]
    assert scores == [2.0, 1.5, 1.0, 1.0]
    assert feature_maps.rank_channels(features, 9)[0] == [2, 1, 0, 3, 4]


def test_stretch_to_own_min_max():
    np.testing.assert_array_equal(feature_maps.stretch(np.array([[-1., 0.], [1., 3.]])), [[0, 64], [128, 255]])
    np.testing.assert_array_equal(feature_maps.stretch(np.full((2, 3), 0.7)), np.zeros((2, 3), np.uint8))


@pytest.fixture
def no_forward(monkeypatch):
    """Bad inputs must be refused before any network runs."""
    def fail(*args):
        raise AssertionError('a network ran before the inputs were checked')
    monkeypatch.setattr(feature_maps, 'capture', fail)


@pytest.mark.parametrize('case, args, expected', [
    ('missing image', ['-i', '{tmp}/none.png', '--plain', '{plain}'], 'none.png: no such image file'),
    ('not an image', ['-i', '{tmp}/text.png', '--plain', '{plain}'], 'text.png: not a readable image'),
    ('not a generator', ['--plain', '{tmp}/disc.pth'], 'disc.pth: not a generator of this project'),
    ('missing checkpoint', ['--fs', '{tmp}/none.pth'], 'none.pth: no such checkpoint file'),
    ('no generator', [], 'give at least one generator'),
    ('top 0', ['--plain', '{plain}', '--top', '0'], '--top 0: expected a whole number >= 1'),
    ('top above channels', ['--plain', '{plain}', '--top', '9'], '--top 9: '),
    ('shared blocks beyond trunk', ['--fs', '{fs}', '--shared_blocks', '3'], '--shared_blocks 3: '),
    ('shared blocks per --fs', ['--fs', '{fs}', '--shared_blocks', '1', '2'], '--shared_blocks: 2 values for 1'),
    ('shared blocks without --fs', ['--plain', '{plain}', '--shared_blocks', '1'], 'applies to --fs generators'),
    ('output not png', ['--plain', '{plain}', '-o', '{tmp}/grid.jpg'], 'grid.jpg: expected a .png file name'),
    ('output exists', ['--plain', '{plain}', '-o', '{tmp}/exists.png'], 'exists.png: exists already'),
    ('output is the input', ['--plain', '{plain}', '-o', '{image}'], 'is one of the inputs'),
])
def test_bad_inputs_one_line_exit_2(case, args, expected, image, nets, tmp_path, capsys, no_forward):
    (tmp_path / 'text.png').write_text('not an image')
    (tmp_path / 'exists.png').write_bytes(b'keep')
    torch.save({'params': build(dict(type='UNetDiscriminatorFA', num_in_ch=3, num_feat=4, input_size=32),
                                0).state_dict()}, tmp_path / 'disc.pth')
    values = dict(tmp=tmp_path, image=image[0], plain=nets['rrdb'][1], fs=nets['rrdb'][3])
    args = [a.format(**values) for a in args]
    if '-i' not in args:
        args = ['-i', str(image[0])] + args
    if '-o' not in args:
        args += ['-o', str(tmp_path / 'grid.png')]
    before = image[0].read_bytes()
    assert cli(*args) == 2, case
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and err.startswith('error: ') and expected in err, err
    assert not (tmp_path / 'grid.png').exists() and (tmp_path / 'exists.png').read_bytes() == b'keep'
    assert image[0].read_bytes() == before
