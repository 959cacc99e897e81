#!/usr/bin/env bash
# Build the wheels that benchmarks/gpu_check.sh installs on the GPU machine, into .gpu_wheels/ (git-ignored).
#
#     bash benchmarks/build_gpu_wheels.sh            # here, with the package index reachable, after `make install`
#
# The GPU machine has no network. Its Python 3.12 holds torch 2.11, torchvision 0.26, opencv
# (headless), scikit-image, scipy, tensorboard, tqdm, requests, pyyaml, pytest (+ xdist, timeout) but
# not BasicSR, lpips, lmdb, nor BasicSR's other declared needs addict, future and yapf (+ platformdirs).
# basicsr 1.4.2 is an sdist only; it builds to a pure-Python wheel (py3-none-any), here with this
# project's venv (.venv, or PYTHON=...: its setup.py imports torch). lmdb is compiled: its cp312 manylinux wheel
# is fetched.
# Versions are the ones this project's venv runs. About 1.7 MB in all (the device call carries 64 MiB).
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=.gpu_wheels
PY=${PYTHON:-.venv/bin/python}

exclude=$(git rev-parse --git-path info/exclude)
mkdir -p "$(dirname "$exclude")"
grep -qxF "/$DEST/" "$exclude" 2>/dev/null || echo "/$DEST/" >>"$exclude"

rm -rf "$DEST"
mkdir -p "$DEST"
"$PY" -m pip wheel -q --no-deps --no-build-isolation -w "$DEST" basicsr==1.4.2
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d "$DEST" lmdb==3.0.0 lpips==0.1.4 addict==2.4.0 future==1.0.0 yapf==0.43.0 platformdirs==4.14.8
ls -l "$DEST"
du -sh "$DEST"
if git check-ignore -q "$DEST/x.whl"; then echo "$DEST is ignored by git: pass it in the device call's carry"; fi
