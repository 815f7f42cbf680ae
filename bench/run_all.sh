#!/usr/bin/env bash
# Run every bench/*.py script; each prints one JSON line per measurement, appended to
# bench/results/latest.jsonl (the previous run is kept as bench/results/previous.jsonl).
# The first line records the run: date, git commit, CPU count and load.
# BENCH_ONLY="scaling" bash bench/run_all.sh runs a subset.
set -uo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3
mkdir -p bench/results
OUT=bench/results/latest.jsonl
[ -s "$OUT" ] && mv "$OUT" bench/results/previous.jsonl
"$PY" - >>"$OUT" <<'PYEOF'
import json, os, platform, subprocess, time
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
print(json.dumps({
    "bench": "run_all", "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    "git": commit.stdout.strip() or None, "cpu_count": os.cpu_count(),
    "load_avg_1m": round(os.getloadavg()[0], 2), "python": platform.python_version(),
}))
PYEOF
status=0
for script in bench/*.py; do
    name="$(basename "$script" .py)"
    case "$name" in _*) continue ;; esac
    # BENCH_ONLY="scaling restarts" runs only those scripts
    if [ -n "${BENCH_ONLY:-}" ] && [[ " $BENCH_ONLY " != *" $name "* ]]; then continue; fi
    echo "== $script" >&2
    start=$(date +%s)
    if ! "$PY" "$script" >>"$OUT"; then
        echo "FAILED: $script" >&2
        status=1
    fi
    echo "   $(( $(date +%s) - start )) s" >&2
done
echo "results: $OUT" >&2
exit $status
