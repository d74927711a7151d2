#!/bin/bash
# Same-run A/B of the whole build: two checkouts' `mosaique build --force` of the same products, alternated.
# Prints wall, CPU (user + system of the build's process tree, and each), peak RSS and load for each run.
#   bench/build_ab.sh BASE_CHECKOUT NEW_CHECKOUT INPUTS_DIR [RUNS]   (each checkout needs its .venv)
set -euo pipefail
BASE=$1 NEW=$2 IN=$3 RUNS=${4:-2}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
for rep in $(seq "$RUNS"); do
  for d in "$BASE" "$NEW"; do
    rm -rf "$OUT/data"
    (cd "$d" && python3 - "$d" "$IN" "$OUT/data" <<'PY'
import os, resource, subprocess, sys, time
checkout, inputs, data = sys.argv[1:4]
products = [os.path.join(inputs, p) for p in sorted(os.listdir(inputs))]
cmd = [f"{checkout}/.venv/bin/python", "-m", "app.cli", "build", "--month", "2018-07", "--data-dir", data,
       "--no-progress", "--force", "--input", *products]
t = time.perf_counter()
subprocess.run(cmd, env=dict(os.environ, PYTHONPATH=checkout), check=True,
               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"{checkout}: wall {time.perf_counter() - t:.1f} s, CPU {ru.ru_utime + ru.ru_stime:.1f} s "
      f"(user {ru.ru_utime:.1f}, system {ru.ru_stime:.1f}), "
      f"peak RSS {ru.ru_maxrss / 1e6:.2f} GB, load {os.getloadavg()[0]:.1f}", flush=True)
PY
    )
  done
done
