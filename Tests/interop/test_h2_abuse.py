"""HTTP/2 protocol abuse against the running server, with the `h2` package driving raw sockets.

Each test misbehaves on its own connection, then checks that the server answered the abuse the way
HTTP/2 prescribes and that a well-behaved request on a fresh connection still succeeds.
"""

import json
import os
import socket
import time
import urllib.request
from pathlib import Path

import h2.config
import h2.connection
import h2.events
import h2.exceptions

REPO = Path(__file__).resolve().parents[2]
ADDRESS = os.environ["MODEL_SERVER_ADDRESS"]
HOST, PORT = ADDRESS.rsplit(":", 1)
PORT = int(PORT)
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def server_still_serves():
    request = json.loads((REPO / "examples/requests/digits.json").read_text())
    body = json.dumps(request).encode()
    req = urllib.request.Request(f"http://{ADDRESS}/v1/models/digits:predict", data=body, method="POST")
    with urllib.request.urlopen(req, timeout=10) as response:
        assert response.status == 200
        assert len(json.loads(response.read())["predictions"]) == len(request["instances"])


def connect():
    sock = socket.create_connection((HOST, PORT), timeout=10)
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    return sock, conn


def read_events(sock, conn, until, timeout=10.0):
    """Reads frames until `until(events)` is true, the peer closes, or the timeout passes."""
    deadline = time.time() + timeout
    events = []
    sock.settimeout(0.5)
    while time.time() < deadline:
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            break
        if not data:
            break
        try:
            events.extend(conn.receive_data(data))
        except h2.exceptions.ProtocolError:
            break
        pending = conn.data_to_send()
        if pending:
            try:
                sock.sendall(pending)
            except OSError:
                break
        if until(events):
            break
    return events


def headers(path, method="GET", extra=()):
    return [(":method", method), (":path", path), (":scheme", "http"), (":authority", ADDRESS), *extra]


def test_garbage_instead_of_a_preface_is_refused_and_the_server_keeps_serving():
    with socket.create_connection((HOST, PORT), timeout=10) as sock:
        sock.sendall(b"\x00\x01\x02 this is not HTTP at all \xff\xfe" * 4)
        sock.settimeout(10)
        received = b""
        try:
            while chunk := sock.recv(4096):
                received += chunk
        except (socket.timeout, ConnectionResetError):
            pass
        assert b"200 OK" not in received
    server_still_serves()


def test_a_mangled_http2_preface_is_not_treated_as_http2():
    with socket.create_connection((HOST, PORT), timeout=10) as sock:
        sock.sendall(PREFACE[:16] + b"XX\r\n\r\n" + b"\x00" * 32)
        sock.settimeout(10)
        received = b""
        try:
            while chunk := sock.recv(4096):
                received += chunk
        except (socket.timeout, ConnectionResetError):
            pass
        assert not received.startswith(b"\x00\x00")
    server_still_serves()


def test_data_on_stream_zero_is_a_connection_error():
    sock, conn = connect()
    with sock:
        read_events(sock, conn, lambda events: any(isinstance(e, h2.events.RemoteSettingsChanged) for e in events))
        # DATA frame, length 4, flags 0, stream 0: forbidden by RFC 9113 section 6.1.
        sock.sendall(b"\x00\x00\x04\x00\x00\x00\x00\x00\x00abcd")
        events = read_events(sock, conn, lambda events: any(isinstance(e, h2.events.ConnectionTerminated) for e in events))
        terminated = [e for e in events if isinstance(e, h2.events.ConnectionTerminated)]
        assert terminated and terminated[0].error_code == h2.errors.ErrorCodes.PROTOCOL_ERROR
    server_still_serves()


def frame(kind, flags, stream, payload=b""):
    return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big") + payload


def raw_connection():
    """A socket past the preface and SETTINGS exchange, for tests that send frames by hand."""
    sock = socket.create_connection((HOST, PORT), timeout=10)
    sock.sendall(PREFACE + frame(0x4, 0, 0))
    return sock


def read_frames(sock, until, timeout=10.0):
    """(type, flags, stream, payload) tuples until `until(frames)`, the peer closes, or the timeout."""
    deadline = time.time() + timeout
    buffer = b""
    frames = []
    sock.settimeout(0.5)
    while time.time() < deadline:
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            break
        if not data:
            break
        buffer += data
        while len(buffer) >= 9:
            length = int.from_bytes(buffer[:3], "big")
            if len(buffer) < 9 + length:
                break
            kind, flags = buffer[3], buffer[4]
            stream = int.from_bytes(buffer[5:9], "big") & 0x7FFFFFFF
            frames.append((kind, flags, stream, buffer[9:9 + length]))
            if kind == 0x4 and not flags & 0x1:
                sock.sendall(frame(0x4, 0x1, 0))
            buffer = buffer[9 + length:]
        if until(frames):
            break
    return frames


def goaway_codes(frames):
    return [int.from_bytes(payload[4:8], "big") for kind, _, _, payload in frames if kind == 0x7]


def settings_value(frames, identifier):
    for kind, flags, _, payload in frames:
        if kind == 0x4 and not flags & 0x1:
            for offset in range(0, len(payload) - 5, 6):
                if int.from_bytes(payload[offset:offset + 2], "big") == identifier:
                    return int.from_bytes(payload[offset + 2:offset + 6], "big")
    return None


def encoded_headers(path, method="GET"):
    import hpack
    return hpack.Encoder().encode(headers(path, method))


def test_streams_beyond_the_advertised_limit_are_refused():
    with raw_connection() as sock:
        frames = read_frames(sock, lambda frames: settings_value(frames, 0x3) is not None)
        limit = settings_value(frames, 0x3)
        assert limit is not None and 0 < limit <= 10000
        block = encoded_headers("/v1/models/digits:predict", "POST")
        # HEADERS with END_HEADERS but no END_STREAM keeps every stream open.
        sock.sendall(b"".join(frame(0x1, 0x4, 1 + 2 * index, block) for index in range(limit + 10)))
        frames = read_frames(sock, lambda frames: sum(kind == 0x3 for kind, *_ in frames) >= 10
                             or bool(goaway_codes(frames)))
        resets = [int.from_bytes(payload[:4], "big") for kind, _, _, payload in frames if kind == 0x3]
        protocol_error, refused_stream = 0x1, 0x7
        # RFC 9113 5.1.2 allows a stream error (REFUSED_STREAM or PROTOCOL_ERROR) per excess stream,
        # or treating it as a connection error.
        if goaway_codes(frames):
            assert goaway_codes(frames) == [protocol_error]
        else:
            assert len(resets) >= 10, frames[-5:]
            assert all(code in (refused_stream, protocol_error) for code in resets)
    server_still_serves()


def test_oversized_header_lists_are_rejected():
    sock, conn = connect()
    with sock:
        read_events(sock, conn, lambda events: any(isinstance(e, h2.events.RemoteSettingsChanged) for e in events))
        conn.send_headers(1, headers("/v1/models/digits", extra=[("x-padding", "a" * (200 * 1024))]), end_stream=True)
        sock.sendall(conn.data_to_send())
        events = read_events(sock, conn, lambda events: any(
            isinstance(e, (h2.events.ResponseReceived, h2.events.StreamReset, h2.events.ConnectionTerminated))
            for e in events))
        responses = [e for e in events if isinstance(e, h2.events.ResponseReceived)]
        if responses:
            assert dict(responses[0].headers)[":status"] == "431"
        else:
            assert any(isinstance(e, (h2.events.StreamReset, h2.events.ConnectionTerminated)) for e in events)
    server_still_serves()


def test_declared_oversized_body_gets_413():
    sock, conn = connect()
    with sock:
        read_events(sock, conn, lambda events: any(isinstance(e, h2.events.RemoteSettingsChanged) for e in events))
        conn.send_headers(1, headers("/v1/models/digits:predict", "POST",
                                     extra=[("content-length", str(10 * 1024 * 1024 * 1024))]), end_stream=False)
        sock.sendall(conn.data_to_send())
        events = read_events(sock, conn, lambda events: any(
            isinstance(e, (h2.events.ResponseReceived, h2.events.StreamReset)) for e in events))
        responses = [e for e in events if isinstance(e, h2.events.ResponseReceived)]
        assert responses, events
        assert dict(responses[0].headers)[":status"] == "413"
    server_still_serves()


def test_rapid_reset_is_answered_with_enhance_your_calm():
    with raw_connection() as sock:
        read_frames(sock, lambda frames: settings_value(frames, 0x3) is not None)
        block = encoded_headers("/v2/health/live")
        cancel = (8).to_bytes(4, "big")
        burst = b"".join(frame(0x1, 0x5, 1 + 2 * index, block) + frame(0x3, 0, 1 + 2 * index, cancel)
                         for index in range(3000))
        try:
            sock.sendall(burst)
        except OSError:
            pass
        frames = read_frames(sock, lambda frames: bool(goaway_codes(frames)))
        enhance_your_calm = 0xB
        assert enhance_your_calm in goaway_codes(frames)
    server_still_serves()


def test_a_client_that_never_reads_does_not_stall_others():
    request = json.loads((REPO / "examples/requests/digits.json").read_text())
    big = json.dumps({"instances": request["instances"] * 300}).encode()
    sock, conn = connect()
    with sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        read_events(sock, conn, lambda events: any(isinstance(e, h2.events.RemoteSettingsChanged) for e in events))
        for index in range(8):
            stream = 1 + 2 * index
            conn.send_headers(stream, headers("/v1/models/digits:predict", "POST",
                                              extra=[("content-length", str(len(big)))]), end_stream=False)
            offset = 0
            while offset < len(big):
                window = min(conn.local_flow_control_window(stream), conn.max_outbound_frame_size)
                if window <= 0:
                    break
                chunk = big[offset:offset + window]
                conn.send_data(stream, chunk, end_stream=offset + len(chunk) >= len(big))
                offset += len(chunk)
            sock.sendall(conn.data_to_send())
        # Never read the responses; meanwhile other clients must be served promptly.
        start = time.time()
        for _ in range(5):
            server_still_serves()
        assert time.time() - start < 20
    server_still_serves()


def test_a_reset_stream_is_dropped_from_its_batch(tmp_path):
    """Three predicts wait together for a 300 ms batch; the client resets the second one. The other
    two are answered, and the batch that runs holds only their rows."""
    from conftest import start_server, stop_server

    batching = tmp_path / "batching.config"
    batching.write_text("max_batch_size { value: 64 }\nbatch_timeout_micros { value: 300000 }\n")
    process, port = start_server(f"--model_config_file={REPO / 'config/models.config'}",
                                 f"--monitoring_config_file={REPO / 'config/monitoring.config'}",
                                 "--enable_batching", f"--batching_parameters_file={batching}")
    try:
        address = f"127.0.0.1:{port}"

        def processed_rows():
            with urllib.request.urlopen(f"http://{address}/monitoring/prometheus/metrics", timeout=10) as response:
                text = response.read().decode()
            rows = [line for line in text.splitlines()
                    if line.startswith(":tensorflow:serving:batching_session:processed_batch_size_sum")]
            return sum(float(line.split()[-1]) for line in rows)

        before = processed_rows()
        body = (REPO / "examples/requests/digits.json").read_bytes()
        rows_per_request = len(json.loads(body)["instances"])
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        conn.initiate_connection()
        for stream in (1, 3, 5):
            conn.send_headers(stream, [(":method", "POST"), (":path", "/v1/models/digits:predict"), (":scheme", "http"),
                                       (":authority", address), ("content-type", "application/json")])
            conn.send_data(stream, body, end_stream=True)
        conn.reset_stream(3)
        sock.sendall(conn.data_to_send())
        ended = set()
        statuses = {}
        events = read_events(sock, conn, lambda got: {1, 5} <= {e.stream_id for e in got if isinstance(e, h2.events.StreamEnded)})
        for event in events:
            if isinstance(event, h2.events.ResponseReceived):
                statuses[event.stream_id] = dict(event.headers)[":status"]
            if isinstance(event, h2.events.StreamEnded):
                ended.add(event.stream_id)
        sock.close()
        assert statuses == {1: "200", 5: "200"}
        assert ended == {1, 5}
        deadline = time.time() + 10
        while processed_rows() - before < 2 * rows_per_request and time.time() < deadline:
            time.sleep(0.05)
        assert processed_rows() - before == 2 * rows_per_request
    finally:
        stop_server(process)
