"""Object recognition: ResNet-50 through torchvision's real loader (stand-in checkpoint), label files, the protocol's
steps, and exact top-1/top-5 errors on labels chosen from the classifier's own ranking."""
import math

import cv2
import numpy as np
import pytest
import torch
from basicsr.archs import build_network
from basicsr.utils.matlab_functions import imresize
from conftest import TINY_G

from fasrgan_basicsr.cli import object_recognition
from fasrgan_basicsr.evaluation import imagenet

PHOTOS = ('astronaut', 'coffee', 'chelsea', 'rocket')


@pytest.fixture(scope='module')
def stand_in_resnet50(tmp_path_factory):
    """torchvision's ResNet-50 initialisation (seeded) saved as the IMAGENET1K_V1 file in a temporary torch cache."""
    from torchvision.models import resnet50
    torch.manual_seed(0)
    state = resnet50().state_dict()
    home = tmp_path_factory.mktemp('torch_home')
    (home / 'hub' / 'checkpoints').mkdir(parents=True)
    torch.save(state, home / 'hub' / 'checkpoints' / imagenet.RESNET50_FILE)
    return home, state


@pytest.fixture
def classifier(stand_in_resnet50, monkeypatch):
    home, state = stand_in_resnet50
    monkeypatch.setenv('TORCH_HOME', str(home))
    model = imagenet.load_classifier('cpu')
    return model, state


@pytest.fixture
def val_dir(tmp_path):
    from skimage import data
    folder = tmp_path / 'val'
    folder.mkdir()
    for i, name in enumerate(PHOTOS, 1):  # the 4th is beyond --num_images 3
        cv2.imwrite(str(folder / f'ILSVRC2012_val_{i:08d}.JPEG'), getattr(data, name)()[..., ::-1])
    return folder


def test_resnet50_comes_through_torchvisions_loader(classifier, tmp_path, monkeypatch):
    model, state = classifier
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())
    assert not model.training
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'empty'))
    import torchvision.models._api

    def offline(url, *args, **kwargs):
        raise OSError('no network')

    monkeypatch.setattr(torchvision.models._api, 'load_state_dict_from_url', offline)
    with pytest.raises(imagenet.ProtocolError, match=r'put resnet50-0676ba61.pth .* in .*empty/hub/checkpoints'):
        imagenet.load_classifier('cpu')


def test_protocol_steps(val_dir):
    path = str(val_dir / 'ILSVRC2012_val_00000002.JPEG')  # coffee, 400×600
    hr = imagenet.prepare_hr(path)
    assert hr.shape == (224, 224, 3) and hr.dtype == np.uint8
    lr = imagenet.bicubic_down(hr)
    assert lr.shape == (56, 56, 3)
    assert np.array_equal(lr, np.clip(np.round(imresize(hr / 255., 0.25) * 255), 0, 255).astype(np.uint8))
    # the crop is the centre of the image resized to a 256 shorter side: compare with OpenCV's own resize
    rgb = cv2.imread(path)[..., ::-1]
    resized = cv2.resize(rgb, (384, 256), interpolation=cv2.INTER_AREA)[16:240, 80:304]
    assert np.abs(resized.astype(int) - hr).mean() < 3


def test_errors_are_counted_from_the_labels(classifier, val_dir, tmp_path, capsys):
    model, _ = classifier
    items = [(str(val_dir / f'ILSVRC2012_val_{i:08d}.JPEG'), 0) for i in (1, 2, 3)]
    logits = imagenet.classify(model, [imagenet.prepare_hr(p) for p, _ in items], 'cpu')
    ranking = logits.argsort(dim=1, descending=True)
    # image 1: its top-1 class; image 2: its 3rd class (top-5, not top-1); image 3: its last class
    chosen = [int(ranking[0, 0]), int(ranking[1, 2]), int(ranking[2, -1])]
    labels = tmp_path / 'val_labels.txt'
    labels.write_text(''.join(f'ILSVRC2012_val_{i:08d}.JPEG {c}\n' for i, c in enumerate(chosen, 1)) +
                      'ILSVRC2012_val_00000004.JPEG 7\n')
    torch.manual_seed(0)
    torch.save({'params_ema': build_network(dict(TINY_G)).state_dict()}, tmp_path / 'g.pth')
    out = tmp_path / 'out'
    assert object_recognition.main(['--val_dir', str(val_dir), '--labels', str(labels), '--num_images', '3',
                                    '--batch_size', '2', '--method', 'HR', '--method', 'Bicubic',
                                    '--method', f'tiny={tmp_path / "g.pth"}', '-o', str(out), '--device', 'cpu']) == 0
    printed = capsys.readouterr().out
    assert 'ResNet-50 on the first 3 images' in printed
    assert '| Baseline (HR) | 0.667 | 0.333 |' in printed
    rows = [line.split(',') for line in (out / 'object_recognition.csv').read_text().splitlines()]
    assert rows[0] == ['method', 'top1_error', 'top5_error', 'images']
    assert rows[1] == ['Baseline (HR)', repr(2 / 3), repr(1 / 3), '3']
    assert [r[0] for r in rows[1:]] == ['Baseline (HR)', 'Bicubic', 'tiny']
    for _, top1, top5, n in rows[2:]:
        assert float(top5) <= float(top1) and n == '3' and math.isclose(float(top1) * 3, round(float(top1) * 3))
    assert (out / 'object_recognition.md').read_text().startswith('| Evaluation | Top-1 error | Top-5 error |')


def synsets(tmp_path):
    wnids = [f'n{10000000 + 7 * i:08d}' for i in range(1000)]
    (tmp_path / 'LOC_synset_mapping.txt').write_text(''.join(f'{w} class {i}\n' for i, w in enumerate(wnids)))
    return wnids


def test_label_files(tmp_path):
    wnids = synsets(tmp_path)
    (tmp_path / 'LOC_val_solution.csv').write_text(
        'ImageId,PredictionString\n'
        f'ILSVRC2012_val_00000002,{wnids[5]} 10 20 30 40 {wnids[5]} 1 2 3 4\n'
        f'ILSVRC2012_val_00000001,{wnids[999]} 1 2 3 4\n')
    assert imagenet.read_labels(str(tmp_path / 'LOC_val_solution.csv')) == {
        'ILSVRC2012_val_00000001': 999, 'ILSVRC2012_val_00000002': 5}
    (tmp_path / 'wnid.txt').write_text(f'a/ILSVRC2012_val_00000003.JPEG {wnids[1]}\n')
    assert imagenet.read_labels(str(tmp_path / 'wnid.txt')) == {'ILSVRC2012_val_00000003': 1}

    (tmp_path / 'ILSVRC2012_validation_ground_truth.txt').write_text('490\n361\n')
    with pytest.raises(imagenet.ProtocolError, match='numbers classes differently from torchvision'):
        imagenet.read_labels(str(tmp_path / 'ILSVRC2012_validation_ground_truth.txt'))
    (tmp_path / 'range.txt').write_text('x.JPEG 1000\n')
    with pytest.raises(imagenet.ProtocolError, match='class index of x is 1000, expected 0-999'):
        imagenet.read_labels(str(tmp_path / 'range.txt'))
    other = tmp_path / 'elsewhere'
    other.mkdir()
    (other / 'wnid.txt').write_text(f'x.JPEG {wnids[1]}\n')
    with pytest.raises(imagenet.ProtocolError, match='LOC_synset_mapping.txt .*not found'):
        imagenet.read_labels(str(other / 'wnid.txt'))
    (other / 'LOC_synset_mapping.txt').write_text(''.join(f'{w}\n' for w in reversed(wnids)))
    with pytest.raises(imagenet.ProtocolError, match='not sorted'):
        imagenet.read_labels(str(other / 'wnid.txt'))


def test_cli_refuses_bad_inputs_before_any_work(val_dir, tmp_path, capsys):
    labels = tmp_path / 'labels.txt'
    labels.write_text('ILSVRC2012_val_00000001.JPEG 3\n')
    base = ['--val_dir', str(val_dir), '--labels', str(labels), '--method', 'HR']
    assert object_recognition.main(base + ['--num_images', '2']) == 2
    assert '1 of the first 2 images have no label (e.g. ILSVRC2012_val_00000002.JPEG)' in capsys.readouterr().err
    torch.save({'params': {'enc1.0.weight': torch.zeros(1)}}, tmp_path / 'd.pth')
    assert object_recognition.main(base + ['--num_images', '1', '--method', f'D={tmp_path / "d.pth"}']) == 2
    assert 'd.pth: not a generator of this project' in capsys.readouterr().err
    assert object_recognition.main(base + ['--num_images', '1', '--method', 'nonsense']) == 2
    assert 'expected HR, Bicubic or LABEL=CHECKPOINT' in capsys.readouterr().err
