#!/usr/bin/env bash
# Draws a benchmark figure (a venv with matplotlib is made in .venv-plot, or PLOT_VENV, the first time):
#   bash scripts/plot_bench.sh serving|runtime BENCH_OUTPUT.txt OUT.png
#   bash scripts/plot_bench.sh --after serving|runtime OUT.png COMMAND...   runs COMMAND, shows and keeps
#       its output, draws OUT.png from it, and exits with COMMAND's status (the bench scripts' PLOT=).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${PLOT_VENV:-.venv-plot}"
draw() {
    if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import matplotlib" 2>/dev/null; then
        python3 -m venv "$venv"
        "$venv/bin/pip" install -q matplotlib
    fi
    "$venv/bin/python" scripts/plot_bench.py "$@"
}
if [ "${1:-}" = "--after" ]; then
    kind=$2 out=$3
    shift 3
    printed=$(mktemp)
    status=0
    "$@" | tee "$printed" || status=$?
    draw "$kind" "$printed" "$out"
    rm -f "$printed"
    exit "$status"
fi
draw "$@"
