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
        'torch>=2.0',
        'torchvision>=0.15',
        'numpy',
        'opencv-python',
        'Pillow',
        'lpips',
        'pyyaml',
        'lmdb',
        'scikit-image',
        'tensorboard',
        'tqdm',
    ],
    extras_require={
        'dev': ['pytest', 'ruff'],
        'pi': ['pyiqa'],  # Ma et al.'s score (NRQM) for the perceptual index PI; optional
    },
    license='Apache-2.0',
)
