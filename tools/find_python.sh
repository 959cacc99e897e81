#!/usr/bin/env bash
# Print the absolute path of a working Python interpreter for $1 (python3, python3.13 or a path), or
# nothing and exit 1. `python3.X` that does not run is looked up in pyenv's installs (pyenv's shim
# refuses a version that is installed but not selected); the newest 3.X.N there wins.
#     tools/find_python.sh python3.13   →   /root/.pyenv/versions/3.13.0/bin/python3.13
set -uo pipefail
name=${1:-python3}
probe='import sys; print(sys.executable)'
if exe=$("$name" -c "$probe" 2>/dev/null) && [[ -n $exe ]]; then
    echo "$exe"
    exit 0
fi
if [[ $name =~ ^python([0-9]+\.[0-9]+)$ ]] && root=$(pyenv root 2>/dev/null); then
    version=${BASH_REMATCH[1]}
    for dir in $(ls -d "$root/versions/$version".* 2>/dev/null | grep -E "/$version\.[0-9]+$" | sort -V -r); do
        if exe=$("$dir/bin/$name" -c "$probe" 2>/dev/null) && [[ -n $exe ]]; then
            echo "$exe"
            exit 0
        fi
    done
fi
exit 1
