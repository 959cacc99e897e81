"""The one table of options: every key an option file may hold, its kind, default, meaning and source.

Three things are made from this table and nothing else, so they cannot disagree:

1. the option check (:mod:`.options_check`) refuses unknown keys (with a did-you-mean) and values of the wrong
   kind, naming each by its key path, before any work starts;
2. the options reference of the documentation (``docs/options.md``, :mod:`.option_reference`);
3. the JSON Schema shipped with the option files (``options/options.schema.json``, :mod:`.option_schema`): an
   option file that starts with ``# yaml-language-server: $schema=options.schema.json`` gets completion and typo
   marks in editors.

A **section** is a mapping of the option file, named by its key path with ``*`` for any name (``datasets:*``
is each dataset, ``val:metrics:*`` each metric). Who reads a key of a section depends on the section:

- ``''`` (the top level) and ``train``: the model (``model_type``). Top-level keys list their reading model classes
  in ``readers`` (any class of the model's MRO); ``train`` keys are those the model declares
  (``TRAIN_OPTIONS`` of its classes) or, for BasicSR's own classes, those its source reads.
- ``datasets:*``: the dataset class (``type``); empty ``readers`` = every dataset (BasicSR's data loader).
- the typed sections ``network_*``, ``train:*_opt``, ``train:optim_*``, ``train:scheduler``, ``val:metrics:*``:
  the component their ``type`` names. A component the table does not know (one of a user's, through ``--import``)
  is checked against its signature instead.
- every other section: BasicSR's pipeline itself, whatever the model.

A default of :data:`SIGNATURE` is the component's own (read from its signature where it is documented), so the
reference cannot drift from the code; ``fill`` defaults are written into the option dict when a key is absent
(BasicSR indexes them directly, e.g. ``val:suffix``). ``source`` says where the paper's (or the release's) value
comes from.
"""
from dataclasses import dataclass

from .option_kinds import AnyOf, Anything, Bool, Choice, Int, ListOf, Mapping, Number, Str

#: the default is the component's own (its signature's)
SIGNATURE = object()
#: no default: the key is optional and BasicSR does without it (or it is required)
UNSET = object()


@dataclass(frozen=True)
class Option:
    """One key of a section.

    ``required``: True, or ``'train'`` (only in a training option file); ``nullable``: ``~`` is accepted too;
    ``readers``: the classes (or metric functions) that read it, by name; empty = whoever reads the section.
    """
    section: str
    key: str
    kind: object
    meaning: str
    default: object = UNSET
    readers: tuple = ()
    source: str = ''
    required: object = False
    nullable: bool = False
    fill: bool = False
    derived: bool = False  # set by the pipeline from the command line or other options (a file's value is replaced)

    @property
    def path(self):
        return f'{self.section}:{self.key}' if self.section else self.key

    def accepts(self, value):
        return self.derived or (self.nullable and value is None) or self.kind.check(value)

    def describe(self):
        return self.kind.describe() + (' or ~' if self.nullable else '')


@dataclass(frozen=True)
class Section:
    """A mapping of the option file: its key path, how its readers are chosen, and what it is."""
    path: str
    chooser: str  # 'model', 'dataset', 'type' (its own type: key), or 'pipeline'
    registry: str = None  # for typed sections: 'arch', 'loss', 'metric', 'optimizer', 'scheduler'
    meaning: str = ''


SECTIONS = (
    Section('', 'model', meaning='The run: its name, model, scale, device and seed, and (for Real-ESRGAN models) '
                                 'the degradations synthesised on the fly.'),
    Section('datasets:*', 'dataset', meaning='One dataset per phase: `train`, `val` (or `val_1`, `val_2`, ...) '
                                             'in training, `test_1`, `test_2`, ... in testing.'),
    Section('datasets:*:io_backend', 'pipeline', meaning='How a dataset reads its files.'),
    Section('network_g', 'type', 'arch', 'The generator.'),
    Section('network_d', 'type', 'arch', 'The discriminator (GAN models).'),
    Section('path', 'pipeline', meaning='Checkpoints to start from or resume, and how they load.'),
    Section('train', 'model', meaning='Training: optimizers, schedule, losses and the step\'s options.'),
    Section('train:*_opt', 'type', 'loss', 'A loss: `pixel_opt`, `perceptual_opt`, `gan_opt`, `map_gan_opt`, '
                                           '`attention_opt`.'),
    Section('train:optim_*', 'type', 'optimizer', 'An optimizer: `optim_g`, `optim_d` (torch.optim).'),
    Section('train:scheduler', 'type', 'scheduler', 'The learning-rate schedule (one for every optimizer).'),
    Section('val', 'pipeline', meaning='Validation during training, and what the test pipeline computes.'),
    Section('val:metrics:*', 'type', 'metric', 'A metric, logged under its name.'),
    Section('logger', 'pipeline', meaning='Logging and checkpointing (training).'),
    Section('logger:wandb', 'pipeline', meaning='Weights & Biases logging (needs TensorBoard logging on).'),
    Section('dist_params', 'pipeline', meaning='Distributed training with `--launcher slurm`.'),
)

#: a run name: one path component of letters, digits and ``. _ + -`` (not ``.`` or ``..``), as it names a folder
RUN_NAME = r'[A-Za-z0-9][A-Za-z0-9._+-]{0,199}'
REAL_ESRGAN = ('RealESRGANModel', 'RealESRNetModel')
ESRGAN_FAMILY = ('SRGANModel',)  # hosts of BasicSR's GAN step (ESRGANModel, the plugin's models)
RANGE = ListOf(Number(), 2)
PROBABILITY = Number(0, 1)
THREE_PROBABILITIES = ListOf(Number(0, 1), 3)
FRACTION = Number(0, 1)
POSITIVE = Number(0, low_open=True)
NON_NEGATIVE = Number(0)
WEIGHT = Number(0)
PATH = Str(what='a path')


def _top(key, kind, meaning, **kw):
    return Option('', key, kind, meaning, **kw)


def _degradation(key, kind, meaning, second=True):
    """A first-order degradation key of Real-ESRGAN's models and, with ``second``, its ``<key>2`` of the second."""
    first = _top(key, kind, f'first degradation: {meaning}', readers=REAL_ESRGAN, required=True,
                 source='Real-ESRGAN `train_realesrgan_x4plus.yml`, same key')
    if not second:
        return [first]
    return [first, _top(f'{key}2', kind, f'second degradation: {meaning}', readers=REAL_ESRGAN, required=True,
                        source='Real-ESRGAN `train_realesrgan_x4plus.yml`, same key')]


def _kernel(key, kind, meaning):
    """A blur-kernel key of ``RealESRGANDataset`` and its ``<key>2`` of the second degradation."""
    source = 'Real-ESRGAN `train_realesrgan_x4plus.yml`, same key'
    return [Option('datasets:*', key, kind, f'first blur: {meaning}', readers=('RealESRGANDataset',), source=source,
                   required=True),
            Option('datasets:*', f'{key}2', kind, f'second blur: {meaning}', readers=('RealESRGANDataset',),
                   source=source, required=True)]


TABLE = [
    # ------------------------------------------------------------------------------------------------ top level
    _top('name', Str(RUN_NAME, 'a run name: letters, digits and . _ + - (one folder name, not . or ..)'),
         'the run\'s folder: `experiments/<name>` (training) or `results/<name>` (test)', required=True),
    _top('model_type', Str(what='a registered model name'), 'the model class (BasicSR\'s `MODEL_REGISTRY`)',
         required=True),
    _top('scale', Int(1), 'the upsampling factor; BasicSR gives it to every dataset', source='×4 (Sec. IV-A)'),
    _top('num_gpu', AnyOf((Int(0), Choice(('auto',))), "an integer >= 0 or 'auto'"),
         'GPUs per process: 0 for the CPU, `auto` for every GPU there is', required=True),
    _top('manual_seed', Int(), 'the random seed (a random one when absent)', nullable=True,
         source='0 (release `"manual_seed"`)'),
    _top('datasets', Mapping('a mapping of phases (train, val, test_1, ...)'), 'the datasets, one per phase',
         required=True),
    _top('network_g', Mapping('a mapping with type: <arch>'), 'the generator', required=True),
    _top('network_d', Mapping('a mapping with type: <arch>'), 'the discriminator', readers=('SRGANModel',)),
    _top('path', Mapping(), 'checkpoints to start from or resume', nullable=True),
    _top('train', Mapping(), 'the training settings', required='train'),
    _top('val', Mapping(), 'validation (training) and what the test pipeline computes'),
    _top('logger', Mapping(), 'logging and checkpointing', required='train'),
    _top('dist_params', Mapping(), 'settings of `--launcher slurm`'),
    _top('find_unused_parameters', Bool(), 'DistributedDataParallel\'s `find_unused_parameters` for the networks',
         default=False),
    _top('high_order_degradation', Bool(), 'synthesise LQ images from HR crops (off: read paired data as SRModel)',
         default=True, readers=REAL_ESRGAN),
    _top('gt_size', Int(1), 'HR crop side of the synthesised pairs (the discriminator\'s input)', readers=REAL_ESRGAN,
         required=True, source='256 (Real-ESRGAN)'),
    _top('queue_size', Int(1), 'size of the training-pair pool that mixes batches (a multiple of the batch size)',
         default=180, readers=REAL_ESRGAN, source='180 (Real-ESRGAN)'),
    _top('gt_usm', Bool(), 'USM-sharpen the GT of the L1 loss', default=True, fill=True, readers=('RealESRNetModel',)),
    _top('l1_gt_usm', Bool(), 'USM-sharpen the GT of the pixel loss (and of the attention L1)', default=True, fill=True,
         readers=('RealESRGANModel',)),
    _top('percep_gt_usm', Bool(), 'USM-sharpen the GT of the perceptual loss', default=True, fill=True,
         readers=('RealESRGANModel',)),
    _top('gan_gt_usm', Bool(), 'USM-sharpen the discriminator\'s real batch', default=True, fill=True,
         readers=('RealESRGANModel',)),
    *_degradation('resize_prob', THREE_PROBABILITIES, 'probabilities of resizing up, down, or keeping the size'),
    *_degradation('resize_range', RANGE, 'range of the random resize factor'),
    *_degradation('gaussian_noise_prob', PROBABILITY, 'probability of Gaussian noise (else Poisson noise)'),
    *_degradation('noise_range', RANGE, 'range of the Gaussian noise sigma (0..255 levels)'),
    *_degradation('poisson_scale_range', RANGE, 'range of the Poisson noise scale'),
    *_degradation('gray_noise_prob', PROBABILITY, 'probability that the noise is grey (one for all channels)'),
    *_degradation('jpeg_range', RANGE, 'range of the JPEG quality'),
    *_degradation('second_blur_prob', PROBABILITY, 'probability of the second blur', second=False),

    *[_top(key, Anything(), meaning, derived=True) for key, meaning in (
        ('dist', 'whether the run is distributed (`--launcher`)'), ('rank', "this process's rank"),
        ('world_size', 'the number of processes'), ('auto_resume', '`--auto_resume`'),
        ('is_train', 'training (true) or testing'), ('root_path', 'the root relative paths resolve against'))],

    # ------------------------------------------------------------------------------------------------- datasets
    Option('datasets:*', 'name', Str(what='a name'), 'the dataset\'s name in logs, tables and result folders',
           required=True),
    Option('datasets:*', 'type', Str(what='a registered dataset name'), 'the dataset class (`DATASET_REGISTRY`)',
           required=True),
    Option('datasets:*', 'dataroot_gt', PATH, 'folder (or LMDB) of the ground-truth HR images',
           readers=('PairedImageDataset', 'RealESRGANDataset'), required=True),
    Option('datasets:*', 'dataroot_lq', PATH, 'folder (or LMDB) of the LQ inputs',
           readers=('PairedImageDataset', 'SingleImageDataset'), required=True),
    Option('datasets:*', 'meta_info_file', PATH, 'a list of the image names to read (`meta_info.txt` format)',
           readers=('PairedImageDataset', 'SingleImageDataset'), nullable=True),
    Option('datasets:*', 'meta_info', PATH, 'the list of HR sub-images (`prepare_realesrgan` writes it)',
           readers=('RealESRGANDataset',), nullable=True),
    Option('datasets:*', 'filename_tmpl', Str(r'[^{}]*\{\}[^{}]*', "a template with one '{}'"),
           "LQ name from the GT name: '{}x4' pairs baby.png with babyx4.png", default='{}',
           readers=('PairedImageDataset',)),
    Option('datasets:*', 'io_backend', Mapping('a mapping with type: disk or type: lmdb'), 'how files are read',
           required=True),
    Option('datasets:*', 'gt_size', Int(1), 'HR patch side of the random training crops',
           readers=('PairedImageDataset',), source='128 (release `"HR_size"`; the paper\'s text: 192)'),
    Option('datasets:*', 'use_hflip', Bool(), 'random horizontal flips (training)', default=False,
           readers=('PairedImageDataset', 'RealESRGANDataset'), source='on (Sec. IV-A)'),
    Option('datasets:*', 'use_rot', Bool(), 'random rotations by 90° (training)', default=False,
           readers=('PairedImageDataset', 'RealESRGANDataset'), source='on (Sec. IV-A)'),
    Option('datasets:*', 'use_shuffle', Bool(), 'shuffle the training samples', default=True),
    Option('datasets:*', 'num_worker_per_gpu', Int(0), 'data-loading worker processes per GPU (0: in the process)'),
    Option('datasets:*', 'batch_size_per_gpu', Int(1), 'training batch per process: the paper\'s 16 on N GPUs is 16/N',
           source='16 (Sec. IV-A)'),
    Option('datasets:*', 'dataset_enlarge_ratio', Int(1), 'repeat the training set this many times per epoch',
           default=1),
    Option('datasets:*', 'prefetch_mode', Choice((None, 'cpu', 'cuda')), 'prefetch batches (cuda needs pin_memory)',
           default=None),
    Option('datasets:*', 'pin_memory', Bool(), 'page-locked batches (needed by prefetch_mode: cuda)', default=False),
    Option('datasets:*', 'persistent_workers', Bool(), 'keep the data-loading workers between epochs', default=False),
    Option('datasets:*', 'num_prefetch_queue', Int(1), 'batches prefetched (prefetch_mode: cpu)', default=1),
    Option('datasets:*', 'color', Choice(('y',)), 'read images as their Y channel', nullable=True,
           readers=('PairedImageDataset', 'SingleImageDataset')),
    Option('datasets:*', 'mean', ListOf(Number(), 3), 'per-channel mean subtracted after reading', nullable=True,
           readers=('PairedImageDataset', 'SingleImageDataset')),
    Option('datasets:*', 'std', ListOf(Number(), 3), 'per-channel std divided after reading', nullable=True,
           readers=('PairedImageDataset', 'SingleImageDataset')),
    Option('datasets:*', 'phase', Anything(), 'train, val or test (from the phase\'s name)', derived=True),
    Option('datasets:*', 'scale', Anything(), 'the option file\'s scale', derived=True),
    *_kernel('blur_kernel_size', Int(1), 'kernel side (odd)'),
    *_kernel('kernel_list', ListOf(Choice(('iso', 'aniso', 'generalized_iso', 'generalized_aniso', 'plateau_iso',
                                          'plateau_aniso'))), 'kernel kinds to draw from'),
    *_kernel('kernel_prob', ListOf(Number(0, 1)), 'probability of each kernel kind'),
    *_kernel('blur_sigma', RANGE, 'range of the Gaussian sigma'),
    *_kernel('betag_range', RANGE, 'range of the generalized Gaussian beta'),
    *_kernel('betap_range', RANGE, 'range of the plateau beta'),
    *_kernel('sinc_prob', PROBABILITY, 'probability of a sinc kernel instead'),
    Option('datasets:*', 'final_sinc_prob', PROBABILITY, 'probability of the final sinc filter',
           readers=('RealESRGANDataset',), required=True, source='Real-ESRGAN `train_realesrgan_x4plus.yml`, same key'),
    Option('datasets:*:io_backend', 'type', Choice(('disk', 'lmdb')),
           'disk: a folder of images; lmdb: a `<name>.lmdb` folder made by `fasrgan-create-lmdb`', required=True),

    # ------------------------------------------------------------------------------------------------- networks
    *[Option(section, 'type', Str(what='a registered arch name'), 'the arch class (`ARCH_REGISTRY`)', required=True)
      for section in ('network_g', 'network_d')],
    *[Option(section, key, kind, meaning, default=SIGNATURE, readers=readers, source=source)
      for section in ('network_g', 'network_d')
      for key, kind, meaning, readers, source in (
          ('num_in_ch', Int(1), 'input channels (a feature-reading discriminator: the extractor\'s features)',
           ('RRDBNet', 'MSRResNet', 'ReleaseSRResNet', 'FsRRDBNet', 'FsMSRResNet', 'Bicubic', 'UNetDiscriminatorFA',
            'VGGFeatureDiscriminator', 'VGGStyleDiscriminator', 'UNetDiscriminatorSN'), ''),
          ('num_out_ch', Int(1), 'output channels', ('RRDBNet', 'MSRResNet', 'ReleaseSRResNet', 'FsRRDBNet',
                                                      'FsMSRResNet', 'Bicubic'), ''),
          ('num_feat', Int(1), 'features of the first layers', ('RRDBNet', 'MSRResNet', 'ReleaseSRResNet', 'FsRRDBNet',
                                                                 'FsMSRResNet',
                                                                 'UNetDiscriminatorFA', 'VGGFeatureDiscriminator',
                                                                 'VGGStyleDiscriminator', 'UNetDiscriminatorSN'),
           '64 (Sec. IV-A, "same as ESRGAN")'),
          ('num_block', Int(1), 'blocks of the trunk: RRDBs (deep ones for Fs) or residual blocks',
           ('RRDBNet', 'MSRResNet', 'ReleaseSRResNet', 'FsRRDBNet', 'FsMSRResNet'),
           '23 RRDBs (ESRGAN, FASRGAN); Fs-SRGAN E1G16: 16 deep; FA+Fs-SRGAN E2G15: 15 (Sec. IV)'),
          ('num_grow_ch', Int(1), 'growth channels of each dense block', ('RRDBNet', 'FsRRDBNet'), '32 (ESRGAN)'),
          ('scale', Int(1), 'upsampling factor (must be the option file\'s scale)', ('RRDBNet', 'FsRRDBNet', 'Bicubic'),
           ''),
          ('upscale', Int(1), 'upsampling factor (must be the option file\'s scale)', ('MSRResNet', 'ReleaseSRResNet',
                                                                                    'FsMSRResNet'), ''),
          ('num_shared_block', Int(1), 'blocks of the shared extractor E (feature sharing)',
           ('FsRRDBNet', 'FsMSRResNet'), 'E = 1 (Fs-SRGAN), 2 (FA+Fs-SRGAN) (Sec. IV-F)'),
          ('layout', Choice(('single', 'stacked')), "single: one RRDBNet of E + G blocks (Eq. 11); stacked: the "
           "authors' release (extractor shortcut, a whole RRDBNet after it)", ('FsRRDBNet',), 'release `model_ex`'),
          ('weight_init', Choice(('default', 'kaiming')), "default: BasicSR's/PyTorch's initialisation; kaiming: the "
           "release's (define_D / define_G)", ('FsRRDBNet', 'UNetDiscriminatorFA', 'VGGFeatureDiscriminator'),
           'release `models/networks.py`'),
          ('map_channels', Int(1), 'channels of the score map (the image\'s)', ('UNetDiscriminatorFA',),
           'C, the image\'s channels (Sec. III-A)'),
          ('norm', Choice(('batch', 'spectral', 'none')), 'normalisation of the discriminator\'s convolutions',
           ('UNetDiscriminatorFA', 'VGGFeatureDiscriminator'), 'BatchNorm (Fig. 3)'),
          ('bn_eps_as_channels', Bool(), "the release's BatchNorm2d(out_ch, out_ch): eps = channels in each stage's "
           'first BatchNorm', ('UNetDiscriminatorFA',), 'release `double_conv`'),
          ('skip_connection', Bool(), 'UNet skip connections', ('UNetDiscriminatorSN',), 'on (Real-ESRGAN)'),
      )],

    Option('network_d', 'input_size', Int(8), 'the input side the fully connected score head is built for '
           '(= gt_size); empty with `score_head: pooled`', default=SIGNATURE, nullable=True,
           readers=('UNetDiscriminatorFA', 'VGGFeatureDiscriminator', 'VGGStyleDiscriminator'),
           source='128 (release `"HR_size"`)'),
    Option('network_d', 'score_head', Choice(('fc', 'pooled')), "the whole-image score head: fc, the paper's (fully "
           'connected on the flattened deepest features, sized for input_size); pooled, convolutions and global '
           'average pooling before the same FC layers (the same parameters at any input size)', default=SIGNATURE,
           readers=('UNetDiscriminatorFA',),
           source="fc: the paper (Fig. 3); pooled: this project's, the real-world option files' (docs/real_world.md)"),

    # ----------------------------------------------------------------------------------------------------- path
    Option('path', 'pretrain_network_*', PATH, 'checkpoint to start the network from (`pretrain_network_g`, `_d`)',
           nullable=True, source='G: the L1-pretrained generator (Sec. IV-A)'),
    Option('path', 'strict_load_*', Bool(), 'every key must fit (false: load what fits, skip the rest with a note)',
           default=True),
    Option('path', 'param_key_*', Str(what='a key of the checkpoint'), 'which weights of the checkpoint '
           '(`params`, `params_ema`)', default='params', nullable=True),
    Option('path', 'resume_state', PATH, 'a training state to resume '
           '(`experiments/<name>/training_states/<iter>.state`)', nullable=True),
    Option('path', 'ignore_resume_networks', ListOf(Str(what='a network name')),
           'networks not loaded from the resumed run (e.g. network_d)', nullable=True),
    *[Option('path', key, Anything(), meaning, derived=True) for key, meaning in (
        ('experiments_root', '`experiments/<name>` under the root'), ('models', 'its `models/`'),
        ('training_states', 'its `training_states/`'), ('log', 'where the log file goes'),
        ('visualization', 'where images go'), ('results_root', '`results/<name>` under the root (test)'))],
    Option('path', 'allow_random_init', Bool(), 'test a network without pretrained weights: its random '
           'initialisation (otherwise refused)', default=False),

    # ---------------------------------------------------------------------------------------------------- train
    Option('train', 'ema_decay', Number(0, 1, high_open=True), 'decay of the generator\'s exponential moving average '
           '(0: none)', default=0, source='0: no EMA (paper and release)'),
    Option('train', 'optim_g', Mapping('a mapping with type: Adam (or another)'), 'the generator\'s optimizer'),
    Option('train', 'optim_d', Mapping('a mapping with type: Adam (or another)'), 'the discriminator\'s optimizer'),
    Option('train', 'scheduler', Mapping('a mapping with type: MultiStepLR (or another)'), 'the learning-rate '
           'schedule'),
    Option('train', 'total_iter', Int(1), 'iterations to train', required='train',
           source='5e5 (release `"niter"`; the paper states none)'),
    Option('train', 'warmup_iter', Int(-1), 'iterations of linear learning-rate warm-up (-1: none)', default=-1),
    *[Option('train', key, Mapping('a mapping with type: <loss>'), meaning, nullable=True)
      for key, meaning in (('pixel_opt', 'the pixel loss (L1: λ3 L_1 of Eq. 10)'),
                           ('perceptual_opt', 'the perceptual loss L_percep (VGG19 conv5_4 before ReLU)'),
                           ('gan_opt', 'the whole-image adversarial loss (λ1 L_entire)'),
                           ('ldl_opt', "BasicSR's LDL artifact loss (refused by this package's step)"),
                           ('map_gan_opt', 'the score map\'s pixel-wise adversarial loss (λ1 L_fine, Eqs. 3, 7)'),
                           ('attention_opt', 'the attention-weighted L1 (λ2 L_attention, Eq. 9)'))],
    Option('train', 'net_d_iters', Int(1), 'update the generator every N iterations', default=1),
    Option('train', 'net_d_init_iters', Int(0), 'iterations that update only the discriminator first', default=0),
    Option('train', 'relativistic', Bool(), 'relativistic-average GAN terms (ESRGAN) instead of standard ones',
           source='on for ESRGAN hosts (FASRGAN, Fs-SRGAN), off for SRGAN hosts'),
    Option('train', 'reuse_discriminator_outputs', Bool(), 'one discriminator forward per batch serves both updates '
           '(exact while the generator\'s update leaves the discriminator unchanged)', default=True),
    Option('train', 'batchnorm_updates', Choice(('step', 'release')), "the discriminator's BatchNorm running "
           "statistics: this step's updates (step), or the release's four per iteration, fake first (release)",
           nullable=True, default=None, source='release `models/*_model.py` (release profile)'),
    Option('train', 'mixed_precision', Choice((None, 'fp32', 'bf16', 'fp16')), 'autocast (fp16 with a gradient scaler)',
           default=None),
    Option('train', 'channels_last', Bool(), 'channels-last memory layout of networks and batches', default=False),
    Option('train', 'compile', AnyOf((Bool(), Str(what='a torch.compile backend name')),
                                     'true, false or a torch.compile backend name'),
           'torch.compile the training forwards (true: inductor)', default=False),
    Option('train', 'share_extractor', Bool(), 'share the generator\'s extractor with the discriminator (false: the '
           'w/o Fs ablation)', default=True, source='on (Sec. III-B); off in the w/o Fs ablation (Sec. IV-G)'),

    # --------------------------------------------------------------------------------------------------- losses
    Option('train:*_opt', 'type', Str(what='a registered loss name'), 'the loss class (`LOSS_REGISTRY`)',
           required=True),
    *[Option('train:*_opt', key, kind, meaning, default=SIGNATURE, readers=readers, source=source)
      for key, kind, meaning, readers, source in (
          ('loss_weight', WEIGHT, 'its weight in the total loss',
           ('L1Loss', 'MSELoss', 'CharbonnierLoss', 'GANLoss', 'ScoreMapGANLoss', 'AttentionL1Loss'),
           'λ1 = 5e-3 (gan_opt, map_gan_opt), λ2 = 1e-2 (attention_opt), λ3 = 1e-2 (pixel_opt) (Sec. IV-A); '
           'release: `"gan_weight"`, `"gan_mask_weight"`, `"atten_weight"` 5e-2, `"pixel_weight"`'),
          ('reduction', Choice(('mean', 'sum', 'none')), 'how per-pixel values are reduced',
           ('L1Loss', 'MSELoss', 'CharbonnierLoss', 'ScoreMapGANLoss', 'AttentionL1Loss'), ''),
          ('eps', POSITIVE, 'the Charbonnier epsilon', ('CharbonnierLoss',), ''),
          ('layer_weights', Mapping('a mapping of VGG layer names to weights'), 'VGG feature layers and their weights',
           ('PerceptualLoss',), 'conv5_4: 1 (Sec. III-A)'),
          ('vgg_type', Str(r'vgg(11|13|16|19)(_bn)?', 'a torchvision VGG name (vgg11 ... vgg19, _bn)'),
           'the VGG network', ('PerceptualLoss',), 'vgg19 (Sec. III-A)'),
          ('use_input_norm', Bool(), 'normalise inputs with ImageNet\'s mean and std', ('PerceptualLoss',), ''),
          ('range_norm', Bool(), 'map inputs from [-1, 1] to [0, 1] first', ('PerceptualLoss',), ''),
          ('perceptual_weight', WEIGHT, 'weight of the feature distance', ('PerceptualLoss',), '1 (Eq. 10)'),
          ('style_weight', WEIGHT, 'weight of the Gram-matrix (style) distance', ('PerceptualLoss',), '0'),
          ('criterion', Choice(('l1', 'l2', 'fro')), 'distance of the features', ('PerceptualLoss',),
           'l1 (Sec. III-A)'),
          ('gan_type', Choice(('vanilla', 'lsgan', 'wgan', 'wgan_softplus', 'hinge')), 'the GAN loss form',
           ('GANLoss', 'ScoreMapGANLoss'), 'vanilla: BCE on logits (Sec. III-A)'),
          ('real_label_val', Number(), 'target value for real', ('GANLoss', 'ScoreMapGANLoss'), ''),
          ('fake_label_val', Number(), 'target value for fake', ('GANLoss', 'ScoreMapGANLoss'), ''),
          ('map_is_logits', Bool(), 'the score map given is logits (sigmoid applied); false: probabilities',
           ('AttentionL1Loss',), ''),
      )],

    # ---------------------------------------------------------------------------------------- optimizers, schedule
    Option('train:optim_*', 'type', Choice(('Adam', 'AdamW', 'Adamax', 'SGD', 'ASGD', 'RMSprop', 'Rprop')),
           'the torch.optim class', required=True, source='Adam (Sec. IV-A)'),
    Option('train:optim_*', 'lr', POSITIVE, 'learning rate', default=SIGNATURE, readers=('Adam', 'AdamW', 'Adamax',
           'SGD', 'ASGD', 'RMSprop', 'Rprop'), source='1e-4 (Sec. IV-A; release `"lr_G"`, `"lr_D"`)'),
    Option('train:optim_*', 'betas', ListOf(Number(0, 1, high_open=True), 2), "Adam's β1, β2", default=SIGNATURE,
           readers=('Adam', 'AdamW', 'Adamax'), source='[0.9, 0.999] (Sec. IV-A)'),
    Option('train:optim_*', 'weight_decay', NON_NEGATIVE, 'L2 weight decay', default=SIGNATURE,
           readers=('Adam', 'AdamW', 'Adamax', 'SGD', 'ASGD', 'RMSprop'), source='0 (release `"weight_decay"`)'),
    Option('train:optim_*', 'eps', POSITIVE, "the optimizer's epsilon", default=SIGNATURE,
           readers=('Adam', 'AdamW', 'Adamax', 'RMSprop')),
    Option('train:optim_*', 'amsgrad', Bool(), 'the AMSGrad variant', default=SIGNATURE, readers=('Adam', 'AdamW')),
    Option('train:optim_*', 'fused', Bool(), 'the fused (single-kernel) implementation', nullable=True,
           default=SIGNATURE, readers=('Adam', 'AdamW', 'SGD')),
    Option('train:optim_*', 'foreach', Bool(), 'the multi-tensor (foreach) implementation', nullable=True,
           default=SIGNATURE, readers=('Adam', 'AdamW', 'Adamax', 'SGD', 'ASGD', 'RMSprop', 'Rprop')),
    Option('train:optim_*', 'momentum', NON_NEGATIVE, 'momentum', default=SIGNATURE, readers=('SGD', 'RMSprop')),
    Option('train:scheduler', 'type', Choice(('MultiStepLR', 'MultiStepRestartLR', 'CosineAnnealingRestartLR')),
           "BasicSR's learning-rate schedule", required=True),
    Option('train:scheduler', 'milestones', ListOf(Int(1)), 'iterations at which the learning rate is multiplied by '
           'gamma', readers=('MultiStepRestartLR',), required=True,
           source='every 2e5 (Sec. IV-A); release `"lr_steps"` [5e4, 1e5, 2e5, 3e5]'),
    Option('train:scheduler', 'gamma', POSITIVE, 'the factor at each milestone', default=SIGNATURE,
           readers=('MultiStepRestartLR',), source='0.5 (Sec. IV-A)'),
    Option('train:scheduler', 'restarts', ListOf(Int(0)), 'iterations at which the schedule restarts',
           default=SIGNATURE, readers=('MultiStepRestartLR',)),
    Option('train:scheduler', 'periods', ListOf(Int(1)), 'length of each cosine cycle',
           readers=('CosineAnnealingRestartLR',), required=True),
    Option('train:scheduler', 'restart_weights', ListOf(NON_NEGATIVE), 'the learning rate\'s factor at each restart',
           default=SIGNATURE, readers=('MultiStepRestartLR', 'CosineAnnealingRestartLR')),
    Option('train:scheduler', 'eta_min', NON_NEGATIVE, 'the lowest learning rate', default=SIGNATURE,
           readers=('CosineAnnealingRestartLR',)),

    # ------------------------------------------------------------------------------------------------------ val
    Option('val', 'val_freq', Int(1), 'validate every N iterations (training)',
           source='2e3 (release `"val_freq"`)'),
    Option('val', 'save_img', Bool(), 'write the SR images (`visualization/`)', default=False, fill=True),
    Option('val', 'suffix', Str(what='a file-name suffix'), 'suffix of the written SR images (~: the run\'s name; '
           'tests)', default=None, nullable=True, fill=True),
    Option('val', 'pbar', Bool(), 'a progress bar over the images', default=False),
    Option('val', 'save_score_map', Bool(), 'write each validation image\'s score-map panel (FA models)',
           default=False),
    Option('val', 'metrics', Mapping('a mapping of metric names to mappings with type:'), 'the metrics, each logged '
           'under its name', nullable=True),

    # -------------------------------------------------------------------------------------------------- metrics
    Option('val:metrics:*', 'type', Str(what='a registered metric name'), 'the metric (`METRIC_REGISTRY`)',
           required=True),
    Option('val:metrics:*', 'better', Choice(('higher', 'lower')), 'which way is better (for the "Best" in logs)',
           default='higher'),
    Option('val:metrics:*', 'crop_border', Int(0), 'pixels cropped from each side before measuring',
           default=SIGNATURE, readers=('calculate_lpips', 'calculate_ma', 'calculate_pi', 'calculate_rmse',
                                       'calculate_mse'),
           source='4 = scale for PSNR/SSIM/NIQE/RMSE (paper protocol); 0 for LPIPS; the release shaves 0 '
                  '(`evaluate_results.m`, authors\' protocol)'),
    Option('val:metrics:*', 'crop_border', Int(0), 'pixels cropped from each side before measuring',
           readers=('calculate_psnr', 'calculate_ssim', 'calculate_niqe', 'calculate_psnr_pt', 'calculate_ssim_pt'),
           required=True, source='4 = scale (the paper\'s protocol)'),
    Option('val:metrics:*', 'input_order', Choice(('HWC', 'CHW')), 'layout of the images handed over',
           default=SIGNATURE, readers=('calculate_psnr', 'calculate_ssim', 'calculate_niqe', 'calculate_lpips',
                                       'calculate_ma', 'calculate_pi', 'calculate_rmse', 'calculate_mse')),
    Option('val:metrics:*', 'test_y_channel', Bool(), 'measure on the Y channel of YCbCr', default=SIGNATURE,
           readers=('calculate_psnr', 'calculate_ssim', 'calculate_psnr_pt', 'calculate_ssim_pt', 'calculate_rmse',
                    'calculate_mse'), source='true (Sec. IV-B)'),
    Option('val:metrics:*', 'y_uint8', Bool(), "round the Y channel to 8 bits as MATLAB's rgb2ycbcr does for uint8 "
           'images (needs test_y_channel: true)', default=SIGNATURE, readers=('calculate_rmse', 'calculate_mse'),
           source='release `calc_scores.m` (authors\' protocol)'),
    Option('val:metrics:*', 'convert_to', Choice(('y', 'gray')), 'the channel NIQE measures', default=SIGNATURE,
           readers=('calculate_niqe',)),
    Option('val:metrics:*', 'net', Choice(('alex', 'vgg', 'squeeze')), 'LPIPS\'s backbone', default=SIGNATURE,
           readers=('calculate_lpips',), source='alex (Sec. IV-B)'),
    Option('val:metrics:*', 'version', Choice(('0.0', '0.1')), 'LPIPS\'s linear layers', default=SIGNATURE,
           readers=('calculate_lpips',), source='0.0 (the paper\'s LPIPS)'),
    Option('val:metrics:*', 'device', Str(what='a torch device'), 'where LPIPS runs (default: CUDA when available)',
           default=SIGNATURE, nullable=True, readers=('calculate_lpips',)),
    Option('val:metrics:*', 'ma_model_path', PATH, "Ma's model file (NRQM_model.mat; default: pyiqa's cache)",
           default=SIGNATURE, nullable=True, readers=('calculate_ma', 'calculate_pi')),

    # ---------------------------------------------------------------------------------------------------- logger
    Option('logger', 'print_freq', Int(1), 'log the losses every N iterations', required=True,
           source='200 (release `"print_freq"`)'),
    Option('logger', 'save_checkpoint_freq', Int(1), 'save networks and a training state every N iterations',
           required=True, source='2e3 (release `"save_checkpoint_freq"`)'),
    Option('logger', 'use_tb_logger', Bool(), 'TensorBoard logs in `tb_logger/<name>`', default=False),
    Option('logger', 'wandb', Mapping(), 'Weights & Biases logging', nullable=True),
    Option('logger:wandb', 'project', Str(what='a project name'), 'the W&B project (~: off)', nullable=True),
    Option('logger:wandb', 'resume_id', Str(what='a run id'), 'the W&B run to resume', nullable=True),
    Option('dist_params', 'backend', Choice(('nccl', 'gloo')), 'the torch.distributed backend', default='nccl'),
    Option('dist_params', 'port', Int(1, 65535), 'the rendezvous port', default=29500),
]


def section_of(path):
    """The :class:`Section` named ``path`` (``'train:*_opt'``, ``''``), or None."""
    return next((s for s in SECTIONS if s.path == path), None)


def options_of(section):
    """Every table entry of ``section`` (a section path), in the table's order."""
    return [o for o in TABLE if o.section == section]


def key_matches(option_key, key):
    """Whether ``key`` is the option's key (``pretrain_network_*`` matches ``pretrain_network_g``)."""
    return key == option_key or (option_key.endswith('*') and key.startswith(option_key[:-1]) and
                                 len(key) > len(option_key) - 1)


def section_matches(pattern, path):
    """Whether the key path ``path`` (a tuple of keys) is the section ``pattern`` (``train:*_opt``)."""
    parts = pattern.split(':') if pattern else []
    if len(parts) != len(path):
        return False
    for part, key in zip(parts, path):
        key = str(key)
        if part == '*' or part == key:
            continue
        if part.startswith('*') and key.endswith(part[1:]) and len(key) > len(part) - 1:
            continue
        if part.endswith('*') and key.startswith(part[:-1]) and len(key) > len(part) - 1:
            continue
        return False
    return True


def section_for(path):
    """The :class:`Section` a key path (tuple) belongs to: the most specific pattern that matches, or None."""
    found = [s for s in SECTIONS if section_matches(s.path, path)]
    return min(found, key=lambda s: s.path.count('*'), default=None)
