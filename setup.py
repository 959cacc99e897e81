"""Install fasrgan_basicsr: FASRGAN, Fs-SRGAN and FA+Fs-SRGAN as a BasicSR plugin."""
from setuptools import find_packages, setup

setup(
    name='fasrgan_basicsr',
    version='0.1.0',
    description='Fine-grained attention and feature-sharing GANs for super-resolution, as a BasicSR 1.4.2 plugin',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    python_requires='>=3.11',  # tested on 3.11, 3.12, 3.13 (README: Python versions)
    classifiers=['Programming Language :: Python :: 3.11', 'Programming Language :: Python :: 3.12',
                 'Programming Language :: Python :: 3.13'],
    packages=find_packages(include=['fasrgan_basicsr', 'fasrgan_basicsr.*']),
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
        'spandrel',  # chaiNNer's / ComfyUI's model loader: tests and spandrel_support.py
        'safetensors',  # export.py
        'onnx',  # export.py (torch's ONNX exporter)
        'onnxscript',  # export.py (torch's ONNX exporter)
        'onnxruntime',  # export.py checks each ONNX file it writes
    ],
    extras_require={
        'dev': ['pytest', 'pytest-xdist', 'ruff', 'hypothesis'],
        'pi': ['pyiqa'],  # Ma et al.'s score (NRQM) for the perceptual index PI; optional
    },
    license='Apache-2.0',
)
