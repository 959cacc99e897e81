"""Install fasrgan_basicsr: FASRGAN, Fs-SRGAN and FA+Fs-SRGAN as a BasicSR plugin, with its commands and option files.

The repository's ``options/`` folder is installed as ``fasrgan_basicsr/options/`` (``fasrgan-options list`` shows
it); its ``datasets_prep/`` scripts are the ``fasrgan-prepare-*`` commands (the library is
``fasrgan_basicsr.datasets_prep``), so a wheel gives everything a clone gives.
"""
import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).resolve().parent
VERSION = re.search(r"__version__ = '([^']+)'", (HERE / 'fasrgan_basicsr' / 'version.py').read_text()).group(1)

#: console command -> the module of ``fasrgan_basicsr.cli`` whose entry point it runs
COMMANDS = {
    'fasrgan-train': 'train:main',
    'fasrgan-test': 'test:main',
    'fasrgan-infer': 'inference:run',
    'fasrgan-export': 'export:run',
    'fasrgan-join-fs': 'join_fs:run',
    'fasrgan-score': 'score_outputs:run',
    'fasrgan-collect': 'collect_results:run',
    'fasrgan-table1': 'table1:run',
    'fasrgan-recognize': 'object_recognition:run',
    'fasrgan-score-map': 'visualize_score_map:run',
    'fasrgan-features': 'visualize_features:run',
    'fasrgan-demo': 'demo:run',
    'fasrgan-demo-realworld': 'demo_realworld:run',
    'fasrgan-options': 'options:run',
    'fasrgan-prepare-div2k': 'prepare_div2k:run',
    'fasrgan-prepare-benchmarks': 'prepare_benchmarks:run',
    'fasrgan-prepare-realsr': 'prepare_realsr:run',
    'fasrgan-prepare-realesrgan': 'prepare_realesrgan:run',
    'fasrgan-extract-subimages': 'extract_subimages:run',
    'fasrgan-generate-bicubic-lr': 'generate_bicubic_lr:run',
    'fasrgan-create-lmdb': 'create_lmdb:run',
}

setup(
    name='fasrgan_basicsr',
    version=VERSION,
    description='Fine-grained attention and feature-sharing GANs for super-resolution, as a BasicSR 1.4.2 plugin',
    long_description=(HERE / 'README.md').read_text(encoding='utf-8'),
    long_description_content_type='text/markdown',
    author='fasrgan_basicsr contributors',
    license='Apache-2.0',
    license_files=['LICENSE'],
    project_urls={
        'Paper authors\' code': 'https://github.com/Rainyfish/FASRGAN-and-Fs-SRGAN',
        'BasicSR': 'https://github.com/XPixelGroup/BasicSR',
    },
    keywords='super-resolution, GAN, BasicSR, FASRGAN, Fs-SRGAN, ESRGAN',
    python_requires='>=3.11',  # tested on 3.11, 3.12, 3.13 (docs: installation)
    classifiers=[
        'Development Status :: 4 - Beta',
        'Intended Audience :: Science/Research',
        'License :: OSI Approved :: Apache Software License',
        'Operating System :: POSIX :: Linux',
        'Programming Language :: Python :: 3',
        'Programming Language :: Python :: 3.11',
        'Programming Language :: Python :: 3.12',
        'Programming Language :: Python :: 3.13',
        'Topic :: Scientific/Engineering :: Artificial Intelligence',
        'Topic :: Scientific/Engineering :: Image Processing',
    ],
    packages=find_packages(include=['fasrgan_basicsr', 'fasrgan_basicsr.*']) + ['fasrgan_basicsr.options'],
    package_dir={'fasrgan_basicsr.options': 'options'},
    package_data={'fasrgan_basicsr.options': ['*.yml', '*.json', '**/*.yml'],
                  'fasrgan_basicsr.evaluation': ['published_table1.yml']},
    entry_points={'console_scripts': [f'{name} = fasrgan_basicsr.cli.{target}' for name, target in COMMANDS.items()]},
    install_requires=[
        'basicsr==1.4.2',
        'torch>=2.5',  # nn.Module.register_state_dict_post_hook (the Fs generators' plain key names)
        'torchvision>=0.20',
        'numpy',
        'opencv-python',
        'Pillow',
        'lpips',
        'pyyaml',
        'lmdb',
        'scikit-image',
        'tensorboard',
        'tqdm',
        'setuptools; python_version >= "3.12"',  # basicsr imports distutils, which 3.12 removed (setuptools has it)
        'spandrel',  # chaiNNer's / ComfyUI's model loader: tests and fasrgan_basicsr.interop.spandrel
        'safetensors',  # fasrgan-export
        'onnx',  # fasrgan-export (torch's ONNX exporter)
        'onnxscript',  # fasrgan-export (torch's ONNX exporter)
        'onnxruntime',  # fasrgan-export checks each ONNX file it writes
    ],
    extras_require={
        'dev': ['pytest', 'pytest-xdist', 'ruff', 'hypothesis', 'import-linter', 'jsonschema'],
        'pi': ['pyiqa'],  # Ma et al.'s score (NRQM) for the perceptual index PI; optional
        'docs': ['mkdocs==1.6.1', 'mkdocs-material==9.8.2', 'mkdocstrings==1.0.8', 'mkdocstrings-python==2.0.11'],
    },
)
