#!/usr/bin/env python3
"""Soak: hours of mixed load with versions moving underneath. Driven by scripts/soak.sh.

Usage: soak.py SERVER_BINARY MINUTES [--window-minutes 5] [--rollout-seconds 30] [--reload-seconds 120]

Two servers share one model base path (the example digits model): one plaintext (REST over HTTP/1.1,
gRPC over h2c), one TLS (REST over HTTPS, gRPC over h2 with TLS), both with batching on. Throughout:
- good requests from several threads per protocol, each checked against the expected predictions;
- a new version renamed into the base path every --rollout-seconds (the oldest removed, two kept);
- the model config re-read by SIGHUP every --reload-seconds (a label moved to the newest version);
- hostile requests interleaved (malformed JSON, wrong shapes and dtypes, huge declared shapes, bodies over
  the limit, garbage on raw sockets, half-sent requests), which must be refused without harming the rest.
Prints, per window: good requests, failed good requests, p99 latency per protocol, RSS and open file
descriptors of each server; then the drift of RSS and fds after the first window, and the time from a
kill -9 under load to a restarted server being ready again. Exits non-zero on any failed good request.
"""
import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import grpc
import numpy as np

REPO = Path(__file__).resolve().parents[1]
DIGITS = REPO / "examples/models/digits/1"
BODY = (REPO / "examples/requests/digits.json").read_bytes()
EXPECTED = json.loads((REPO / "examples/requests/digits.expected.json").read_text())["predictions"]


def compile_stubs(out):
    from grpc_tools import protoc
    import grpc_tools
    bundled = Path(grpc_tools.__file__).parent / "_proto"
    sources = sorted(str(p.relative_to(REPO / "protos")) for folder in ("tensorflow", "tensorflow_serving")
                     for p in (REPO / "protos" / folder).rglob("*.proto"))
    os.makedirs(out, exist_ok=True)
    if protoc.main(["protoc", f"-I{REPO / 'protos'}", f"-I{bundled}", f"--python_out={out}",
                    f"--grpc_python_out={out}", *sources]) != 0:
        raise SystemExit("protoc failed on protos/")
    sys.path.insert(0, out)
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc
    from tensorflow.core.framework import types_pb2
    return predict_pb2, prediction_service_pb2_grpc, types_pb2


def close_enough(predictions):
    return len(predictions) == len(EXPECTED) and all(
        abs(a - b) <= 1e-4 * max(1.0, abs(b)) for row, want in zip(predictions, EXPECTED) for a, b in zip(row, want))


class Server:
    def __init__(self, binary, config, log_path, *flags):
        self.binary, self.config, self.flags, self.log_path = binary, config, flags, log_path
        self.start()

    def start(self):
        self.log = open(self.log_path, "a")
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [self.binary, "--host=127.0.0.1", "--port=0", f"--model_config_file={self.config}", *self.flags],
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.process.stdout.readline()
        self.port = int(line.split("127.0.0.1:")[1].split()[0])
        threading.Thread(target=lambda: [self.log.write(l) for l in self.process.stdout], daemon=True).start()

    def rss_kib(self):
        with open(f"/proc/{self.process.pid}/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))

    def fds(self):
        return len(os.listdir(f"/proc/{self.process.pid}/fd"))


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.latencies = {}
        self.good = 0
        self.failed = []
        self.hostile = 0

    def record(self, protocol, seconds):
        with self.lock:
            self.good += 1
            self.latencies.setdefault(protocol, []).append(seconds)

    def fail(self, protocol, what):
        with self.lock:
            self.failed.append(f"{time.strftime('%H:%M:%S')} {protocol}: {what}")

    def take(self):
        with self.lock:
            taken = (self.good, list(self.failed), self.latencies, self.hostile)
            self.good, self.failed, self.latencies, self.hostile = 0, [], {}, 0
            return taken


def rest_worker(server, stats, stop, tls_context, name):
    def connect():
        if tls_context:
            return http.client.HTTPSConnection("127.0.0.1", server.port, timeout=30, context=tls_context)
        return http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection = connect()
    while not stop.is_set():
        started = time.monotonic()
        try:
            connection.request("POST", "/v1/models/digits:predict", body=BODY, headers={"content-type": "application/json"})
            answer = connection.getresponse()
            body = answer.read()
            if answer.status != 200:
                stats.fail(name, f"{answer.status} {body[:200]!r}")
            elif not close_enough(json.loads(body)["predictions"]):
                stats.fail(name, "wrong predictions")
            else:
                stats.record(name, time.monotonic() - started)
        except (OSError, http.client.HTTPException) as error:
            if stop.is_set():
                return
            stats.fail(name, repr(error))
            connection = connect()


def grpc_worker(server, stats, stop, stubs, credentials, name):
    predict_pb2, service, types_pb2 = stubs
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "digits"
    pixels = json.loads(BODY)["instances"]
    tensor = request.inputs["pixels"]
    tensor.dtype = types_pb2.DT_FLOAT
    tensor.tensor_shape.dim.add(size=len(pixels))
    tensor.tensor_shape.dim.add(size=len(pixels[0]))
    tensor.float_val.extend(v for row in pixels for v in row)
    target = f"127.0.0.1:{server.port}"
    options = [("grpc.ssl_target_name_override", "localhost")]
    channel = grpc.secure_channel(target, credentials, options) if credentials else grpc.insecure_channel(target)
    stub = service.PredictionServiceStub(channel)
    while not stop.is_set():
        started = time.monotonic()
        try:
            answer = stub.Predict(request, timeout=30)
            values = list(answer.outputs["output_0"].float_val)
            if not values:
                values = np.frombuffer(answer.outputs["output_0"].tensor_content, dtype="<f4").tolist()
            columns = len(EXPECTED[0])
            if not close_enough([values[i:i + columns] for i in range(0, len(values), columns)]):
                stats.fail(name, "wrong predictions")
            else:
                stats.record(name, time.monotonic() - started)
        except grpc.RpcError as error:
            if stop.is_set():
                return
            stats.fail(name, f"{error.code()} {error.details()}")
    channel.close()


HOSTILE_BODIES = [
    b"{", b'{"instances": [[1, 2', b'{"instances": "no"}', b'{"instances": [[1, 2, 3]]}',
    b'{"inputs": {"pixels": [[true, false]]}}', b'{"instances": [' + b"[" * 5000 + b"]" * 5000 + b"]}",
    b'{"signature_name": "nope", "instances": [[0]]}', b"\xff\xfe\x00garbage",
]


def hostile_worker(server, stats, stop, tls_context):
    """Bad requests of several kinds; the server may refuse, reset or close, but must stay up (a refused
    connection is a failure) and never accept a bad body."""
    def raw_connection():
        raw = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        return tls_context.wrap_socket(raw, server_hostname="localhost") if tls_context else raw

    index = 0
    while not stop.is_set():
        index += 1
        kind = index % 5
        try:
            if kind < 2:
                if tls_context:
                    connection = http.client.HTTPSConnection("127.0.0.1", server.port, timeout=10, context=tls_context)
                else:
                    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
                connection.request("POST", "/v1/models/digits:predict", body=HOSTILE_BODIES[index % len(HOSTILE_BODIES)])
                answer = connection.getresponse()
                answer.read()
                if answer.status < 400:
                    stats.fail("hostile", f"accepted a bad body with {answer.status}")
                connection.close()
            else:
                with raw_connection() as raw:
                    if kind == 2:
                        raw.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + os.urandom(512))
                    elif kind == 3:
                        raw.sendall(b"POST /v1/models/digits:predict HTTP/1.1\r\nHost: x\r\n"
                                    b"Content-Length: 99999999999\r\n\r\n{")
                    else:
                        raw.sendall(b"POST /v1/models/digits:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"inst")
                        continue
                    raw.settimeout(2)
                    try:
                        raw.recv(4096)
                    except OSError:
                        pass
            with stats.lock:
                stats.hostile += 1
        except ConnectionRefusedError as error:
            if not stop.is_set():
                stats.fail("hostile", f"the server refused a connection: {error!r}")
        except (OSError, http.client.HTTPException):
            with stats.lock:
                stats.hostile += 1
        time.sleep(0.05)


def write_config(path, base, label_version):
    path.write_text(
        "model_config_list {\n"
        f'  config {{ name: "digits" base_path: "{base}" model_platform: "tensorflow"\n'
        "    model_version_policy { latest { num_versions: 2 } }\n"
        f'    version_labels {{ key: "stable" value: {label_version} }} }}\n'
        "}\n")


def p99(values):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def make_certificate(folder):
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], check=True, capture_output=True)
    config = folder / "ssl.config"
    config.write_text("server_key: " + json.dumps(key.read_text()) + "\nserver_cert: " + json.dumps(cert.read_text()) + "\n")
    return config, cert


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("minutes", type=float)
    parser.add_argument("--window-minutes", type=float, default=5)
    parser.add_argument("--rollout-seconds", type=float, default=30)
    parser.add_argument("--reload-seconds", type=float, default=120)
    parser.add_argument("--threads", type=int, default=2, help="good-request threads per protocol and server")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="soak-"))
    stubs = compile_stubs(str(folder / "stubs"))
    base = folder / "models" / "digits"
    shutil.copytree(DIGITS, base / "1")
    config = folder / "models.config"
    write_config(config, base, 1)
    batching = folder / "batching.config"
    batching.write_text("max_batch_size { value: 32 }\nbatch_timeout_micros { value: 0 }\nmax_enqueued_batches { value: 1000 }\n")
    ssl_config, cert = make_certificate(folder)
    common = (f"--batching_parameters_file={batching}", "--version_settle_millis=200", "--file_system_poll_wait_seconds=1")
    plain = Server(args.binary, config, folder / "plain.log", *common)
    secure = Server(args.binary, config, folder / "tls.log", *common, f"--ssl_config_file={ssl_config}")
    for server, scheme, context in ((plain, "http", None), (secure, "https", ssl.create_default_context(cafile=str(cert)))):
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"{scheme}://127.0.0.1:{server.port}/v2/health/ready", timeout=2, context=context) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
    tls_context = ssl.create_default_context(cafile=str(cert))
    tls_context.check_hostname = False
    credentials = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())

    stats = Stats()
    stop = threading.Event()
    workers = []
    for _ in range(args.threads):
        workers += [threading.Thread(target=rest_worker, args=(plain, stats, stop, None, "REST HTTP/1.1")),
                    threading.Thread(target=grpc_worker, args=(plain, stats, stop, stubs, None, "gRPC h2c")),
                    threading.Thread(target=rest_worker, args=(secure, stats, stop, tls_context, "REST HTTPS")),
                    threading.Thread(target=grpc_worker, args=(secure, stats, stop, stubs, credentials, "gRPC h2+TLS"))]
    workers += [threading.Thread(target=hostile_worker, args=(plain, stats, stop, None)),
                threading.Thread(target=hostile_worker, args=(secure, stats, stop, tls_context))]
    for worker in workers:
        worker.daemon = True
        worker.start()

    started = time.monotonic()
    next_rollout = started + args.rollout_seconds
    next_reload = started + args.reload_seconds
    next_window = started + args.window_minutes * 60
    version, windows, total_failed, all_failures = 1, [], 0, []
    print(f"soak: {args.minutes} min, windows of {args.window_minutes} min, rollout every {args.rollout_seconds} s, "
          f"reload every {args.reload_seconds} s; plaintext port {plain.port}, TLS port {secure.port}", flush=True)
    while time.monotonic() - started < args.minutes * 60:
        time.sleep(0.5)
        now = time.monotonic()
        if now >= next_rollout:
            version += 1
            staging = folder / "models" / f"staging-{version}"
            shutil.copytree(DIGITS, staging)
            staging.rename(base / str(version))
            if version > 3:
                shutil.rmtree(base / str(version - 3), ignore_errors=True)
            next_rollout += args.rollout_seconds
        if now >= next_reload:
            write_config(config, base, max(1, version - 1))
            for server in (plain, secure):
                server.process.send_signal(signal.SIGHUP)
            next_reload += args.reload_seconds
        if now >= next_window:
            good, failed, latencies, hostile = stats.take()
            total_failed += len(failed)
            all_failures += failed
            figures = {name: p99(values) for name, values in sorted(latencies.items())}
            window = {"minute": round((now - started) / 60, 1), "good": good, "failed": len(failed), "hostile": hostile,
                      "rss_kib": (plain.rss_kib(), secure.rss_kib()), "fds": (plain.fds(), secure.fds())}
            windows.append(window)
            print(f"[{window['minute']:6.1f} min] good {good}, failed {len(failed)}, hostile {hostile}; p99 "
                  + ", ".join(f"{name} {value * 1000:.1f} ms" for name, value in figures.items() if value)
                  + f"; RSS {window['rss_kib'][0] >> 10} / {window['rss_kib'][1] >> 10} MiB; fds {window['fds'][0]} / {window['fds'][1]}"
                  + f"; versions rolled out {version - 1}", flush=True)
            next_window += args.window_minutes * 60
    stop.set()
    good, failed, _, _ = stats.take()
    total_failed += len(failed)
    all_failures += failed
    for worker in workers:
        worker.join(timeout=40)

    if len(windows) >= 2:
        for index, name in ((0, "plaintext"), (1, "TLS")):
            rss = [w["rss_kib"][index] for w in windows[1:]]
            fds = [w["fds"][index] for w in windows[1:]]
            print(f"{name} server after warm-up: RSS {min(rss) >> 10}–{max(rss) >> 10} MiB "
                  f"(drift {(max(rss) - min(rss)) / min(rss) * 100:.1f}%), fds {min(fds)}–{max(fds)}")

    # kill -9 under load, then a restart: time until ready again.
    stop_load = threading.Event()
    loaders = [threading.Thread(target=rest_worker, args=(plain, Stats(), stop_load, None, "kill"), daemon=True) for _ in range(4)]
    for loader in loaders:
        loader.start()
    time.sleep(1)
    plain.process.kill()
    plain.process.wait()
    stop_load.set()
    restarted = time.monotonic()
    plain.start()
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{plain.port}/v2/health/ready", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.005)
    print(f"kill -9 under load → restart → ready: {(time.monotonic() - restarted) * 1000:.0f} ms")
    for server in (plain, secure):
        server.process.terminate()
        server.process.wait(timeout=60)
    print(f"failed good requests: {total_failed}")
    for failure in all_failures[:20]:
        print("  " + failure)
    shutil.rmtree(folder, ignore_errors=True)
    sys.exit(1 if total_failed else 0)


if __name__ == "__main__":
    main()
