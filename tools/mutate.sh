#!/usr/bin/env bash
# Mutation testing (mutmut) of the modules where a wrong answer is silent; `make mutate` runs it.
#
#   tools/mutate.sh [MODULE...]      MODULE: a name of the table below; default: all of them
#   MUTATE_TESTS='tests/a.py tests/b.py::test_c' tools/mutate.sh MODULE   other tests (e.g. to compare)
#
# Each module is mutated in its own copy of the working tree ($MUTATE_DIR/<module>, default
# /tmp/fasrgan_mutate; the checkout itself is never touched) and every mutant runs against the fast
# tests that cover that module only. mutmut keeps its verdicts there: a rerun retests only the
# functions (or tests) that changed. Prints per module the score and each surviving mutant that
# docs/equivalent_mutants.md does not explain; `cd $MUTATE_DIR/<module> && mutmut show NAME` shows one.
# Exit status: 0 when every survivor is listed as equivalent, 1 when some is not, 2 when a module could not run
# (its tests failed unmutated, or mutmut failed: the end of its run.log is shown).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-$REPO/.venv/bin/python}
case $PY in /*) ;; */*) PY=$PWD/$PY ;; esac  # used from the copies too
MUTATE_DIR=${MUTATE_DIR:-${TMPDIR:-/tmp}/fasrgan_mutate}
EQUIVALENTS=$REPO/docs/equivalent_mutants.md
MUTMUT_VERSION=3.8.1
# pytest's arguments for every run, mutmut's and the re-check's: no cache or workers; no test that starts the
# entry points in a child process (slow, and covered in-process); no torch.compile test (11 s a mutant; it compares
# the compiled forward with the eager one, and both run the same mutant)
PYTEST_ARGS=(-p no:cacheprovider -p no:xdist -m 'not subprocess'
             --deselect tests/test_step_speedups.py::test_compiled_forwards_equal_eager)

# module | files mutated (globs, space-separated) | the fast tests that cover them (space-separated)
#        [| the only top-level functions mutated in those files (space-separated; default: all of them)]
TARGETS='
losses|fasrgan_basicsr/losses/*|tests/test_fa_losses.py
rng_state|fasrgan_basicsr/utils/rng_state.py|tests/test_rng_state.py
checkpoint|fasrgan_basicsr/utils/checkpoint.py|tests/test_checkpoint.py
resilience|fasrgan_basicsr/pipeline/resilience.py fasrgan_basicsr/utils/distributed.py|tests/test_resilience_hooks.py
generators|fasrgan_basicsr/generators/loading.py fasrgan_basicsr/generators/tiling.py|tests/test_generators.py
archs|fasrgan_basicsr/archs/*|tests/test_arch_structure.py tests/test_unet_discriminator.py tests/test_fs_models.py tests/test_bicubic_baseline.py tests/test_release_profile.py
models|fasrgan_basicsr/models/*|tests/test_fasrgan_model.py tests/test_gan_step_saving.py tests/test_gan_step_routing.py tests/test_step_options.py tests/test_fs_models.py tests/test_step_speedups.py tests/test_score_map_fafs.py tests/test_score_map_validation.py tests/test_realesrgan_fa.py
datasets_prep|fasrgan_basicsr/datasets_prep/create_lmdb.py fasrgan_basicsr/datasets_prep/prepare_benchmarks.py fasrgan_basicsr/datasets_prep/prepare_realsr.py fasrgan_basicsr/datasets_prep/images.py|tests/test_datasets_prep_edges.py tests/test_datasets_prep_pairing.py tests/test_datasets_prep.py tests/test_datasets_prep_bad_input.py|check_keys file_key _valid_key write_lmdb read_meta_info verify_lmdb _decode _shape verify_pair verify_entries_match_files match_shipped_lr lr_file_name key_of_lr_file prepare_image build_set_lmdbs find_pairs plan_pair write_pair plan_split pairs_large_enough refuse_name_clashes caseless mod_crop
'

"$PY" -c 'import mutmut' 2>/dev/null || "$PY" -m pip install -q "mutmut==$MUTMUT_VERSION"
MUTMUT=$(dirname "$PY")/mutmut

row() { printf '%s\n' "$TARGETS" | awk -F'|' -v m="$1" '$1 == m'; }
if [ $# -eq 0 ]; then
    set -- $(printf '%s\n' "$TARGETS" | awk -F'|' 'NF >= 3 {print $1}')
fi

survivors=0
broken=0
for module in "$@"; do
    line=$(row "$module")
    if [ -z "$line" ]; then
        echo "error: unknown module '$module' (known: $(printf '%s\n' "$TARGETS" | awk -F'|' 'NF >= 3 {printf "%s ", $1}'))" >&2
        exit 2
    fi
    IFS='|' read -r _ globs tests functions <<<"$line"
    tests=${MUTATE_TESTS:-$tests}
    work=$MUTATE_DIR/$module
    mkdir -p "$work/mutants"  # before Python starts: a PYTHONPATH folder missing then is never looked in
    # the working tree as it is (tracked and untracked, not ignored files); mutmut's own mutants/ stays
    (cd "$REPO" && git ls-files -z -co --exclude-standard | tar --null -T - -cf -) | tar -xf - -C "$work"
    if [ -n "$functions" ]; then
        # only these functions are mutated: in the copy, every other top-level def and class of the files goes
        # between mutmut's "# pragma: no mutate start/end" comment lines (the checkout is not touched)
        (cd "$work" && "$PY" - "$functions" $globs <<'EOF_PRAGMA'
import ast, sys
keep = set(sys.argv[1].split())
for path in sys.argv[2:]:
    lines = open(path, encoding='utf-8').read().split('\n')
    spans = [(min([n.lineno] + [d.lineno for d in getattr(n, 'decorator_list', [])]), n.end_lineno)
             for n in ast.parse('\n'.join(lines)).body
             if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.name not in keep]
    for start, end in reversed(spans):
        lines[end:end] = ['# pragma: no mutate end']
        lines[start - 1:start - 1] = ['# pragma: no mutate start']
    open(path, 'w', encoding='utf-8').write('\n'.join(lines))
EOF_PRAGMA
        )
    fi
    {
        echo '[mutmut]'
        echo 'source_paths ='
        echo '    fasrgan_basicsr'
        echo '    datasets_prep'
        echo 'only_mutate ='
        for g in $globs; do echo "    $g"; done
        echo 'also_copy ='  # tests read the shipped option files (REPO/options) from mutmut's copy
        echo '    options'
        echo 'pytest_add_cli_args_test_selection ='
        for t in $tests; do echo "    $t"; done
        echo 'pytest_add_cli_args ='
        for a in "${PYTEST_ARGS[@]}"; do echo "    $a"; done
        echo 'process_isolation = forkserver'  # torch is not fork-safe after it ran
        # mutmut's time limit is (estimate + 1 s) x multiplier, its estimate the sum of the tests' call times: the
        # fixtures that build models, most of a run here, are left out, and two workers share the cores. With its
        # default multiplier (15) whole surviving runs were cut off and counted as timeouts (killed)
        echo 'timeout_multiplier = 60'
        echo 'use_git_change_detection = false'
    } >"$work/setup.cfg"
    echo "== $module: mutating $globs; tests: $tests"
    (
        cd "$work"
        # subprocesses started by tests (the real entry points) import the mutated package too
        export PYTHONPATH=$work/mutants OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
        # mutmut keeps every verdict while a function is unchanged, even when its tests changed: test the
        # survivors again, with a fresh map of which tests cover which function (killed ones stay killed, and so
        # do survivors listed as equivalent: mutmut renews a mutant whose function changed)
        rm -f mutants/mutmut-stats.json
        "$PY" - "$EQUIVALENTS" <<'EOF_RESET'
import json, pathlib, re, sys
KILLED = {1, 3, 36, 37, 24, -24, 152, 255}  # killed, timeout, caught by type check (mutmut's exit codes)
listed = set(re.findall(r'`([\w.ǁ]+__mutmut_\d+)`', open(sys.argv[1], encoding='utf-8').read()))
for meta in pathlib.Path('mutants').rglob('*.meta'):
    data = json.loads(meta.read_text())
    codes = data['exit_code_by_key']
    data['exit_code_by_key'] = {k: (v if v in KILLED or (v == 0 and k in listed) else None) for k, v in codes.items()}
    meta.write_text(json.dumps(data))
EOF_RESET
        "$MUTMUT" run >run.log 2>&1 || { tail -40 run.log; exit 2; }
        # a worker that mutmut saw die by SIGKILL/SIGSEGV ("segfault": LMDB's tests hit it under mutmut's fork server
        # though their plain runs are fine) or hit its time limit is tested again in a plain pytest process: a
        # failure kills the mutant, a pass makes it a survivor, a run over 15 minutes is recorded as 36, a timeout
        # (killed) that mutmut itself never writes, so a confirmed hang is not run for 15 minutes again next time
        "$PY" - "${PYTEST_ARGS[@]}" $tests <<'EOF_RECHECK'
import json, os, pathlib, subprocess, sys
from concurrent.futures import ThreadPoolExecutor
CRASHED, TIMEOUT, HANG = {-9, -11}, {24, -24, 152, 255}, 36  # mutmut's own signal and time-limit codes; ours


def verdict(name):
    try:
        proc = subprocess.run([sys.executable, '-m', 'pytest', '-x', '-q', *sys.argv[1:]], cwd='mutants',
                              capture_output=True, env=dict(os.environ, MUTANT_UNDER_TEST=name), timeout=900)
        return 0 if proc.returncode == 0 else 1
    except subprocess.TimeoutExpired:
        return HANG


for meta in pathlib.Path('mutants').rglob('*.meta'):
    data = json.loads(meta.read_text())
    codes = data['exit_code_by_key']
    again = [name for name, code in codes.items() if code in CRASHED | TIMEOUT]
    with ThreadPoolExecutor(os.cpu_count()) as pool:
        for name, code in zip(again, pool.map(verdict, again)):
            codes[name] = code
    if again:
        meta.write_text(json.dumps(data))
        print(f'{meta}: {len(again)} mutant(s) that crashed or timed out under mutmut tested again in a plain process')
EOF_RECHECK
        "$MUTMUT" export-cicd-stats >/dev/null
        "$MUTMUT" results --all true >results.txt
    ) || { echo "$module: could not run (see $work/run.log)" >&2; broken=1; continue; }
    "$PY" - "$work" "$module" "$EQUIVALENTS" <<'EOF' || survivors=1
import json, re, sys
work, module, equivalents_file = sys.argv[1:]
stats = json.load(open(f'{work}/mutants/mutmut-cicd-stats.json'))
listed = set(re.findall(r'`([\w.ǁ]+__mutmut_\d+)`', open(equivalents_file, encoding='utf-8').read()))
alive = []
for row in open(f'{work}/results.txt', encoding='utf-8'):
    name, _, verdict = row.strip().rpartition(': ')
    if name and verdict not in ('killed', 'timeout', 'caught by type check'):
        alive.append((name, verdict))
equivalent = [n for n, _ in alive if n in listed]
unexplained = [(n, v) for n, v in alive if n not in listed]
tried = stats['total'] - stats['skipped']
killed = stats['killed'] + stats['timeout']
score = 100 * killed / tried if tried else 100.0
adjusted = 100 * killed / (tried - len(equivalent)) if tried > len(equivalent) else 100.0
print(f'{module}: {tried} mutants, {killed} killed ({score:.1f} %); {len(equivalent)} listed as equivalent; '
      f'score without them {adjusted:.1f} %; {len(unexplained)} unexplained survivors')
for name, verdict in unexplained:
    print(f'  {verdict}: {name}')
sys.exit(1 if unexplained else 0)
EOF
done
[ $broken -eq 0 ] || exit 2
exit $survivors
