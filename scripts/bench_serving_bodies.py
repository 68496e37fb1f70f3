#!/usr/bin/env python3
"""Writes the request bodies scripts/bench_serving.sh sends, one file per protocol, for one model.

Usage: bench_serving_bodies.py SPEC_JSON MODEL_NAME OUT_DIR
SPEC_JSON is the input spec make_bench_models.py writes beside each model ({"input": [dims...]});
every input gets one row of deterministic float32 values. Protobuf messages are encoded here by hand
(only the fields used), so no TensorFlow or grpc package is needed.
"""
import json
import struct
import sys

from proto_wire import field, varint


def tensor_proto(values, dims):
    shape = b"".join(field(2, 2, field(1, 0, varint(d))) for d in dims)
    return field(1, 0, varint(1)) + field(2, 2, shape) + field(4, 2, struct.pack(f"<{len(values)}f", *values))


def grpc_frame(message):
    return b"\x00" + struct.pack(">I", len(message)) + message


def main():
    spec_path, model, out = sys.argv[1:4]
    with open(spec_path) as f:
        spec = {k: v for k, v in json.load(f).items() if isinstance(v, list)}
    inputs = {}
    for name, dims in spec.items():
        count = 1
        for d in dims:
            count *= d
        # float32 values written back as doubles, the way clients serialize numpy float32 arrays.
        values = [struct.unpack("<f", struct.pack("<f", ((i * 37) % 101) / 101.0))[0] for i in range(count)]
        inputs[name] = (values, [1] + dims)

    def nested(values, dims):
        if len(dims) == 1:
            return list(values)
        step = len(values) // dims[0]
        return [nested(values[i * step:(i + 1) * step], dims[1:]) for i in range(dims[0])]

    # TF Serving REST, row format: one instance (named inputs when there are several).
    if len(inputs) == 1:
        (values, dims), = inputs.values()
        row = {"instances": nested(values, dims)}
    else:
        row = {"instances": [{n: nested(v, d)[0] for n, (v, d) in inputs.items()}]}
    columnar = {"inputs": {n: nested(v, d) for n, (v, d) in inputs.items()}}
    with open(f"{out}/rest_row.json", "w") as f:
        json.dump(row, f, separators=(",", ":"))
    with open(f"{out}/rest_columnar.json", "w") as f:
        json.dump(columnar, f, separators=(",", ":"))

    # KServe v2 JSON and binary extension.
    kserve = {"inputs": [{"name": n, "shape": d, "datatype": "FP32", "data": list(v)}
                         for n, (v, d) in inputs.items()]}
    with open(f"{out}/kserve.json", "w") as f:
        json.dump(kserve, f, separators=(",", ":"))
    header = {"inputs": [{"name": n, "shape": d, "datatype": "FP32",
                          "parameters": {"binary_data_size": 4 * len(v)}} for n, (v, d) in inputs.items()]}
    header_bytes = json.dumps(header, separators=(",", ":")).encode()
    with open(f"{out}/kserve.bin", "wb") as f:
        f.write(header_bytes)
        for v, _ in inputs.values():
            f.write(struct.pack(f"<{len(v)}f", *v))
    with open(f"{out}/kserve.bin.header_length", "w") as f:
        f.write(str(len(header_bytes)))

    # tensorflow.serving.PredictRequest: model_spec = 1 {name = 1}, inputs = 2 (map<string, TensorProto>).
    predict = field(1, 2, field(1, 2, model.encode()))
    for name, (values, dims) in inputs.items():
        predict += field(2, 2, field(1, 2, name.encode()) + field(2, 2, tensor_proto(values, dims)))
    with open(f"{out}/grpc_predict.bin", "wb") as f:
        f.write(grpc_frame(predict))

    # inference.ModelInferRequest: model_name = 1, inputs = 5 {name 1, datatype 2, shape 3}, raw_input_contents = 7.
    infer = field(1, 2, model.encode())
    for name, (values, dims) in inputs.items():
        shape = b"".join(varint(d) for d in dims)
        infer += field(5, 2, field(1, 2, name.encode()) + field(2, 2, b"FP32") + field(3, 2, shape))
    for values, _ in inputs.values():
        infer += field(7, 2, struct.pack(f"<{len(values)}f", *values))
    with open(f"{out}/grpc_kserve.bin", "wb") as f:
        f.write(grpc_frame(infer))


if __name__ == "__main__":
    main()
