#!/usr/bin/env python3
"""Rollouts under load: a new version every few seconds while h2load sends REST predicts (HTTP/1.1, so
a failed answer shows in its status code), then the
figures a rollout is judged by. Driven by scripts/bench_rollout.sh (which builds the release binary).

Usage: bench_rollout.py SERVER MODEL_DIR SPEC_JSON [--seconds 60] [--every 3] [--tf-python PY]
MODEL_DIR is a bench model's base path (MODEL_DIR/1 is the SavedModel). Prints:
- failed requests over the run (h2load failures and non-2xx answers);
- p99 latency in the 1-second windows that saw a swap against the steady ones;
- per swap, the time from the final file landing (the rename of a complete copy into the base path) to
  AVAILABLE in the status, polled every 2 ms;
- the peak RSS of the swaps (VmHWM from each rename until the old version no longer serves, reset at the
  rename through /proc/PID/clear_refs) above the steady RSS under the same load before the first swap, and
  each swap's peak above the RSS just before its rename (median and largest), as multiples of the model's
  bytes, with --memory_budget_overflow=unload_first forced and without it; and the RSS once the swaps are
  over (unloaded versions' memory goes back to the system, so it does not grow with the number of swaps);
- cold load: the time from start to AVAILABLE (and the load time the server logs), and, with --tf-python,
  tf.saved_model.load of the same directory.
"""
import argparse
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def model_bytes(path):
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def status_bytes(pid, field):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def rss_bytes(pid):
    return status_bytes(pid, "VmRSS")


def reset_peak(pid):
    """Resets VmHWM to the current RSS; False where the kernel does not allow it."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as clear:
            clear.write("5")
        return True
    except OSError:
        return False


class Server:
    def __init__(self, binary, base, name, *flags):
        self.log = []
        self.process = subprocess.Popen(
            [binary, "--host=127.0.0.1", "--port=0", f"--model_name={name}", f"--model_base_path={base}",
             "--version_settle_millis=0", *flags],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.started = time.monotonic()
        self.port = None
        for line in self.process.stdout:
            self.log.append(line)
            match = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
            if match:
                self.port = int(match.group(1))
                break
        if self.port is None:
            raise SystemExit("server did not start:\n" + "".join(self.log))
        threading.Thread(target=self._drain, daemon=True).start()
        self.name = name

    def _drain(self):
        for line in self.process.stdout:
            self.log.append(line)

    def states(self):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        connection.request("GET", f"/v1/models/{self.name}")
        answer = json.loads(connection.getresponse().read())
        return {int(v["version"]): v["state"] for v in answer.get("model_version_status", [])}

    def wait_available(self, version, limit=60):
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            try:
                if self.states().get(version) == "AVAILABLE":
                    return time.monotonic()
            except (OSError, ValueError, http.client.HTTPException):
                pass
            time.sleep(0.002)
        raise SystemExit(f"version {version} did not become AVAILABLE:\n" + "".join(self.log[-20:]))

    def wait_unloaded(self, version, limit=60):
        """Waits until `version` no longer serves (its memory is handed back when its last request ends)."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            try:
                if self.states().get(version) != "AVAILABLE":
                    return
            except (OSError, ValueError, http.client.HTTPException):
                pass
            time.sleep(0.002)
        raise SystemExit(f"version {version} was not unloaded:\n" + "".join(self.log[-20:]))

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)


def window_p99(port, body, seconds):
    """p99 of one window, measured with a latency log (h2load --log-file)."""
    with tempfile.NamedTemporaryFile(suffix=".log") as log:
        out = subprocess.run(
            ["h2load", "--h1", "-c", "8", "-m", "1", "-D", str(seconds), "-d", body, f"--log-file={log.name}",
             "-H", "content-type: application/json", f"http://127.0.0.1:{port}/v1/models/m:predict"],
            capture_output=True, text=True).stdout
        durations = []
        with open(log.name) as lines:
            for line in lines:
                fields = line.split()
                if len(fields) >= 3:
                    durations.append(int(fields[2]))
    done = re.search(r"(\d+) succeeded, (\d+) failed, (\d+) errored", out)
    status = re.search(r"(\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out)
    failed = (int(done.group(2)) + int(done.group(3)) if done else 1) + (
        int(status.group(3)) + int(status.group(4)) if status else 0)
    durations.sort()
    p99 = durations[int(len(durations) * 0.99)] if durations else None
    return len(durations), failed, p99


def swaps_under_load(binary, model_dir, body, seconds, every, *flags):
    """Versions 2, 3, ... renamed into place every `every` seconds under h2load windows of 1 s."""
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder) / "m"
        shutil.copytree(Path(model_dir) / "1", base / "1")
        server = Server(binary, base, "m", "--file_system_poll_wait_seconds=1", *flags)
        try:
            server.wait_available(1)
            time.sleep(1)
            steady_rss = rss_bytes(server.process.pid)
            windows, landings, rises, peaks = [], [], [], []
            samples = []
            stop = threading.Event()

            def sample():
                while not stop.is_set():
                    samples.append(rss_bytes(server.process.pid))
                    time.sleep(0.01)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()

            def load():
                started = time.monotonic()
                while time.monotonic() - started < seconds:
                    begin = time.monotonic()
                    requests, failed, p99 = window_p99(server.port, body, 1)
                    windows.append((begin, time.monotonic(), requests, failed, p99))

            loader = threading.Thread(target=load)
            loader.start()
            version = 1
            swap_times = []
            started = time.monotonic()
            pid = server.process.pid
            loaded_rss = None
            while time.monotonic() - started < seconds - every:
                time.sleep(every)
                if loaded_rss is None:
                    loaded_rss = max(samples + [rss_bytes(pid)])
                version += 1
                staging = Path(folder) / f"staging-{version}"
                shutil.copytree(Path(model_dir) / "1", staging)
                shutil.rmtree(base / str(version - 2), ignore_errors=True)
                samples.clear()
                before = rss_bytes(pid)
                exact = reset_peak(pid)
                landed = time.monotonic()
                staging.rename(base / str(version))
                available = server.wait_available(version)
                landings.append(available - landed)
                server.wait_unloaded(version - 1)
                time.sleep(0.2)
                peak = status_bytes(pid, "VmHWM") if exact else max(samples + [before])
                rises.append(peak - before)
                peaks.append(peak)
                swap_times.append((landed, time.monotonic()))
            loader.join()
            stop.set()
            sampler.join()
            time.sleep(2)
            final_rss = rss_bytes(server.process.pid)
            load_times = [float(m.group(1)) for line in server.log
                          for m in [re.search(r"Successfully loaded servable version \{name: m version: \d+\} in (\d+) ms", line)] if m]
        finally:
            server.stop()
    during, steady = [], []
    for begin, end, _, _, p99 in windows:
        if p99 is None:
            continue
        overlaps = any(begin < t1 and t0 < end for t0, t1 in swap_times)
        (during if overlaps else steady).append(p99)
    return {
        "requests": sum(w[2] for w in windows),
        "failed": sum(w[3] for w in windows),
        "p99_steady_us": statistics.median(steady) if steady else None,
        "p99_swap_us": statistics.median(during) if during else None,
        "landing_ms": [round(x * 1000, 1) for x in landings],
        "load_ms": load_times[1:],
        "steady_rss": steady_rss,
        "loaded_rss": loaded_rss,
        "peak_rss": max(peaks),
        "rises": rises,
        "final_rss": final_rss,
        "swaps": len(landings),
    }


def cold_load(binary, model_dir, runs=5):
    figures = []
    for _ in range(runs):
        server = Server(binary, model_dir, "m", "--file_system_poll_wait_seconds=0")
        try:
            available = server.wait_available(1)
            logged = [int(m.group(1)) for line in server.log
                      for m in [re.search(r"Successfully loaded servable version .* in (\d+) ms", line)] if m]
            figures.append((available - server.started, logged[0] if logged else None))
        finally:
            server.stop()
    return figures


def tf_load(python, directory, runs=5):
    code = (
        "import time, sys, statistics\n"
        "import tensorflow as tf\n"
        "times = []\n"
        f"for _ in range({runs}):\n"
        "    t = time.perf_counter(); tf.saved_model.load(sys.argv[1]); times.append(time.perf_counter() - t)\n"
        "print(statistics.median(times) * 1000)\n")
    out = subprocess.run([python, "-c", code, directory], capture_output=True, text=True,
                         env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    try:
        return float(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("server")
    parser.add_argument("model_dir")
    parser.add_argument("spec")
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--every", type=float, default=3)
    parser.add_argument("--cold-model", help="base path whose version 1 is cold-loaded (default MODEL_DIR)")
    parser.add_argument("--tf-python", help="a Python with tensorflow, to time tf.saved_model.load")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as bodies:
        subprocess.run([sys.executable, str(HERE / "bench_serving_bodies.py"), args.spec, "m", bodies], check=True)
        body = os.path.join(bodies, "rest_row.json")
        size = model_bytes(Path(args.model_dir) / "1")
        print(f"model {args.model_dir}: {size} bytes of files; a new version every {args.every} s for {args.seconds} s, "
              "h2load --h1 -c 8 REST predict in 1-second windows")
        for label, flags in (("beside (default)", ()),
                             ("unload_first forced", (f"--memory_budget_bytes={int(size * 1.5)}",
                                                      "--memory_budget_overflow=unload_first"))):
            result = swaps_under_load(args.server, args.model_dir, body, args.seconds, args.every, *flags)
            rises = [rise / size for rise in result["rises"]]
            ratio = (result["p99_swap_us"] / result["p99_steady_us"]
                     if result["p99_swap_us"] and result["p99_steady_us"] else float("nan"))
            landing = result["landing_ms"]
            print(f"{label}: {result['requests']} requests, {result['failed']} failed; "
                  f"p99 steady {result['p99_steady_us']} µs, during swaps {result['p99_swap_us']} µs ({ratio:.2f}x); "
                  f"landing → AVAILABLE median {statistics.median(landing) if landing else None} ms "
                  f"(max {max(landing) if landing else None}; server load time median "
                  f"{statistics.median(result['load_ms']) if result['load_ms'] else None} ms); "
                  f"peak RSS during swaps {result['peak_rss'] >> 20} MiB, "
                  f"+{(result['peak_rss'] - result['loaded_rss']) / size:.2f}x the model's bytes above the steady "
                  f"{result['loaded_rss'] >> 20} MiB under load before the first swap ({result['steady_rss'] >> 20} MiB idle); "
                  f"each swap above the RSS just before it: median +{statistics.median(rises):.2f}x, largest "
                  f"+{max(rises):.2f}x; {result['final_rss'] >> 20} MiB 2 s after the last of {result['swaps']} swaps")
    cold_dir = args.cold_model or args.model_dir
    figures = cold_load(args.server, cold_dir)
    starts = sorted(f[0] * 1000 for f in figures)
    loads = sorted(f[1] for f in figures if f[1] is not None)
    line = (f"cold load of {cold_dir}/1: start → AVAILABLE median {statistics.median(starts):.0f} ms, "
            f"load median {statistics.median(loads) if loads else None} ms (5 runs)")
    if args.tf_python:
        tf_ms = tf_load(args.tf_python, f"{cold_dir}/1")
        if tf_ms and loads:
            line += f"; tf.saved_model.load median {tf_ms:.0f} ms ({statistics.median(loads) / tf_ms:.2f}x)"
    print(line)


if __name__ == "__main__":
    main()
