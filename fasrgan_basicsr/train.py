"""Train: ``python fasrgan_basicsr/train.py -opt options/train_FASRGAN_x4.yml [--auto_resume]`` (BasicSR's way).

The command ``fasrgan-train`` (:mod:`fasrgan_basicsr.cli.train`) under BasicSR's script path.
"""
from fasrgan_basicsr.cli.train import main

if __name__ == '__main__':
    main()
