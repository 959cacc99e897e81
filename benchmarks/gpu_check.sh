#!/usr/bin/env bash
# One prepared run on a GPU machine: the CUDA tests, then the GPU benchmark tables, in at most 8 minutes.
#
#     bash benchmarks/gpu_check.sh OUT_DIR
#
# Writes OUT_DIR/gpu_check.log (everything printed), OUT_DIR/pytest_cuda.xml (JUnit), and the result tables
# OUT_DIR/train_step_<gpu>-cuda.md (eager groups), OUT_DIR/train_step_compiled_<gpu>-cuda.md (torch.compile
# groups), OUT_DIR/inference_fp16_<gpu>-cuda.md and OUT_DIR/inference_fp32_<gpu>-cuda.md. Commit the tables
# into benchmarks/results/.
#
# The GPU machine (this project's device tool) has no network; its python3 (3.12) holds torch, torchvision,
# opencv, scikit-image, tensorboard, pytest (+ xdist, timeout) but not basicsr, lpips, lmdb (nor addict, future,
# yapf). They travel as wheels: first, here, with the package index reachable,
#
#     bash benchmarks/build_gpu_wheels.sh        # → .gpu_wheels/ (git-ignored, about 1.7 MB)
#
# then one device call:
#
#     run(command="bash benchmarks/gpu_check.sh $OUT", carry=[".gpu_wheels"], timeout_s=560)
#
# (kind left out: an H100; the script ends by itself within GPU_CHECK_BUDGET = 470 s, and 560 leaves the
# tool's limit for the machine's own overheads). Each stage has its own time limit, so one hang cannot eat the
# others' time, and the log says what was skipped and why. GPU_CHECK_STAGES="tests train inference compile"
# (the default) selects stages for a rerun, e.g. GPU_CHECK_STAGES=compile.
#
# Without CUDA (e.g. here) the same script runs to the end as a dry run: the cuda tests are skipped (and
# said so) and the benchmarks run with --dry_run (tiny networks, one round; of the train-step groups only
# FASRGAN's, to stay short: `python benchmarks/bench_train_step.py --dry_run` runs all), with every time limit
# GPU_CHECK_CPU_SCALE (default 3) times longer. PYTHON (default python3) and GPU_WHEELS (default .gpu_wheels)
# may point elsewhere for such a rehearsal.
set -uo pipefail

OUT=${1:?usage: bash benchmarks/gpu_check.sh OUT_DIR}
REPO=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-python3}
WHEELS=${GPU_WHEELS:-$REPO/.gpu_wheels}
BUDGET=${GPU_CHECK_BUDGET:-470}
SCALE=1  # time limits are for the GPU; a dry run on a (shared, small) CPU gets GPU_CHECK_CPU_SCALE times them
STAGES=${GPU_CHECK_STAGES:-tests train inference compile}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
exec > >(tee -a "$OUT/gpu_check.log") 2>&1
export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
cd "$REPO" || exit 2

left() { echo $((BUDGET - SECONDS)); }
t() { echo $(($1 * SCALE)); }  # a time limit, scaled
say() { echo "[gpu_check $(printf '%4d' "$SECONDS") s] $*"; }
wants() { [[ " $STAGES " == *" $1 "* ]]; }
# stage NAME MAX_SECONDS RESERVE CMD...: runs CMD with a limit of min(MAX_SECONDS, time left − RESERVE)
stage() {
    local name=$1 max=$2 reserve=$3
    shift 3
    max=$(t "$max")
    reserve=$(t "$reserve")
    local limit=$(( $(left) - reserve ))
    (( limit > max )) && limit=$max
    if (( limit < 30 )); then
        say "SKIPPED $name: only $(left) s of the $BUDGET s budget left (needs 30 s + $reserve s kept for later stages)"
        return 0
    fi
    say "START $name (limit $limit s): $*"
    local start=$SECONDS
    timeout --kill-after=10 "$limit" "$@"
    local rc=$?
    if (( rc == 124 || rc == 137 )); then
        say "TIMED OUT $name after $((SECONDS - start)) s (limit $limit s): what it wrote so far is in $OUT"
    else
        say "END $name: exit $rc after $((SECONDS - start)) s"
    fi
    return 0
}

say "repository $REPO, output $OUT, budget $BUDGET s, stages: $STAGES"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
"$PY" - <<'EOF'
import os, platform, torch
print(f'python {platform.python_version()}, torch {torch.__version__}, CUDA available: {torch.cuda.is_available()}'
      + (f' ({torch.cuda.get_device_name(0)}, bf16: {torch.cuda.is_bf16_supported()})' if torch.cuda.is_available()
         else '') + f', {os.cpu_count()} CPUs')
EOF

# ------------------------------------------------------------------ install: wheels, then the project on PYTHONPATH
SITE=${TMPDIR:-/tmp}/gpu_check_site
if "$PY" -c 'import basicsr, lpips, lmdb' 2>/dev/null; then
    say "basicsr, lpips and lmdb are installed already: no wheels needed"
elif ls "$WHEELS"/*.whl >/dev/null 2>&1; then
    say "installing $(ls "$WHEELS"/*.whl | wc -l) wheels from $WHEELS into $SITE"
    rm -rf "$SITE"
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --disable-pip-version-check \
        --target "$SITE" "$WHEELS"/*.whl || { say "FAILED: pip could not install the wheels"; exit 2; }
    export PYTHONPATH=$SITE${PYTHONPATH:+:$PYTHONPATH}
else
    say "FAILED: basicsr/lpips/lmdb are missing and $WHEELS has no wheels: run 'bash benchmarks/build_gpu_wheels.sh'"
    say "where the package index is reachable and pass .gpu_wheels in the device call's carry"
    exit 2
fi
export PYTHONPATH=$REPO${PYTHONPATH:+:$PYTHONPATH}  # the project itself (no build step: nothing to fetch offline)
"$PY" -c 'import fasrgan_basicsr, basicsr, lpips, lmdb; print("imports ok: fasrgan_basicsr", fasrgan_basicsr.__file__)' \
    || { say "FAILED: the project does not import"; exit 2; }

CUDA=$("$PY" -c 'import torch; print(int(torch.cuda.is_available()))')
if [[ $CUDA == 1 ]]; then
    DEVICE=cuda
    TRAIN_MODE=(--batch 16)
    INFER_MODE=()
    DRY_GROUPS=0
else
    DEVICE=cpu
    TRAIN_MODE=(--dry_run)
    INFER_MODE=(--dry_run)
    DRY_GROUPS=1
    SCALE=${GPU_CHECK_CPU_SCALE:-3}
    BUDGET=$((BUDGET * SCALE))
    say "NO CUDA DEVICE: the cuda tests are skipped (pytest reports each) and the benchmarks run as a dry run" \
        "(tiny networks, one round) on the CPU, FASRGAN's groups only (the others: bench_train_step.py --dry_run):" \
        "they prove the commands start and finish; their times mean nothing. Time limits ×$SCALE: budget $BUDGET s"
fi

# ------------------------------------------------------------------------------------------- the cuda tests
if wants tests; then
    PYTEST=("$PY" -m pytest tests/test_cuda.py -m cuda -rs -q -p no:cacheprovider --junitxml="$OUT/pytest_cuda.xml")
    if [[ $CUDA == 1 ]] && "$PY" -c 'import xdist' 2>/dev/null; then
        PYTEST+=(-n 6)  # the slow tests launch training processes or compile: run them side by side
    fi
    if "$PY" -c 'import pytest_timeout' 2>/dev/null; then
        PYTEST+=(--timeout 150)  # one hung test fails alone
    fi
    stage "cuda tests" 190 240 "${PYTEST[@]}"
else
    say "SKIPPED cuda tests: not in GPU_CHECK_STAGES"
fi

# -------------------------------------------------------------------------------- benchmarks (eager, then compiled)
if wants train; then
    groups=FASRGAN,FA+Fs-SRGAN,Fs-SRGAN
    (( DRY_GROUPS )) && groups=FASRGAN
    stage "train-step benchmark" 150 90 "$PY" benchmarks/bench_train_step.py --device "$DEVICE" "${TRAIN_MODE[@]}" \
        --models "$groups" --child_timeout "$(t 110)" --out_dir "$OUT"
else
    say "SKIPPED train-step benchmark: not in GPU_CHECK_STAGES"
fi
if wants inference; then
    for precision in fp16 fp32; do
        if [[ $CUDA == 0 && $precision == fp16 ]]; then
            say "SKIPPED inference benchmark fp16: float16 inference needs CUDA"
            continue
        fi
        stage "inference benchmark $precision" 45 40 "$PY" benchmarks/bench_inference.py --device "$DEVICE" \
            --precision "$precision" --child_timeout "$(t 40)" --out_dir "$OUT" "${INFER_MODE[@]}"
    done
else
    say "SKIPPED inference benchmark: not in GPU_CHECK_STAGES"
fi
if wants compile; then  # compilation takes long: with the time that is left, FASRGAN's group first
    groups="FASRGAN compiled,FA+Fs-SRGAN compiled,Fs-SRGAN compiled"
    (( DRY_GROUPS )) && groups="FASRGAN compiled"
    stage "train-step benchmark, torch.compile" 600 0 "$PY" benchmarks/bench_train_step.py --device "$DEVICE" \
        "${TRAIN_MODE[@]}" --models "$groups" --tag compiled --child_timeout "$(t 150)" --out_dir "$OUT"
else
    say "SKIPPED train-step benchmark, torch.compile: not in GPU_CHECK_STAGES"
fi

say "done in $SECONDS s; files in $OUT:"
ls -l "$OUT"
