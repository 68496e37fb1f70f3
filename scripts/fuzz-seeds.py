#!/usr/bin/env python3
"""Writes the seed inputs of the http2_session, tfrecord_warmup, predict_request and saved_model fuzz targets into
Fuzz/seeds/TARGET. Needs the `h2` package (the interop test venv has it):
    .venv-test/bin/python scripts/fuzz-seeds.py
Each seed starts with the selector its target reads first (see Fuzz/ModelServerFuzz)."""
import pathlib
import struct

import h2.config
import h2.connection

from proto_wire import bytes_field as field, varint_field as number

root = pathlib.Path(__file__).resolve().parent.parent
seeds = root / "Fuzz" / "seeds"
preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def write(target, name, data):
    directory = seeds / target
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_bytes(data)


# http2_session: even selector = preface added by the target; odd = bytes as sent; selector >> 1 = read size.

def h2_client():
    connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding=None))
    connection.initiate_connection()
    return connection


def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


settings_ack = frame(4, 1, 0)


def request_headers(method, path, extra=()):
    return [(b":method", method), (b":scheme", b"http"), (b":authority", b"localhost:8501"), (b":path", path)] + list(extra)


def h2_get():
    client = h2_client()
    client.send_headers(1, request_headers(b"GET", b"/v1/models/m"), end_stream=True)
    return client.data_to_send() + settings_ack


def h2_post():
    body = b'{"instances": [[1.0, 2.0, 3.0, 4.0]]}'
    client = h2_client()
    client.send_headers(1, request_headers(b"POST", b"/v1/models/m:predict", [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]))
    client.send_data(1, body, end_stream=True)
    return client.data_to_send() + settings_ack


def h2_grpc():
    message = b"\x0a\x03\x0a\x01m"
    client = h2_client()
    client.send_headers(1, request_headers(b"POST", b"/tensorflow.serving.PredictionService/Predict", [
        (b"content-type", b"application/grpc"), (b"te", b"trailers"), (b"grpc-timeout", b"5S")]))
    client.send_data(1, b"\x00" + struct.pack(">I", len(message)) + message, end_stream=True)
    return client.data_to_send() + settings_ack


def h2_mixed():
    client = h2_client()
    client.send_headers(1, request_headers(b"GET", b"/v1/models/m/metadata"), end_stream=True)
    client.send_headers(3, request_headers(b"POST", b"/v1/models/m:classify", [(b"content-type", b"application/json")]))
    client.send_data(3, b'{"examples": [')
    client.reset_stream(3)
    client.ping(b"12345678")
    client.increment_flow_control_window(4096)
    client.send_headers(5, request_headers(b"POST", b"/v1/models/m:regress"))
    client.send_data(5, b'{"examples": []}', end_stream=True)
    client.close_connection()
    return client.data_to_send() + settings_ack


def without_preface(data):
    assert data.startswith(preface)
    return data[len(preface):]


write("http2_session", "h2_get", b"\x00" + without_preface(h2_get()))
write("http2_session", "h2_post", b"\x00" + without_preface(h2_post()))
write("http2_session", "h2_grpc", b"\x00" + without_preface(h2_grpc()))
write("http2_session", "h2_mixed", b"\x00" + without_preface(h2_mixed()))
write("http2_session", "h2_post_reads_of_7", bytes([7 << 1]) + without_preface(h2_post()))
write("http2_session", "h2_sniffed_reads_of_5", bytes([5 << 1 | 1]) + h2_get())
write("http2_session", "http1_get", b"\x01GET /v1/models/m HTTP/1.1\r\nHost: localhost\r\n\r\n")
write("http2_session", "http1_pipelined", b"\x01"
      b"POST /v1/models/m:predict HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
      b"Content-Length: 15\r\n\r\n{\"instances\":1}"
      b"GET /v1/models/m HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
write("http2_session", "http1_chunked_reads_of_3", bytes([3 << 1 | 1]) +
      b"POST /v1/models/m:predict HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
      b"5\r\nhello\r\n0\r\n\r\n")


# tfrecord_warmup: a TFRecord file of PredictionLog protos (encoded by hand), even selector = as is.

def tensor(dtype, dims, values=b"", content=None):
    shape = b"".join(field(2, number(1, size)) for size in dims)
    proto = number(1, dtype) + field(2, shape)
    return proto + (field(4, content) if content is not None else values)


def model_spec(name, signature=b""):
    return field(1, field(1, name) + (field(3, signature) if signature else b""))


def example(values):
    floats = field(1, b"".join(struct.pack("<f", value) for value in values))
    return field(1, field(1, field(1, b"x") + field(2, field(2, floats))))


def examples_input(count, with_context=False):
    items = b"".join(field(1, example([0.5, -1.0, 2.0, 0.25])) for _ in range(count))
    if with_context:
        return field(2, items + field(2, example([1.0])))
    return field(1, items)


floats = field(5, b"".join(struct.pack("<f", value) for value in [1.0, 2.0, 3.0, 4.0]))
predict = field(6, field(1, model_spec(b"m") + field(2, field(1, b"x") + field(2, tensor(1, [1, 4], floats)))))
predict_content = field(6, field(1, model_spec(b"m", b"serving_default")
                                 + field(2, field(1, b"ids") + field(2, tensor(9, [2], content=struct.pack("<qq", 7, 8))))
                                 + field(2, field(1, b"text") + field(2, tensor(7, [2], field(8, b"a") + field(8, b"bc"))))
                                 + field(3, b"y")))
classify = field(2, field(1, model_spec(b"m", b"classify") + field(2, examples_input(2))))
regress = field(3, field(1, model_spec(b"m", b"regress") + field(2, examples_input(1, with_context=True))))
task = field(1, model_spec(b"m", b"regress") + field(2, b"tensorflow/serving/regress"))
multi = field(4, field(1, task + field(2, examples_input(1))))


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def masked(crc):
    return ((crc >> 15 | crc << 17) + 0xA282EAD8) & 0xFFFFFFFF


def tfrecord(records):
    out = b""
    for record in records:
        length = struct.pack("<Q", len(record))
        out += length + struct.pack("<I", masked(crc32c(length))) + record + struct.pack("<I", masked(crc32c(record)))
    return out


write("tfrecord_warmup", "predict", b"\x00" + tfrecord([predict]))
write("tfrecord_warmup", "predict_content_strings", b"\x00" + tfrecord([predict_content]))
write("tfrecord_warmup", "all_kinds", b"\x00" + tfrecord([predict, classify, regress, multi]))
write("tfrecord_warmup", "all_kinds_checksums_repaired", b"\x01" + tfrecord([predict, classify, regress, multi]))
# A [2^28] DT_DOUBLE without values: 2 GiB of zeros unless the element limit refuses it first.
huge = field(6, field(1, model_spec(b"m") + field(2, field(1, b"x") + field(2, tensor(2, [1 << 28])))))
write("tfrecord_warmup", "predict_huge_shape", b"\x00" + tfrecord([huge]))


# predict_request: PredictRequest messages as a gRPC Predict call carries them: tensor_content inputs (read from the
# wire directly) and forms the wire reader hands to the full decoder (typed values, strings, a size mismatch).
matrix = struct.pack("<8f", *[0.5 * i for i in range(8)])
content_request = model_spec(b"m") + field(2, field(1, b"x") + field(2, tensor(1, [2, 4], content=matrix))) + field(3, b"y")
write("predict_request", "content", content_request)
write("predict_request", "content_and_ids", content_request
      + field(2, field(1, b"ids") + field(2, tensor(9, [2], content=struct.pack("<qq", 7, 8)))))
write("predict_request", "typed_values", model_spec(b"m") + field(2, field(1, b"x") + field(2, tensor(1, [1, 4], floats))))
write("predict_request", "strings", model_spec(b"m") + field(2, field(1, b"text") + field(2, tensor(7, [2], field(8, b"a") + field(8, b"bc")))))
write("predict_request", "named_dims_and_version", model_spec(b"m", b"serving_default") + field(2, field(1, b"x") + field(2,
      number(1, 1) + field(2, field(2, number(1, 2) + field(2, b"batch")) + field(2, number(1, 4))) + number(3, 1)
      + field(4, matrix))))
write("predict_request", "wrong_content_size", model_spec(b"m") + field(2, field(1, b"x") + field(2, tensor(1, [3, 4], content=matrix))))


# saved_model: selector = fixture * 3 + file, then where the rest is spliced in and how many bytes it replaces
# (big-endian 16-bit each). The seeds splice nothing (the real file), and cut each file to half its length.

fixtures = ["mlp_keras3", "mlp_tf1", "parse_example_tf1", "hashing_keras3", "float16_tf_module", "assert_tf_module",
            "string_lookup_keras3", "vocabulary_file_tf_module"]
files = ["saved_model.pb", "variables/variables.index", "variables/variables.data-00000-of-00001"]
for fixture_index, fixture in enumerate(fixtures):
    for file_index, name in enumerate(files):
        size = (root / "Tests" / "Fixtures" / "models" / fixture / "1" / name).stat().st_size
        selector = bytes([fixture_index * 3 + file_index])
        short = name.split("/")[-1]
        write("saved_model", f"{fixture}_{short}", selector + struct.pack(">HH", 0, 0))
        write("saved_model", f"{fixture}_{short}_half", selector + struct.pack(">HH", size // 2, 0xFFFF))
