#!/usr/bin/env python3
"""Write small SavedModel fixtures plus TensorFlow's outputs on fixed inputs.

Usage: python scripts/make_fixtures.py Tests/Fixtures/models [--only NAME,...]

--only rebuilds just the named fixtures and leaves the others untouched.
OPS.md next to OUT (Tests/Fixtures/OPS.md) is rewritten on every run from all
fixture directories present: the op types reachable from the serving signatures.

For each fixture NAME this writes OUT/NAME/1/ (the SavedModel) and OUT/NAME.json:
  {"cases": [{"signature": ..., "inputs": {key: {"dtype", "shape", "values"}},
              "outputs": {key: {...}}}]}
Expected outputs come from TensorFlow running the exported files, not the
in-memory model. Floats are written so that they parse back to the exact float32
(float64 values are written exactly too); NaN and infinities as the strings "NaN",
"Infinity" and "-Infinity". Strings are JSON strings with dtype
"string"; binary strings (serialized tf.Example) are base64 with "encoding": "base64".
"""

import base64
import json
import os
import shutil
import tempfile
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf
import keras

tf.get_logger().setLevel("ERROR")
from tensorflow.core.protobuf import saved_model_pb2

SEED = 1234
BATCHES = (1, 3)


def seed_all(seed=SEED):
    keras.utils.set_random_seed(seed)  # seeds python, numpy and tf


def inputs_for(batch, features=4, seed=0):
    rng = np.random.default_rng(seed + batch)
    return rng.normal(size=(batch, features)).astype(np.float32)


def tensor_json(array):
    array = np.asarray(array)
    if array.dtype == np.float32:
        values = [finite_or_name(float(np.float32(v))) for v in array.reshape(-1)]
    elif array.dtype.kind in "iu":
        values = [int(v) for v in array.reshape(-1)]
    elif array.dtype == np.bool_:
        values = [bool(v) for v in array.reshape(-1)]
    elif array.dtype == np.float64:
        values = [finite_or_name(float(v)) for v in array.reshape(-1)]
    elif array.dtype.kind in "OSU":
        return string_json(array)
    else:
        raise ValueError(f"unsupported dtype {array.dtype}")
    return {"dtype": array.dtype.name, "shape": list(array.shape), "values": values}


def finite_or_name(value):
    """JSON has no NaN or infinity: those are written as the strings "NaN", "Infinity", "-Infinity"."""
    if np.isnan(value):
        return "NaN"
    if np.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def string_json(array, binary=False):
    """dtype "string": UTF-8 text as JSON strings, or base64 when binary."""
    array = np.asarray(array, dtype=object)
    raw = [v.encode() if isinstance(v, str) else bytes(v) for v in array.reshape(-1)]
    doc = {"dtype": "string", "shape": list(array.shape)}
    if binary:
        doc["encoding"] = "base64"
        doc["values"] = [base64.b64encode(v).decode("ascii") for v in raw]
    else:
        doc["values"] = [v.decode("utf-8") for v in raw]
    return doc


def feed_tensor(value):
    value = np.asarray(value)
    if value.dtype.kind in "OSU":
        return tf.constant([v.encode() if isinstance(v, str) else v for v in value.reshape(-1)],
                           dtype=tf.string, shape=value.shape)
    return tf.constant(value)


def write_json(path, doc):
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


def fresh_dir(path):
    if os.path.exists(path):
        shutil.rmtree(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)


def tf2_cases(export_dir, signatures, make_feeds=None):
    """Load the export with tf.saved_model.load and call each signature.

    make_feeds(signature, batch) -> {key: array}; default: normal float32 inputs."""
    loaded = tf.saved_model.load(export_dir)
    cases = []
    for sig in signatures:
        fn = loaded.signatures[sig]
        _, kwargs = fn.structured_input_signature
        keys = sorted(kwargs)
        print(f"  [{sig}] inputs {[(k, kwargs[k].dtype.name, kwargs[k].shape.as_list()) for k in keys]}"
              f" outputs {sorted(fn.structured_outputs)}")
        for batch in BATCHES:
            if make_feeds is None:
                feeds = {k: inputs_for(batch, kwargs[k].shape[-1], seed=i) for i, k in enumerate(keys)}
            else:
                feeds = make_feeds(sig, batch)
                assert sorted(feeds) == keys, (sorted(feeds), keys)
            result = fn(**{k: feed_tensor(v) for k, v in feeds.items()})
            cases.append({
                "signature": sig,
                "inputs": {k: tensor_json(v) for k, v in feeds.items()},
                "outputs": {k: tensor_json(result[k].numpy()) for k in sorted(result)},
            })
    return cases


def keras_mlp():
    keras.backend.clear_session()  # same layer names whatever ran before
    seed_all()
    return keras.Sequential([
        keras.Input((4,), name="x"),
        keras.layers.Dense(8, activation="relu"),
        keras.layers.Dense(6, activation="relu"),
        keras.layers.Dense(3, activation="softmax"),
    ])


def make_mlp_keras3(out):
    model = keras_mlp()
    model.export(out, verbose=False)
    return tf2_cases(out, ["serving_default"])


def make_mlp_keras3_saved_model_save(out):
    model = keras_mlp()
    tf.saved_model.save(model, out)
    return tf2_cases(out, ["serving_default"])


class MLPModule(tf.Module):
    def __init__(self):
        super().__init__()
        rng = np.random.default_rng(SEED)
        init = lambda *shape: tf.Variable(rng.normal(scale=0.5, size=shape).astype(np.float32))
        self.w1, self.b1 = init(4, 8), init(8)
        self.w2, self.b2 = init(8, 3), init(3)

    def _logits(self, x):
        return tf.matmul(tf.nn.relu(tf.matmul(x, self.w1) + self.b1), self.w2) + self.b2

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
    def probabilities(self, x):
        return {"probabilities": tf.nn.softmax(self._logits(x))}

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
    def logits(self, x):
        return {"logits": self._logits(x)}


def make_mlp_tf_module(out):
    module = MLPModule()
    tf.saved_model.save(module, out, signatures={
        "serving_default": module.probabilities.get_concrete_function(),
        "logits": module.logits.get_concrete_function(),
    })
    return tf2_cases(out, ["serving_default", "logits"])


def make_mlp_tf1(out):
    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        v1.set_random_seed(SEED)
        x = v1.placeholder(tf.float32, [None, 4], name="x")
        init = v1.glorot_uniform_initializer(seed=SEED)
        with v1.variable_scope("layer1"):
            w1 = v1.get_variable("W", [4, 8], initializer=init, use_resource=False)
            b1 = v1.get_variable("b", [8], initializer=v1.random_normal_initializer(stddev=0.1, seed=SEED + 1),
                                 use_resource=False)
            h = tf.nn.relu(tf.nn.bias_add(tf.matmul(x, w1), b1))
        with v1.variable_scope("layer2"):
            w2 = v1.get_variable("W", [8, 3], initializer=init, use_resource=False)
            b2 = v1.get_variable("b", [3], initializer=v1.random_normal_initializer(stddev=0.1, seed=SEED + 2),
                                 use_resource=False)
            logits = tf.nn.bias_add(tf.matmul(h, w2), b2)
        probs = tf.nn.softmax(logits, name="probabilities")
        with v1.Session(graph=graph) as sess:
            sess.run(v1.global_variables_initializer())
            builder = v1.saved_model.Builder(out)
            sig = v1.saved_model.predict_signature_def(inputs={"x": x}, outputs={"probabilities": probs})
            builder.add_meta_graph_and_variables(
                sess, [v1.saved_model.tag_constants.SERVING],
                signature_def_map={"serving_default": sig}, strip_default_attrs=True)
            builder.save()

    # Run the export in a fresh graph and session.
    cases = []
    with tf.Graph().as_default() as g, v1.Session(graph=g) as sess:
        meta = v1.saved_model.loader.load(sess, [v1.saved_model.tag_constants.SERVING], out)
        sig = meta.signature_def["serving_default"]
        print(f"  [serving_default] inputs {dict((k, v.name) for k, v in sig.inputs.items())}"
              f" outputs {dict((k, v.name) for k, v in sig.outputs.items())}")
        for batch in BATCHES:
            feeds = {"x": inputs_for(batch)}
            fetch = {k: v.name for k, v in sig.outputs.items()}
            result = sess.run(fetch, {sig.inputs[k].name: v for k, v in feeds.items()})
            cases.append({
                "signature": "serving_default",
                "inputs": {k: tensor_json(v) for k, v in feeds.items()},
                "outputs": {k: tensor_json(result[k]) for k in sorted(result)},
            })
    return cases


# ---------------------------------------------------------------------------
# Coverage fixtures: one small model per layer / op family.

L = keras.layers


def rng_for(name):
    """A numpy generator seeded from the fixture name (stable across runs)."""
    return np.random.default_rng([SEED] + [ord(c) for c in name])


def normal(rng, shape, scale=1.0, dtype=np.float32):
    return (rng.normal(size=shape) * scale).astype(dtype)


def keras_start():
    keras.backend.clear_session()
    seed_all()


def perturb(weights, rng, scale=0.2):
    """Make all-zero / all-one initial weights (biases, gammas) non-trivial."""
    for w in weights:
        value = np.asarray(w.numpy())
        if value.dtype.kind == "f" and (np.all(value == 0) or np.all(value == 1)):
            w.assign(value + rng.normal(scale=scale, size=value.shape).astype(value.dtype))


def set_batchnorm_stats(layer, rng):
    """gamma, beta, moving mean, moving variance (all non-trivial)."""
    gamma, beta, mean, var = (np.asarray(w) for w in layer.get_weights())
    n = gamma.shape
    layer.set_weights([
        rng.uniform(0.5, 1.5, n).astype(np.float32),
        rng.normal(scale=0.3, size=n).astype(np.float32),
        rng.normal(scale=0.5, size=n).astype(np.float32),
        rng.uniform(0.5, 2.0, n).astype(np.float32),
    ])


def keras3_export(model, out, feeds, signatures=("serving_default",)):
    perturb(model.trainable_weights, rng_for(os.path.basename(os.path.dirname(out))))  # by fixture name
    model.export(out, verbose=False)
    return tf2_cases(out, list(signatures), feeds)


def float_feeds(name, shapes, scale=1.0):
    """shapes: {key: per-example shape}; batch-dependent seeds."""
    def make(sig, batch):
        rng = np.random.default_rng([SEED, batch, len(name)])
        return {k: normal(rng, (batch,) + tuple(s), scale) for k, s in sorted(shapes.items())}
    return make


def make_activations_keras3(out):
    """One Dense branch per activation, all fed from the input (so each activation sees a wide
    range of values, both signs), outputs concatenated; plus a short chain and a softmax."""
    keras_start()
    gelu_exact = lambda t: keras.activations.gelu(t, approximate=False)
    gelu_tanh = lambda t: keras.activations.gelu(t, approximate=True)
    x = keras.Input((6,), name="x")
    wide = L.Rescaling(4.0)(x)  # pre-activations well beyond 6 for relu6 / hard_sigmoid
    branches = [
        L.Dense(4, activation="relu")(x),
        L.Dense(4, activation=keras.activations.relu6)(wide),
        L.ReLU(max_value=6.0)(L.Dense(4)(wide)),
        L.Dense(4, activation="leaky_relu")(x),
        L.LeakyReLU(negative_slope=0.1)(L.Dense(4, use_bias=False)(x)),
        L.Dense(4, activation="elu")(x),
        L.Dense(4, activation="selu")(x),
        L.Activation(gelu_exact)(L.Dense(4)(x)),
        L.Activation(gelu_tanh)(L.Dense(4)(x)),
        L.Dense(4, activation="sigmoid")(x),
        L.Dense(4, activation="hard_sigmoid")(wide),
        L.Dense(4, activation="tanh")(x),
        L.Dense(4, activation="swish")(x),
        L.Dense(4, activation="silu")(x),
        L.Dense(4, activation="softplus")(x),
        L.Dense(4, activation="softmax")(x),
        L.Dense(4)(x),
    ]
    chain = L.Dense(6, activation="tanh")(L.Dense(6, activation="elu")(L.Dense(6, activation="relu")(x)))
    probs = L.Dense(3, activation="softmax")(chain)
    y = L.Concatenate()(branches + [probs])
    return keras3_export(keras.Model(x, y), out, float_feeds("activations", {"x": (6,)}, scale=2.0))


def make_conv1d_keras3(out):
    keras_start()
    x = keras.Input((12, 3), name="signal")
    a = L.Conv1D(4, 3, padding="same", activation="relu")(x)             # 12
    b = L.Conv1D(5, 3, dilation_rate=2, padding="valid")(a)              # 8
    c = L.Conv1D(4, 3, strides=2, padding="same", activation="tanh")(a)  # 6
    p1 = L.MaxPooling1D(2)(b)                                            # 4
    p2 = L.AveragePooling1D(3, strides=1, padding="same")(p1)            # 4
    p3 = L.AveragePooling1D(2, padding="valid")(c)                       # 3
    p4 = L.MaxPooling1D(3, strides=2, padding="same")(c)                 # 3
    feats = L.Concatenate()([L.GlobalAveragePooling1D()(p2), L.GlobalMaxPooling1D()(p3),
                             L.Flatten()(p4)])
    y = L.Dense(3)(L.Dropout(0.25)(feats))
    return keras3_export(keras.Model(x, y), out, float_feeds("conv1d", {"signal": (12, 3)}))


def make_conv2d_keras3(out):
    keras_start()
    x = keras.Input((10, 10, 3), name="image")
    a = L.Conv2D(4, 3, padding="same", activation="relu")(x)                 # 10x10
    b = L.Conv2D(4, 3, strides=2, padding="valid")(a)                        # 4x4
    c = L.Conv2D(3, 3, strides=2, padding="same", use_bias=False)(a)         # 5x5
    d = L.Conv2D(4, 3, dilation_rate=2, padding="same", activation="relu")(a)  # 10x10
    e = L.Conv2D(2, (2, 3), dilation_rate=(2, 1), padding="valid")(d)         # 8x8
    f = L.Conv2D(3, 1)(e)                                                    # 1x1 conv
    feats = L.Concatenate()([
        L.Flatten()(b),
        L.Flatten()(L.Reshape((25, 3))(c)),
        L.GlobalAveragePooling2D()(d),
        L.Reshape((-1,))(f),
    ])
    y = L.Dense(4, activation="softmax")(L.Dropout(0.5)(feats))
    return keras3_export(keras.Model(x, y), out, float_feeds("conv2d", {"image": (10, 10, 3)}))


def make_residual_block_keras3(out):
    """3x3 stride-1 convolutions with channel counts that are multiples of 8 (the Winograd route), batch
    normalization after them, a 1x1 shortcut and a residual addition."""
    keras_start()
    x = keras.Input((9, 10, 8), name="image")
    y = L.Conv2D(16, 3, padding="same", use_bias=False)(x)                    # 9x10x16
    norms = [L.BatchNormalization(), L.BatchNormalization()]
    y = L.ReLU()(norms[0](y))
    y = L.Conv2D(16, 3, padding="same")(y)
    shortcut = L.Conv2D(16, 1, use_bias=False)(x)
    z = L.ReLU()(L.Add()([norms[1](y), shortcut]))
    v = L.Conv2D(8, 3, padding="valid", activation="relu")(z)               # 7x8x8
    model = keras.Model(x, L.Dense(3)(L.Concatenate()([L.GlobalAveragePooling2D()(z), L.Flatten()(v)])))
    rng = rng_for("residual_block_keras3")
    for norm in norms:
        set_batchnorm_stats(norm, rng)
    perturb(model.trainable_weights, rng)
    return keras3_export(model, out, float_feeds("residual_block", {"image": (9, 10, 8)}))


def make_separable_keras3(out):
    keras_start()
    x = keras.Input((9, 9, 3), name="image")
    a = L.DepthwiseConv2D(3, depth_multiplier=2, padding="valid", activation="relu")(x)   # 7x7x6
    b = L.DepthwiseConv2D(3, strides=2, padding="same")(a)                                # 4x4x6
    c = L.SeparableConv2D(5, 3, padding="same", activation="relu")(a)                     # 7x7x5
    d = L.SeparableConv2D(4, 3, strides=2, depth_multiplier=2, padding="valid")(c)        # 3x3x4
    feats = L.Concatenate()([L.GlobalAveragePooling2D()(b), L.GlobalMaxPooling2D()(c), L.Flatten()(d)])
    y = L.Dense(3)(feats)
    return keras3_export(keras.Model(x, y), out, float_feeds("separable", {"image": (9, 9, 3)}))


def make_pooling2d_keras3(out):
    keras_start()
    x = keras.Input((7, 8, 2), name="image")
    a = L.Conv2D(3, 1, activation="tanh")(x)
    pools = [
        L.MaxPooling2D(2)(a),                                   # 3x4 valid
        L.MaxPooling2D(3, strides=2, padding="same")(a),        # 4x4
        L.AveragePooling2D(2, padding="valid")(a),              # 3x4
        L.AveragePooling2D(3, strides=2, padding="same")(a),    # 4x4 (edge windows count fewer cells)
        L.AveragePooling2D((2, 3), strides=(1, 2), padding="same")(a),
    ]
    feats = L.Concatenate()([L.Flatten()(p) for p in pools] +
                            [L.GlobalAveragePooling2D()(a), L.GlobalMaxPooling2D()(a)])
    y = L.Dense(3)(feats)
    return keras3_export(keras.Model(x, y), out, float_feeds("pooling2d", {"image": (7, 8, 2)}))


def make_batchnorm_keras3(out):
    keras_start()
    rng = rng_for("batchnorm_keras3")
    x = keras.Input((6, 6, 2), name="image")
    a = L.Conv2D(4, 3, use_bias=False)(x)
    bn1 = L.BatchNormalization()
    a = L.ReLU()(bn1(a))
    h = L.Dense(5)(L.Flatten()(a))
    bn2 = L.BatchNormalization(epsilon=0.01, center=True, scale=True)
    h = bn2(h)
    bn3 = L.BatchNormalization(axis=1)  # over a non-last axis
    t = bn3(L.Conv2D(3, 1)(x))
    y = L.Concatenate()([L.Dense(3)(h), L.GlobalAveragePooling2D()(t)])
    model = keras.Model(x, y)
    perturb(model.trainable_weights, rng)
    for layer in (bn1, bn2, bn3):
        set_batchnorm_stats(layer, rng)
    model.export(out, verbose=False)
    return tf2_cases(out, ["serving_default"], float_feeds("batchnorm", {"image": (6, 6, 2)}))


def tf_keras_module():
    import tf_keras
    tf_keras.backend.clear_session()
    tf_keras.utils.set_random_seed(SEED)
    return tf_keras


def make_batchnorm_tf_keras(out):
    tk = tf_keras_module()
    rng = rng_for("batchnorm_tf_keras")
    x = tk.Input((6, 6, 2), name="image")
    a = tk.layers.Conv2D(4, 3, use_bias=False, name="conv")(x)
    bn1 = tk.layers.BatchNormalization(name="bn_fused")      # 4-D input: FusedBatchNormV3
    a = tk.layers.ReLU(name="relu")(bn1(a))
    h = tk.layers.Dense(5, name="hidden")(tk.layers.Flatten(name="flatten")(a))
    bn2 = tk.layers.BatchNormalization(epsilon=0.01, name="bn_dense")  # 2-D input: decomposed
    y = tk.layers.Dense(3, activation="softmax", name="probs")(bn2(h))
    model = tk.Model(x, y)
    perturb(model.trainable_weights, rng)
    for layer in (bn1, bn2):
        set_batchnorm_stats(layer, rng)
    model.save(out)
    return tf2_cases(out, ["serving_default"], float_feeds("batchnorm_tk", {"image": (6, 6, 2)}))


def make_layernorm_keras3(out):
    keras_start()
    x = keras.Input((5, 8), name="x")
    a = L.LayerNormalization()(x)
    b = L.LayerNormalization(epsilon=1e-3, center=False)(L.Dense(6)(a))
    c = L.LayerNormalization(axis=[1, 2])(x)
    y = L.Concatenate()([L.Dense(3)(L.Flatten()(b)), L.Dense(2)(L.Flatten()(c))])
    return keras3_export(keras.Model(x, y), out, float_feeds("layernorm", {"x": (5, 8)}, scale=2.0))


def token_feeds(name, key, length, vocab, dtype=np.int32, pad=True):
    """Token ids in [1, vocab), trailing zeros (padding) of random length, never all padding."""
    def make(sig, batch):
        rng = np.random.default_rng([SEED, batch, len(name)])
        ids = rng.integers(1, vocab, size=(batch, length))
        if pad:
            for row in range(batch):
                keep = rng.integers(1, length + 1) if batch > 1 else length - 2
                ids[row, keep:] = 0
        return {key: ids.astype(dtype)}
    return make


def make_embedding_keras3(out):
    keras_start()
    x = keras.Input((7,), dtype="int32", name="tokens")
    e = L.Embedding(20, 4, mask_zero=True)(x)
    pooled = L.GlobalAveragePooling1D()(e)          # masked mean
    y = L.Dense(3, activation="softmax")(L.Dense(6, activation="relu")(pooled))
    return keras3_export(keras.Model(x, y), out, token_feeds("embedding", "tokens", 7, 20))


def make_merge_keras3(out):
    keras_start()
    ids = keras.Input((3,), dtype="int32", name="ids")
    feats = keras.Input((6,), name="features")
    e = L.Flatten()(L.Embedding(10, 2)(ids))                # 6
    f = L.Dense(6, activation="tanh")(feats)
    added = L.Add()([e, f, feats])
    product = L.Multiply()([e, f])
    joined = L.Concatenate(axis=-1)([added, product, L.Subtract()([f, e]), L.Average()([e, f]),
                                     L.Maximum()([e, feats]), L.Minimum()([e, feats])])
    y = L.Dense(2)(joined)
    model = keras.Model({"ids": ids, "features": feats}, y)

    def make(sig, batch):
        rng = np.random.default_rng([SEED, batch, 5])
        return {"features": normal(rng, (batch, 6)),
                "ids": rng.integers(0, 10, size=(batch, 3)).astype(np.int32)}
    return keras3_export(model, out, make)


def rnn_model(kind):
    keras_start()
    x = keras.Input((5, 3), name="sequence")
    if kind == "lstm":
        s = L.LSTM(6, return_sequences=True)(x)
        last = L.LSTM(4)(s)
    elif kind == "gru":
        s = L.GRU(6, return_sequences=True)(x)                 # reset_after=True (default)
        last = L.GRU(4, reset_after=False)(s)
    elif kind == "simple_rnn":
        s = L.SimpleRNN(6, return_sequences=True)(x)
        last = L.SimpleRNN(4, activation="relu")(s)
    elif kind == "bidirectional":
        s = L.Bidirectional(L.LSTM(4, return_sequences=True))(x)       # concat -> 8
        last = L.Bidirectional(L.LSTM(3), merge_mode="sum")(s)
    # both a per-step output (return_sequences=True) and the last state
    y = L.Concatenate()([L.Flatten()(L.Dense(2)(s)), L.Dense(3)(last)])
    return keras.Model(x, y)


def make_rnn(kind):
    def make(out):
        return keras3_export(rnn_model(kind), out, float_feeds(kind, {"sequence": (5, 3)}))
    return make


def make_lstm_masked_keras3(out):
    keras_start()
    x = keras.Input((6,), dtype="int32", name="tokens")
    e = L.Embedding(15, 4, mask_zero=True)(x)
    h = L.LSTM(5)(e)                                        # masked steps keep the state
    y = L.Dense(1, activation="sigmoid")(h)
    return keras3_export(keras.Model(x, y), out, token_feeds("lstm_masked", "tokens", 6, 15))


def make_embedding_rnn_keras3(out):
    keras_start()
    x = keras.Input((7,), dtype="int32", name="tokens")
    e = L.Embedding(25, 4)(x)                               # no mask: the recurrent input is a table lookup
    seq = L.LSTM(6, return_sequences=True)(e)
    last = L.GRU(5)(L.Embedding(25, 3)(x))
    y = L.Concatenate()([L.Flatten()(L.Dense(2)(seq)), L.Dense(3)(last)])
    return keras3_export(keras.Model(x, y), out, token_feeds("embedding_rnn", "tokens", 7, 25, pad=False))


def make_lstm_tf_keras(out):
    tk = tf_keras_module()
    model = tk.Sequential([
        tk.Input((5, 3), name="sequence"),
        tk.layers.LSTM(6, return_sequences=True, name="lstm_seq"),
        tk.layers.GRU(4, name="gru_last"),
        tk.layers.Dense(2, name="scores"),
    ])
    perturb(model.trainable_weights, rng_for("lstm_tf_keras"))
    model.save(out)
    return tf2_cases(out, ["serving_default"], float_feeds("lstm_tk", {"sequence": (5, 3)}))


def make_attention_keras3(out):
    keras_start()
    x = keras.Input((5, 8), name="x")
    a = L.MultiHeadAttention(num_heads=2, key_dim=4)(x, x)
    y = L.LayerNormalization()(L.Add()([x, a]))
    return keras3_export(keras.Model(x, y), out, float_feeds("attention", {"x": (5, 8)}))


def make_normalization_keras3(out):
    keras_start()
    rng = rng_for("normalization_keras3")
    norm = L.Normalization()
    norm.adapt(rng.normal(loc=[1.0, -2.0, 5.0, 0.0], scale=[0.5, 2.0, 3.0, 1.0], size=(64, 4))
               .astype(np.float32))
    x = keras.Input((4,), name="x")
    y = L.Dense(2)(norm(x))
    fixed = L.Normalization(mean=[0.5, 1.0, -1.0, 2.0], variance=[4.0, 0.25, 1.0, 9.0])(x)
    model = keras.Model(x, L.Concatenate()([y, fixed]))
    return keras3_export(model, out, float_feeds("normalization", {"x": (4,)}, scale=3.0))


WORDS = ["cat", "dog", "bird", "fish", "tree", "Sky", "blue", "", "zebra", "café", "the", "a"]


def string_feeds(name, shapes, words=WORDS):
    def make(sig, batch):
        rng = np.random.default_rng([SEED, batch, len(name)])
        return {k: np.array(rng.choice(words, size=(batch,) + tuple(s)), dtype=object)
                for k, s in sorted(shapes.items())}
    return make


def make_hashing_keras3(out):
    keras_start()
    words = keras.Input((2,), dtype="string", name="words")
    ids = keras.Input((2,), dtype="int64", name="ids")
    model = keras.Model({"words": words, "ids": ids}, [
        L.Hashing(num_bins=16)(words),                  # StringToHashBucketFast
        L.Hashing(num_bins=8, salt=[7, 11])(words),     # StringToHashBucketStrong
        L.Hashing(num_bins=10, mask_value="")(words),   # bin 0 reserved for ""
        L.Hashing(num_bins=16)(ids),                    # ints hashed as their decimal strings
    ])
    text = string_feeds("hashing", {"words": (2,)})

    def make(sig, batch):
        rng = np.random.default_rng([SEED, batch, 9])
        feeds = text(sig, batch)
        feeds["ids"] = rng.integers(-50, 1000, size=(batch, 2)).astype(np.int64)
        return feeds
    return keras3_export(model, out, make)


def make_string_lookup_keras3(out):
    keras_start()
    x = keras.Input((3,), dtype="string", name="words")
    vocab = ["cat", "dog", "bird", "fish", "café"]
    model = keras.Model(x, [
        L.StringLookup(vocabulary=vocab)(x),                                 # OOV -> 0
        L.StringLookup(vocabulary=vocab, num_oov_indices=2, mask_token="")(x),
        L.StringLookup(vocabulary=vocab, output_mode="multi_hot")(x),
        L.StringLookup(vocabulary=vocab, output_mode="count")(x),
    ])
    return keras3_export(model, out, string_feeds("string_lookup", {"words": (3,)}))


def make_integer_lookup_keras3(out):
    keras_start()
    x = keras.Input((3,), dtype="int64", name="codes")
    vocab = [3, 7, 11, 42, 100]
    model = keras.Model(x, [
        L.IntegerLookup(vocabulary=vocab)(x),
        L.IntegerLookup(vocabulary=vocab, output_mode="multi_hot")(x),
        L.IntegerLookup(vocabulary=vocab, invert=False, mask_token=0, num_oov_indices=1)(x),
    ])

    def make(sig, batch):
        rng = np.random.default_rng([SEED, batch, 13])
        return {"codes": rng.choice([0, 3, 7, 11, 42, 100, 5, 64], size=(batch, 3)).astype(np.int64)}
    return keras3_export(model, out, make)


SENTENCES = [
    "The cat sat on the mat.",
    "A DOG, a cat & a bird!",
    "fish",
    "Trees   grow; the sky is blue and the sea is blue too",
    "",
    "Café au lait? Oui, the café.",
]


def make_text_vectorization_keras3(out):
    keras_start()
    vocab = ["the", "cat", "dog", "a", "bird", "sky", "is", "blue", "on", "mat", "café"]
    x = keras.Input((1,), dtype="string", name="text")
    tokens = L.TextVectorization(standardize="lower_and_strip_punctuation", split="whitespace",
                                 vocabulary=vocab, output_mode="int", output_sequence_length=6)(x)
    e = L.Embedding(len(vocab) + 2, 3, mask_zero=True)(tokens)
    scores = L.Dense(2)(L.GlobalAveragePooling1D()(e))
    multi_hot = L.TextVectorization(vocabulary=vocab, output_mode="multi_hot")(x)
    model = keras.Model(x, [tokens, scores, multi_hot])

    def make(sig, batch):
        picks = [0] if batch == 1 else [1, 3, 5]
        return {"text": np.array([[SENTENCES[i]] for i in picks], dtype=object)}
    return keras3_export(model, out, make)


def example_bytes(x, bucket=None):
    feature = {"x": tf.train.Feature(float_list=tf.train.FloatList(value=[float(v) for v in x]))}
    if bucket is not None:
        feature["bucket"] = tf.train.Feature(int64_list=tf.train.Int64List(value=[int(bucket)]))
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString(deterministic=True)


def make_parse_example_tf1(out):
    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        v1.set_random_seed(SEED)
        serialized = v1.placeholder(tf.string, [None], name="tf_example")
        spec = {"x": tf.io.FixedLenFeature([4], tf.float32),
                "bucket": tf.io.FixedLenFeature([1], tf.int64, default_value=[2])}
        parsed = tf.io.parse_example(serialized, spec)
        features = tf.concat([parsed["x"], tf.one_hot(parsed["bucket"][:, 0], 3)], axis=1)  # [b, 7]
        init = v1.glorot_uniform_initializer(seed=SEED)
        w = v1.get_variable("W", [7, 3], initializer=init, use_resource=False)
        b = v1.get_variable("b", [3], initializer=v1.random_normal_initializer(stddev=0.3, seed=SEED + 1),
                            use_resource=False)
        wr = v1.get_variable("W_reg", [7, 1], initializer=init, use_resource=False)
        scores = tf.nn.softmax(tf.nn.bias_add(tf.matmul(features, w), b), name="scores")
        classes = tf.tile(tf.constant([["negative", "neutral", "positive"]]),
                          tf.stack([tf.shape(serialized)[0], 1]), name="classes")
        prediction = tf.identity(tf.matmul(features, wr) + 0.5, name="prediction")
        with v1.Session(graph=graph) as sess:
            sess.run(v1.global_variables_initializer())
            builder = v1.saved_model.Builder(out)
            sigs = {
                "serving_default": v1.saved_model.classification_signature_def(serialized, classes, scores),
                "classify_scores_only": v1.saved_model.classification_signature_def(serialized, None, scores),
                "regress": v1.saved_model.regression_signature_def(serialized, prediction),
                "predict": v1.saved_model.predict_signature_def(
                    inputs={"examples": serialized}, outputs={"scores": scores, "prediction": prediction}),
            }
            builder.add_meta_graph_and_variables(
                sess, [v1.saved_model.tag_constants.SERVING], signature_def_map=sigs,
                strip_default_attrs=True)
            builder.save()

    def examples(batch):
        rng = np.random.default_rng([SEED, batch, 17])
        return [example_bytes(rng.normal(size=4), None if i == 1 else rng.integers(0, 3))
                for i in range(batch)]

    cases = []
    with tf.Graph().as_default() as g, v1.Session(graph=g) as sess:
        meta = v1.saved_model.loader.load(sess, [v1.saved_model.tag_constants.SERVING], out)
        for key in sorted(meta.signature_def):
            sig = meta.signature_def[key]
            print(f"  [{key}] {sig.method_name} inputs {dict((k, v.name) for k, v in sig.inputs.items())}"
                  f" outputs {dict((k, v.name) for k, v in sig.outputs.items())}")
            for batch in BATCHES:
                data = np.array(examples(batch), dtype=object)
                (in_key,) = sig.inputs
                fetch = {k: v.name for k, v in sig.outputs.items()}
                result = sess.run(fetch, {sig.inputs[in_key].name: data})
                cases.append({
                    "signature": key,
                    "inputs": {in_key: string_json(data, binary=True)},
                    "outputs": {k: tensor_json(result[k]) for k in sorted(result)},
                })
    return cases


class DTypesModule(tf.Module):
    def __init__(self):
        super().__init__()
        rng = np.random.default_rng(SEED + 64)
        self.w64 = tf.Variable(rng.normal(size=(3, 2)))                     # float64
        self.b64 = tf.Variable(rng.normal(size=(2,)))
        self.scale = tf.Variable(np.array([3, -2, 5, 7], dtype=np.int64))
        self.offset = tf.Variable(np.int64(1 << 40))
        self.flags = tf.Variable(np.array([True, False, True]))

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float64, name="x")])
    def f64(self, x):
        y = tf.matmul(x, self.w64) + self.b64
        return {"y": y, "tanh": tf.tanh(y), "norm": tf.sqrt(tf.reduce_sum(y * y, axis=1)),
                "as_float32": tf.cast(y, tf.float32)}

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.int64, name="a"),
                                  tf.TensorSpec([None, 4], tf.int64, name="b")])
    def int64_ops(self, a, b):
        return {"sum": a + b, "difference": a - b, "product": a * b,
                "quotient": tf.math.floordiv(a, b), "remainder": tf.math.floormod(a, b),
                "scaled": a * self.scale + self.offset, "row_max": tf.reduce_max(a, axis=1),
                "argmax": tf.argmax(b, axis=1), "as_float64": tf.cast(a, tf.float64) / 3.0,
                "greater": a > b}

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.bool, name="p"),
                                  tf.TensorSpec([None, 3], tf.bool, name="q"),
                                  tf.TensorSpec([None, 3], tf.float32, name="x")])
    def bool_ops(self, p, q, x):
        return {"and": tf.logical_and(p, q), "or": tf.logical_or(p, q),
                "xor": tf.math.logical_xor(p, q), "not": tf.logical_not(p),
                "masked": tf.logical_and(p, self.flags), "positive": x > 0,
                "any": tf.reduce_any(q, axis=1), "all": tf.reduce_all(p, axis=1),
                "select": tf.where(p, x, -x), "as_int32": tf.cast(q, tf.int32)}


def make_dtypes_tf_module(out):
    module = DTypesModule()
    sigs = {"serving_default": module.f64.get_concrete_function(),
            "int64_ops": module.int64_ops.get_concrete_function(),
            "bool_ops": module.bool_ops.get_concrete_function()}
    tf.saved_model.save(module, out, signatures=sigs)

    def make(sig, batch):
        rng = np.random.default_rng([SEED, batch, 21])
        if sig == "serving_default":
            return {"x": rng.normal(size=(batch, 3))}
        if sig == "int64_ops":
            b = rng.integers(1, 9, size=(batch, 4)) * rng.choice([-1, 1], size=(batch, 4))
            return {"a": rng.integers(-40, 40, size=(batch, 4)).astype(np.int64), "b": b.astype(np.int64)}
        return {"p": rng.random((batch, 3)) < 0.7, "q": rng.random((batch, 3)) < 0.6,
                "x": normal(rng, (batch, 3))}
    return tf2_cases(out, sorted(sigs), make)


class VocabularyFileModule(tf.Module):
    """Tables initialised from asset files (InitializeTableFromTextFileV2): whole lines → line
    numbers, and comma-separated columns → int64 and float values."""

    def __init__(self, vocabulary_path, scores_path):
        super().__init__()
        index = tf.lookup.TextFileIndex
        self.ids = tf.lookup.StaticHashTable(
            tf.lookup.TextFileInitializer(vocabulary_path, tf.string, index.WHOLE_LINE, tf.int64, index.LINE_NUMBER),
            default_value=-1)
        self.counts = tf.lookup.StaticHashTable(
            tf.lookup.TextFileInitializer(scores_path, tf.string, 0, tf.int64, 1, delimiter=","), default_value=0)
        self.weights = tf.lookup.StaticHashTable(
            tf.lookup.TextFileInitializer(scores_path, tf.string, 0, tf.float32, 2, delimiter=","), default_value=-1.5)
        self.lookup = keras.layers.StringLookup(vocabulary=vocabulary_path)

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.string, name="words")])
    def __call__(self, words):
        return {"ids": self.ids.lookup(words), "counts": self.counts.lookup(words),
                "weights": self.weights.lookup(words), "keras_ids": self.lookup(words)}


def make_vocabulary_file_tf_module(out):
    work = tempfile.mkdtemp()
    vocabulary = os.path.join(work, "vocabulary.txt")
    scores = os.path.join(work, "scores.csv")
    with open(vocabulary, "w", encoding="utf-8") as f:
        f.write("\n".join(["cat", "dog", "bird", "café", "the"]) + "\n")
    with open(scores, "w", encoding="utf-8") as f:
        f.write("cat,7,0.5\ndog,-3,2.25\nfish,12,-1e3\nzebra,0,3.125\n")
    module = VocabularyFileModule(vocabulary, scores)
    sigs = {"serving_default": module.__call__.get_concrete_function()}
    tf.saved_model.save(module, out, signatures=sigs)
    shutil.rmtree(work)  # the export must read its own assets/
    return tf2_cases(out, sorted(sigs), string_feeds("vocabulary_file", {"words": (3,)}))


class AssertModule(tf.Module):
    """Run-time checks: CheckNumerics (assert_all_finite), an Assert guarded by If (assert_less, used
    through a control dependency) and a bare Assert listed in control_ret."""

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x")])
    def __call__(self, x):
        tf.debugging.assert_all_finite(x, "x must be finite")
        with tf.control_dependencies([tf.debugging.assert_less(tf.reduce_max(tf.abs(x)), 100.0, message="too large")]):
            y = tf.identity(x * 2.0)
        tf.debugging.Assert(tf.reduce_all(x > -50.0), ["x below -50"])
        return {"y": y}


def make_assert_tf_module(out):
    module = AssertModule()
    sigs = {"serving_default": module.__call__.get_concrete_function()}
    tf.saved_model.save(module, out, signatures=sigs)
    return tf2_cases(out, sorted(sigs), float_feeds("assert", {"x": (3,)}))


class Float16Module(tf.Module):
    def __init__(self):
        super().__init__()
        rng = np.random.default_rng(SEED + 16)
        self.w = tf.Variable(rng.normal(scale=0.7, size=(4, 3)).astype(np.float16))
        self.b = tf.Variable(rng.normal(scale=0.3, size=(3,)).astype(np.float16))

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
    def __call__(self, x):
        h = tf.matmul(x, tf.cast(self.w, tf.float32)) + tf.cast(self.b, tf.float32)
        return {"y": tf.nn.relu(h)}


def make_float16_tf_module(out):
    module = Float16Module()
    sigs = {"serving_default": module.__call__.get_concrete_function()}
    tf.saved_model.save(module, out, signatures=sigs)
    return tf2_cases(out, sorted(sigs), float_feeds("float16", {"x": (4,)}))


class CounterModule(tf.Module):
    """Variables the signatures change, which a server keeps per loaded model: `increment` (the
    serving_default signature) and `decrement` (AssignAddVariableOp, AssignSubVariableOp) return the counter, `reset` assigns it,
    `scaled` only reads it, `repeat` adds to it in a While body, `add_three` too but in a loop whose
    inputs are all constants, and `affine` calls two functions that each read and assign `total`, in an
    order that changes the result."""

    def __init__(self):
        super().__init__()
        self.count = tf.Variable(0, dtype=tf.int64)
        self.total = tf.Variable(1.0)

    @tf.function(input_signature=[tf.TensorSpec([], tf.int64, name="step")])
    def increment(self, step):
        self.count.assign_add(step)
        return {"count": self.count.read_value()}

    @tf.function(input_signature=[tf.TensorSpec([], tf.int64, name="step")])
    def decrement(self, step):
        self.count.assign_sub(step)
        return {"count": self.count.read_value()}

    @tf.function(input_signature=[tf.TensorSpec([], tf.int64, name="value")])
    def reset(self, value):
        self.count.assign(value)
        return {"count": self.count.read_value()}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32, name="x")])
    def scaled(self, x):
        return {"y": x * tf.cast(self.count, tf.float32)}

    @tf.function(input_signature=[tf.TensorSpec([], tf.int32, name="n")])
    def repeat(self, n):
        for _ in tf.range(n):
            self.count.assign_add(1)
        return {"count": self.count.read_value()}

    @tf.function(input_signature=[tf.TensorSpec([], tf.int64, name="step")])
    def add_three(self, step):
        for _ in tf.range(3):
            self.count.assign_add(1)
        return {"count": self.count.read_value() + step}

    @tf.function
    def _double(self):
        self.total.assign(self.total * 2.0)

    @tf.function
    def _add_one(self):
        self.total.assign(self.total + 1.0)

    @tf.function(input_signature=[tf.TensorSpec([], tf.float32, name="x")])
    def affine(self, x):
        self._double()
        self._add_one()
        return {"total": self.total + x}


COUNTER_CALLS = [
    ("serving_default", {"step": np.int64(1)}),
    ("serving_default", {"step": np.int64(1)}),
    ("serving_default", {"step": np.int64(5)}),
    ("scaled", {"x": np.array([1, 2, 3], np.float32)}),
    ("decrement", {"step": np.int64(2)}),
    ("repeat", {"n": np.int32(3)}),
    ("add_three", {"step": np.int64(0)}),
    ("add_three", {"step": np.int64(100)}),
    ("reset", {"value": np.int64(10)}),
    ("scaled", {"x": np.array([0.5, -1], np.float32)}),
    ("affine", {"x": np.float32(0)}),
    ("affine", {"x": np.float32(0.5)}),
]


def make_counter_tf_module(out):
    """The cases are one sequence of calls on one loaded model: each result depends on the calls before."""
    module = CounterModule()
    names = sorted({name for name, _ in COUNTER_CALLS} - {"serving_default"})
    sigs = {name: getattr(module, name).get_concrete_function() for name in names}
    sigs["serving_default"] = module.increment.get_concrete_function()
    tf.saved_model.save(module, out, signatures=sigs)
    loaded = tf.saved_model.load(out)
    cases = []
    for name, feeds in COUNTER_CALLS:
        result = loaded.signatures[name](**{k: feed_tensor(v) for k, v in feeds.items()})
        cases.append({
            "signature": name,
            "inputs": {k: tensor_json(v) for k, v in feeds.items()},
            "outputs": {k: tensor_json(result[k].numpy()) for k in sorted(result)},
        })
    return cases


def op_types(export_dir):
    """Op types in saved_model.pb: all (graph + library), reachable from the
    serving signatures, and reachable from the restore and init ops."""
    sm = saved_model_pb2.SavedModel()
    with open(os.path.join(export_dir, "saved_model.pb"), "rb") as f:
        sm.ParseFromString(f.read())
    mg = sm.meta_graphs[0]
    graph = mg.graph_def
    funcs = {f.signature.name: f for f in graph.library.function}
    nodes = {n.name: n for n in graph.node}
    every = {n.op for n in graph.node}
    for f in funcs.values():
        every |= {n.op for n in f.node_def}

    def closure(start):
        ops, seen_nodes, seen_funcs = set(), set(), set()

        def visit_attrs(node):
            for attr in node.attr.values():
                names = [attr.func.name] if attr.HasField("func") else []
                names += [fn.name for fn in attr.list.func]
                for name in names:
                    if name in funcs and name not in seen_funcs:
                        seen_funcs.add(name)
                        for n in funcs[name].node_def:
                            ops.add(n.op)
                            visit_attrs(n)

        stack = list(start)
        while stack:
            name = stack.pop().lstrip("^").split(":")[0]
            if name in seen_nodes or name not in nodes:
                continue
            seen_nodes.add(name)
            ops.add(nodes[name].op)
            visit_attrs(nodes[name])
            stack += list(nodes[name].input)
        return sorted(ops)

    serving = [t.name for key, s in mg.signature_def.items()
               if key != "__saved_model_init_op" for t in s.outputs.values()]
    setup = [mg.saver_def.restore_op_name]
    if "__saved_model_init_op" in mg.signature_def:
        setup += [t.name for t in mg.signature_def["__saved_model_init_op"].outputs.values()]
    for key in ("saved_model_main_op", "legacy_init_op"):
        if key in mg.collection_def:
            setup += list(mg.collection_def[key].node_list.value)
    return sorted(every), closure(serving), closure(setup)


FIXTURES = [
    ("mlp_keras3", make_mlp_keras3),
    ("mlp_tf_module", make_mlp_tf_module),
    ("mlp_tf1", make_mlp_tf1),
    ("mlp_keras3_saved_model_save", make_mlp_keras3_saved_model_save),
    ("activations_keras3", make_activations_keras3),
    ("conv1d_keras3", make_conv1d_keras3),
    ("conv2d_keras3", make_conv2d_keras3),
    ("separable_conv_keras3", make_separable_keras3),
    ("pooling2d_keras3", make_pooling2d_keras3),
    ("batchnorm_keras3", make_batchnorm_keras3),
    ("batchnorm_tf_keras", make_batchnorm_tf_keras),
    ("layernorm_keras3", make_layernorm_keras3),
    ("embedding_keras3", make_embedding_keras3),
    ("merge_keras3", make_merge_keras3),
    ("lstm_keras3", make_rnn("lstm")),
    ("gru_keras3", make_rnn("gru")),
    ("simple_rnn_keras3", make_rnn("simple_rnn")),
    ("bidirectional_lstm_keras3", make_rnn("bidirectional")),
    ("lstm_masked_keras3", make_lstm_masked_keras3),
    ("lstm_tf_keras", make_lstm_tf_keras),
    ("residual_block_keras3", make_residual_block_keras3),
    ("embedding_rnn_keras3", make_embedding_rnn_keras3),
    ("attention_keras3", make_attention_keras3),
    ("normalization_keras3", make_normalization_keras3),
    ("hashing_keras3", make_hashing_keras3),
    ("string_lookup_keras3", make_string_lookup_keras3),
    ("integer_lookup_keras3", make_integer_lookup_keras3),
    ("text_vectorization_keras3", make_text_vectorization_keras3),
    ("parse_example_tf1", make_parse_example_tf1),
    ("dtypes_tf_module", make_dtypes_tf_module),
    ("vocabulary_file_tf_module", make_vocabulary_file_tf_module),
    ("assert_tf_module", make_assert_tf_module),
    ("float16_tf_module", make_float16_tf_module),
    ("counter_tf_module", make_counter_tf_module),
]

# Export styles that do not work for a family (noted in OPS.md).
KNOWN_FAILURES = {}


def write_ops_table(root, path, failed):
    """OPS.md: op types reachable from the serving signatures of every fixture on disk."""
    rows, counts = [], {}
    for name, _ in FIXTURES:
        export_dir = os.path.join(root, name, "1")
        if not os.path.exists(os.path.join(export_dir, "saved_model.pb")):
            continue
        _, serving, _ = op_types(export_dir)
        rows.append((name, serving))
        for op in serving:
            counts[op] = counts.get(op, 0) + 1
    lines = [
        "# Op types per fixture",
        "",
        "Generated by `scripts/make_fixtures.py`: op types reachable from each fixture's serving",
        "signatures (top-level graph walked from the signature outputs, then every function named",
        "by a node's function-valued attrs: `f` of (Stateful)PartitionedCall, `body`/`cond` of",
        "While/StatelessWhile, `then_branch`/`else_branch` of If, recursively). Restore and init",
        "ops are not included.",
        "",
        "| fixture | op types |",
        "|---|---|",
    ]
    lines += [f"| {name} | {', '.join(ops)} |" for name, ops in rows]
    lines += ["", f"## Union ({len(counts)} op types; count = number of fixtures using it)", "",
              "| op type | fixtures |", "|---|---|"]
    lines += [f"| {op} | {n} |" for op, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    notes = dict(KNOWN_FAILURES)
    notes.update({name: f"export failed in the last run: {error}" for name, error in failed.items()})
    if notes:
        lines += ["", "## Export styles that failed", ""]
        lines += [f"- {name}: {note}" for name, note in sorted(notes.items())]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    args = sys.argv[1:]
    only = None
    if "--only" in args:
        i = args.index("--only")
        if i + 1 >= len(args):
            sys.exit("usage: make_fixtures.py OUT_DIR [--only NAME,...]")
        only = set(args[i + 1].split(","))
        del args[i:i + 2]
        unknown = only - {name for name, _ in FIXTURES}
        if unknown:
            sys.exit(f"unknown fixtures: {', '.join(sorted(unknown))}")
    if len(args) != 1:
        sys.exit("usage: make_fixtures.py OUT_DIR [--only NAME,...]")
    root = args[0]
    os.makedirs(root, exist_ok=True)
    failed = {}
    for name, make in FIXTURES:
        if only is not None and name not in only:
            continue
        print(f"{name}:")
        export_dir = os.path.join(root, name, "1")
        fresh_dir(os.path.join(root, name))
        try:
            cases = make(export_dir)
        except Exception as e:  # keep going; report at the end
            print(f"  FAILED: {type(e).__name__}: {e}")
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)
            failed[name] = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
            continue
        write_json(os.path.join(root, f"{name}.json"), {"cases": cases})
        every, serving, setup = op_types(export_dir)
        print(f"  ops (all): {' '.join(every)}")
        print(f"  ops (serving signatures): {' '.join(serving)}")
        print(f"  ops (restore + init): {' '.join(setup)}")
    write_ops_table(root, os.path.join(os.path.dirname(os.path.abspath(root)), "OPS.md"), failed)
    if failed:
        print(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
