#!/usr/bin/env python3
"""Draws the benchmark figures as PNGs from the text the benchmark scripts print.

Usage: plot_bench.py serving OUTPUT_OF_bench_serving.sh OUT.png
       plot_bench.py runtime OUTPUT_OF_bench_runtime.sh OUT.png
serving: latency (mean, with a bar up to p99) against throughput for each model and protocol, one line per
         batching mode through the one-stream loads (c1, c16, c64), multiplexed loads (c4-m16) as stars.
runtime: µs per call of model-server, onnxruntime and TensorFlow for each model and batch size (log scale).
Needs matplotlib (scripts/plot_bench.sh makes a venv with it).
"""
import re
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

SERVING_ROW = re.compile(
    r"^(?P<mode>\S+)\s+(?P<protocol>\S+)\s+(?P<load>c\d+-m\d+)\s+\|\s+(?P<rps>[\d.]+)\s+(?P<mean>\d+)\s+(?P<p50>\d+)\s+(?P<p99>\d+)")
RUNTIME_ROW = re.compile(r"^\|\s*(?P<model>[a-z_]+)\s*\|\s*(?P<batch>\d+)\s*\|\s*(?P<ours>[\d.]+)\s*\|\s*(?P<ort>[\d.]+)\s*\|\s*(?P<tf>[\d.]+)\s*\|")


def serving(text, out):
    series = defaultdict(list)
    model = None
    for line in text.splitlines():
        header = re.match(r"^== (\S+):", line)
        if header:
            model = header.group(1)
            continue
        row = SERVING_ROW.match(line)
        if row and model:
            series[(model, row["protocol"], row["mode"])].append(
                (row["load"], float(row["rps"]), int(row["mean"]), int(row["p99"])))
    panels = sorted({(model, protocol) for model, protocol, _ in series})
    if not panels:
        raise SystemExit("no serving rows found")
    columns = min(3, len(panels))
    rows = (len(panels) + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(5.2 * columns, 4 * rows), squeeze=False)
    for index, (model, protocol) in enumerate(panels):
        axis = axes[index // columns][index % columns]
        for (m, p, mode), points in sorted(series.items()):
            if (m, p) != (model, protocol):
                continue
            # One stream per connection, by connection count, as a line; multiplexed loads as separate marks.
            single = sorted((p for p in points if p[0].endswith("-m1")), key=lambda p: int(p[0][1:].split("-")[0]))
            multiplexed = [p for p in points if not p[0].endswith("-m1")]
            line, = axis.plot([p[1] for p in single], [p[2] / 1000 for p in single], marker="o",
                              label=f"batching {mode}: mean, p99 above")
            color = line.get_color()
            if multiplexed:
                axis.plot([p[1] for p in multiplexed], [p[2] / 1000 for p in multiplexed], marker="*", markersize=11,
                          linestyle="none", color=color)
            for load, x, mean, p99 in single + multiplexed:
                axis.vlines(x, mean / 1000, p99 / 1000, colors=color, alpha=0.35)
                axis.annotate(load, (x, mean / 1000), textcoords="offset points", xytext=(4, 4), fontsize=7)
        axis.set_title(f"{model} — {protocol}")
        axis.set_xlabel("requests/s")
        axis.set_ylabel("latency, ms")
        axis.set_yscale("log")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7)
    for index in range(len(panels), rows * columns):
        axes[index // columns][index % columns].axis("off")
    figure.suptitle("model-server end to end: latency against throughput (scripts/bench_serving.sh)")
    figure.tight_layout()
    figure.savefig(out, dpi=110)


def runtime(text, out):
    rows = [match for match in map(RUNTIME_ROW.match, text.splitlines()) if match]
    if not rows:
        raise SystemExit("no runtime rows found")
    labels = [f"{row['model']}\nb{row['batch']}" for row in rows]
    figure, axis = plt.subplots(figsize=(max(8, 0.75 * len(rows)), 4.5))
    width = 0.27
    for offset, (key, name) in enumerate((("ours", "model-server"), ("ort", "onnxruntime"), ("tf", "TensorFlow"))):
        positions = [i + (offset - 1) * width for i in range(len(rows))]
        axis.bar(positions, [float(row[key]) for row in rows], width, label=name)
    axis.set_xticks(range(len(rows)), labels, fontsize=8)
    axis.set_yscale("log")
    axis.set_ylabel("µs per call (median, lower is better)")
    axis.grid(axis="y", alpha=0.3)
    axis.legend()
    axis.set_title("Runtime alone on the bench SavedModels (scripts/bench_runtime.sh)")
    figure.tight_layout()
    figure.savefig(out, dpi=110)


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("serving", "runtime"):
        raise SystemExit(__doc__)
    with open(sys.argv[2]) as source:
        text = source.read()
    (serving if sys.argv[1] == "serving" else runtime)(text, sys.argv[3])
    print(f"wrote {sys.argv[3]}")


if __name__ == "__main__":
    main()
