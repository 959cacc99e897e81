"""Dataset preparation for fasrgan_basicsr: DIV2K, the benchmark sets and RealSR to BasicSR-ready folders and LMDBs.

Every script runs from the repository root as ``python datasets_prep/<script>.py --help``:

- ``prepare_div2k.py``      DIV2K HR folder -> training LMDBs (GT sub-images + bicubic LR sub-images)
- ``prepare_benchmarks.py`` benchmark sets -> ``HR/`` + ``LR_bicubic/X4/`` folders (+ optional LMDBs)
- ``prepare_realsr.py``     RealSR (V3) camera pairs -> test pair folders + train sub-image LMDBs
- ``prepare_realesrgan.py`` HR images only -> sub-images + meta_info list (+ LMDB) for RealESRGANDataset
- ``extract_subimages.py``, ``generate_bicubic_lr.py``, ``create_lmdb.py``: the single steps
"""
