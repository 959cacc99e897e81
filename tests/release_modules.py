"""A reconstruction, for tests, of the authors' release networks (old BasicSR/ESRGAN codebase) and their key layouts.

Written from reading the release's module definitions (``codes/models/modules/architecture.py``: ``RRDBNet``,
``SRResNet``, ``model_ex``; ``networks.py``: ``define_G`` builds ``RRDBNet_G`` as ``RRDBNet(in_nc=nf)``) and the
old ``block.py`` conventions they rely on: ``conv_block`` is ``Sequential(conv[, norm][, act])``; ``sequential(*m)``
flattens nested ``Sequential``s and returns a lone module as it is; ``ShortcutBlock(sub)`` is ``x + sub(x)``;
``ResidualDenseBlock_5C`` and ``RRDB`` scale their residuals by 0.2; ``upconv_blcok`` is nearest ×2 then a conv
block, ``pixelshuffle_block`` a conv, a pixel shuffle and the activation. Not the release's code: small modules
with the same computation and the same ``state_dict`` keys, which the tests fill with random weights.
"""
import torch
from torch import nn


def conv_block(in_ch, out_ch, act=None):
    """``block.conv_block`` without norm: ``Sequential(conv[, act])``."""
    layers = [nn.Conv2d(in_ch, out_ch, 3, 1, 1)]
    if act == 'lrelu':
        layers.append(nn.LeakyReLU(0.2, True))
    elif act == 'relu':
        layers.append(nn.ReLU(True))
    return nn.Sequential(*layers)


def sequential(*modules):
    """``block.sequential``: one module is returned as it is; nested Sequentials are flattened."""
    if len(modules) == 1:
        return modules[0]
    flat = []
    for m in modules:
        flat.extend(m.children() if isinstance(m, nn.Sequential) else [m])
    return nn.Sequential(*flat)


class Shortcut(nn.Module):
    def __init__(self, sub):
        super().__init__()
        self.sub = sub

    def forward(self, x):
        return x + self.sub(x)


class RDB5C(nn.Module):
    def __init__(self, nf, gc):
        super().__init__()
        for j in range(1, 5):
            setattr(self, f'conv{j}', conv_block(nf + (j - 1) * gc, gc, 'lrelu'))
        self.conv5 = conv_block(nf + 4 * gc, nf)  # mode CNA: no activation after the last conv

    def forward(self, x):
        feats = [x]
        for j in range(1, 5):
            feats.append(getattr(self, f'conv{j}')(torch.cat(feats, 1)))
        return self.conv5(torch.cat(feats, 1)) * 0.2 + x


class RRDB(nn.Module):
    def __init__(self, nf, gc):
        super().__init__()
        self.RDB1, self.RDB2, self.RDB3 = RDB5C(nf, gc), RDB5C(nf, gc), RDB5C(nf, gc)

    def forward(self, x):
        return self.RDB3(self.RDB2(self.RDB1(x))) * 0.2 + x


class ResNetBlock(nn.Module):
    """``block.ResNetBlock`` in mode CNA without norm: ``res = Sequential(conv, relu, conv)``, ``x + res(x)``."""

    def __init__(self, nf):
        super().__init__()
        self.res = sequential(conv_block(nf, nf, 'relu'), conv_block(nf, nf))

    def forward(self, x):
        return x + self.res(x)


class ReleaseRRDBNet(nn.Module):
    """``architecture.RRDBNet`` (``RRDB_net``; with ``in_nc = nf`` it is the Fs ``RRDBNet_G`` of ``define_G``)."""

    def __init__(self, in_nc=3, out_nc=3, nf=8, nb=2, gc=4, upscale=4):
        super().__init__()
        ups = []
        for _ in range({4: 2, 2: 1, 1: 0}[upscale]):
            ups.append(sequential(nn.Upsample(scale_factor=2, mode='nearest'), conv_block(nf, nf, 'lrelu')))
        self.model = sequential(conv_block(in_nc, nf), Shortcut(sequential(*[RRDB(nf, gc) for _ in range(nb)],
                                                                             conv_block(nf, nf))),
                                *ups, conv_block(nf, nf, 'lrelu'), conv_block(nf, out_nc))

    def forward(self, x):
        return self.model(x)


class ReleaseModelEx(nn.Module):
    """``architecture.model_ex``: first conv, then the RRDBs inside a shortcut (no conv after them)."""

    def __init__(self, in_nc=3, nf=8, nb=1, gc=4):
        super().__init__()
        self.model = sequential(conv_block(in_nc, nf), Shortcut(sequential(*[RRDB(nf, gc) for _ in range(nb)])))

    def forward(self, x):
        return self.model(x)


class ReleaseSRResNetModule(nn.Module):
    """``architecture.SRResNet`` as ``define_G`` builds ``sr_resnet``: ReLU, pixel shuffle, ``norm_type: null``."""

    def __init__(self, in_nc=3, out_nc=3, nf=8, nb=2, upscale=4):
        super().__init__()
        factors = [3] if upscale == 3 else [2] * (upscale // 2)
        ups = [sequential(conv_block(nf, nf * f * f), nn.PixelShuffle(f), nn.ReLU(True)) for f in factors]
        self.model = sequential(conv_block(in_nc, nf), Shortcut(sequential(*[ResNetBlock(nf) for _ in range(nb)],
                                                                             conv_block(nf, nf))),
                                *ups, conv_block(nf, nf, 'relu'), conv_block(nf, out_nc))

    def forward(self, x):
        return self.model(x)


class ReleaseUNet(nn.Module):
    """Only the key names of the release's ``UNet`` discriminator that matter here (``inc.conv.conv.0``, ``outc``)."""

    def __init__(self):
        super().__init__()
        self.inc = nn.Module()
        self.inc.conv = nn.Module()
        self.inc.conv.conv = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4))
        self.outc = nn.Module()
        self.outc.conv = nn.Conv2d(4, 3, 1)
        self.classifier = nn.Sequential(nn.Linear(4, 2), nn.LeakyReLU(0.2), nn.Linear(2, 1))


def randomised(net, seed=0, std=0.05):
    """``net`` with every parameter drawn from N(0, std²) (biases too), in eval mode."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * std)
    return net.eval()


def save_bare(net, path):
    """Save as the release's ``save_network`` does: the bare ``state_dict`` on the CPU."""
    torch.save({k: v.cpu() for k, v in net.state_dict().items()}, path)
    return path
