#!/usr/bin/env python3
"""Enumerate standard Keras layers, activations and ops, and common tf.Module and TF1 idioms; export
each as a small SavedModel and record TensorFlow's outputs on fixed inputs.

Usage: python scripts/make_coverage_models.py Tests/Fixtures/coverage [--only NAME,...] [--list]

Writes OUT/NAME/1/ (the SavedModel) and OUT/NAME.json in the fixture format (see make_fixtures.py), and
OUT/index.json: every enumerated case with its family and, when it could not be exported by TensorFlow
itself, why. The Swift suite (CoverageTests) runs every exported case and writes COVERAGE.md from it.

Adding a case is one entry: a Keras layer class is found by enumeration (give it arguments in
LAYER_ARGUMENTS or an input in LAYER_INPUTS if the defaults do not build it); an idiom is one function
decorated with @idiom below.
"""

import inspect
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures as fx  # noqa: E402  (sets TF logging up, shares the JSON conventions)

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402

BATCHES = fx.BATCHES
v1 = tf.compat.v1

# ---------------------------------------------------------------------------------------------------
# Keras layers


# Layers that wrap other frameworks or are abstract bases: not something a SavedModel user exports.
LAYERS_NOT_APPLICABLE = {
    "FlaxLayer": "wraps a Flax module (JAX backend only)",
    "JaxLayer": "wraps a JAX function (JAX backend only)",
    "TorchModuleWrapper": "wraps a torch.nn.Module (PyTorch backend only)",
    "TFSMLayer": "reloads a SavedModel for inference inside Keras; not itself exportable",
    "Layer": "abstract base class",
    "Wrapper": "abstract base class",
    "InputLayer": "the input placeholder itself",
    "MaxNumBoundingBoxes": "bounding-box preprocessing that needs a dict of boxes, not a tensor",
}

# Constructor arguments by parameter name, for required parameters.
ARGUMENTS_BY_PARAMETER = {
    "units": 3, "filters": 2, "kernel_size": 2, "output_size": 2, "pool_size": 2, "rate": 0.5,
    "stddev": 0.1, "activation": "tanh", "axes": 1, "input_dim": 10, "output_dim": 3,
    "num_heads": 2, "key_dim": 2, "head_dim": 2, "num_query_heads": 2, "num_key_value_heads": 1,
    "num_bins": 5, "n": 2, "dims": (2, 1), "scale": 0.5, "height": 4, "width": 4, "factor": 0.2,
    "height_factor": 0.2, "width_factor": 0.2, "equation": "ab,bc->ac", "output_shape": 3,
    "target_shape": (3, -1),
}

# Per class: extra constructor arguments (override or add to the required ones).
LAYER_ARGUMENTS = {
    "Bidirectional": lambda: {"layer": keras.layers.LSTM(2, return_sequences=True)},
    "TimeDistributed": lambda: {"layer": keras.layers.Dense(2)},
    "SpectralNormalization": lambda: {"layer": keras.layers.Dense(2)},
    "RNN": lambda: {"cell": keras.layers.SimpleRNNCell(2)},
    "StackedRNNCells": lambda: {"cells": [keras.layers.SimpleRNNCell(2), keras.layers.SimpleRNNCell(3)]},
    "Pipeline": lambda: {"layers": [keras.layers.Rescaling(0.5), keras.layers.Activation("relu")]},
    "Lambda": lambda: {"function": lambda x: x * 2.0 + 1.0},
    "Dot": lambda: {"axes": 1},
    "CategoryEncoding": lambda: {"num_tokens": 6, "output_mode": "count"},
    "Discretization": lambda: {"bin_boundaries": [-1.0, 0.0, 0.5, 1.5]},
    "Hashing": lambda: {"num_bins": 7},
    "HashedCrossing": lambda: {"num_bins": 7},
    "GroupNormalization": lambda: {"groups": 3},
    "RandomPosterization": lambda: {"factor": 4, "value_range": (0, 255)},
    "Equalization": lambda: {"value_range": (0, 255)},
    "Cropping1D": lambda: {"cropping": 1},
    "Cropping2D": lambda: {"cropping": 1},
    "Cropping3D": lambda: {"cropping": 1},
    "RandomCrop": lambda: {"height": 4, "width": 4},
    "CenterCrop": lambda: {"height": 4, "width": 4},
    "Resizing": lambda: {"height": 5, "width": 3},
    "MelSpectrogram": lambda: {"fft_length": 64, "sequence_stride": 16, "sequence_length": 32,
                               "num_mel_bins": 8, "sampling_rate": 8000},
    "STFTSpectrogram": lambda: {"frame_length": 32, "frame_step": 16, "fft_length": 32},
    "StringLookup": lambda: {"vocabulary": ["cat", "dog", "bird", "fish"]},
    "IntegerLookup": lambda: {"vocabulary": [3, 7, 11, 42]},
    "TextVectorization": lambda: {"max_tokens": 20, "output_sequence_length": 5},
    "Normalization": lambda: {"mean": [0.5, -1.0, 2.0, 0.0], "variance": [1.0, 4.0, 0.25, 2.0]},
    "EinsumDense": lambda: {"equation": "ab,bc->ac", "output_shape": 3, "bias_axes": "c"},
    "ReversibleEmbedding": lambda: {"input_dim": 10, "output_dim": 3},
    "Embedding": lambda: {"input_dim": 10, "output_dim": 3},
    "DepthwiseConv1D": lambda: {"kernel_size": 2, "depth_multiplier": 2},
    "DepthwiseConv2D": lambda: {"kernel_size": 2, "depth_multiplier": 2},
    "ConvLSTM1D": lambda: {"filters": 2, "kernel_size": 2},
    "ConvLSTM2D": lambda: {"filters": 2, "kernel_size": 2},
    "ConvLSTM3D": lambda: {"filters": 2, "kernel_size": 2},
}

IMAGE = ("image", (8, 8, 3))
SEQUENCE = ("float", (6, 3))
FLAT = ("float", (4,))

# Per class: input kinds, one (kind, per-example shape) per input; kinds are float, image (0..255
# floats), ids (ints in [0, 10)), tokens (ints among the IntegerLookup vocabulary), words, text.
LAYER_INPUTS = {
    "Add": [FLAT, FLAT], "Subtract": [FLAT, FLAT], "Multiply": [FLAT, FLAT], "Average": [FLAT, FLAT],
    "Maximum": [FLAT, FLAT], "Minimum": [FLAT, FLAT], "Concatenate": [FLAT, FLAT], "Dot": [FLAT, FLAT],
    "Attention": [SEQUENCE, SEQUENCE], "AdditiveAttention": [SEQUENCE, SEQUENCE],
    "MultiHeadAttention": [SEQUENCE, SEQUENCE], "GroupQueryAttention": [SEQUENCE, SEQUENCE],
    "Embedding": [("ids", (5,))], "ReversibleEmbedding": [("ids", (5,))],
    "CategoryEncoding": [("small_ids", (5,))],
    "Hashing": [("words", (3,))], "HashedCrossing": [("ids", (1,)), ("words", (1,))],
    "StringLookup": [("words", (3,))], "IntegerLookup": [("tokens", (3,))],
    "TextVectorization": [("text", ())],
    "MelSpectrogram": [("float", (128,))], "STFTSpectrogram": [("float", (128, 1))],
    "ConvLSTM1D": [("float", (3, 5, 2))], "ConvLSTM2D": [("float", (3, 5, 5, 2))],
    "ConvLSTM3D": [("float", (2, 4, 4, 4, 1))],
    "RepeatVector": [FLAT], "Dense": [FLAT], "EinsumDense": [FLAT], "Normalization": [FLAT],
    "Discretization": [FLAT], "UnitNormalization": [FLAT], "Softmax": [FLAT],
    "Rescaling": [IMAGE], "Resizing": [IMAGE], "CenterCrop": [IMAGE],
}

# Per class: data to `adapt` the layer to before it is called.
LAYER_ADAPT = {"TextVectorization": lambda: fx.SENTENCES}

RANDOM_IMAGE_LAYERS_INPUT = IMAGE  # augmentation layers: identity (or deterministic) at inference


def default_input(name):
    if name in LAYER_INPUTS:
        return LAYER_INPUTS[name]
    if name.startswith("Random") or name in ("AutoContrast", "Equalization", "Solarization", "AugMix",
                                             "CutMix", "MixUp", "RandAugment",
                                             "ContrastLimitedAdaptiveHistogramEqualization"):
        return [RANDOM_IMAGE_LAYERS_INPUT]
    if "3D" in name:
        return [("float", (4, 4, 4, 2))]
    if "2D" in name:
        return [("float", (6, 6, 3))]
    return [SEQUENCE]


def feed_values(kind, shape, rng):
    if kind == "float":
        return rng.normal(size=shape).astype(np.float32)
    if kind == "image":
        return rng.uniform(0, 255, size=shape).astype(np.float32)
    if kind == "ids":
        return rng.integers(0, 10, size=shape).astype(np.int64)
    if kind == "small_ids":
        return rng.integers(0, 6, size=shape).astype(np.int64)
    if kind == "tokens":
        return rng.choice(np.array([3, 7, 11, 42, 5], dtype=np.int64), size=shape)
    if kind == "words":
        return rng.choice(np.array(["cat", "dog", "bird", "fish", "emu"], dtype=object), size=shape)
    if kind == "text":
        return rng.choice(np.array(fx.SENTENCES, dtype=object), size=shape)
    raise ValueError(kind)


def keras_dtype(kind):
    return {"ids": "int64", "small_ids": "int64", "tokens": "int64", "words": "string",
            "text": "string"}.get(kind, "float32")


def layer_classes():
    """Every public layer class in keras.layers, once (aliases share a class), by its first name."""
    seen = {}
    for name in sorted(dir(keras.layers)):
        value = getattr(keras.layers, name)
        if inspect.isclass(value) and issubclass(value, keras.layers.Layer) and value not in seen:
            seen[value] = name
    return sorted((name, cls) for cls, name in seen.items())


def make_layer(name, cls):
    parameters = inspect.signature(cls.__init__).parameters
    arguments = {p: ARGUMENTS_BY_PARAMETER[p] for p, v in parameters.items()
                 if v.default is inspect.Parameter.empty and p in ARGUMENTS_BY_PARAMETER}
    arguments.update(LAYER_ARGUMENTS.get(name, lambda: {})())
    if name.endswith("Cell"):
        return keras.layers.RNN(cls(**arguments))
    if name == "StackedRNNCells":
        return keras.layers.RNN(cls(**arguments))
    return cls(**arguments)


def perturb_weights(model, rng):
    for weight in model.weights:
        value = np.asarray(weight.numpy())
        if value.dtype.kind != "f":
            continue
        if "variance" in weight.path or "moving_var" in weight.path:
            weight.assign(rng.uniform(0.5, 1.5, value.shape).astype(value.dtype))
        else:
            weight.assign(value + rng.normal(scale=0.2, size=value.shape).astype(value.dtype))


def layer_model(name, cls):
    fx.keras_start()
    specs = default_input(name)
    inputs = [keras.Input(shape, dtype=keras_dtype(kind), name=f"input_{i}")
              for i, (kind, shape) in enumerate(specs)]
    layer = make_layer(name, cls)
    if name in LAYER_ADAPT:
        layer.adapt(LAYER_ADAPT[name]())
    if name in ("MultiHeadAttention", "GroupQueryAttention"):
        output = layer(inputs[0], inputs[1])
    else:
        output = layer(inputs if len(inputs) > 1 else inputs[0])
    model = keras.Model(inputs, output)
    perturb_weights(model, fx.rng_for(name))

    def feeds(signature, batch):
        rng = np.random.default_rng([fx.SEED, batch, len(name)])
        values = [feed_values(kind, (batch,) + tuple(shape), rng) for kind, shape in specs]
        return values
    return model, feeds


def keras_feed_dict(export_dir, feeds):
    """Maps positional feeds onto the exported signature's input keys (sorted by input index)."""
    loaded = tf.saved_model.load(export_dir)
    _, kwargs = loaded.signatures["serving_default"].structured_input_signature
    keys = sorted(kwargs)

    def make(signature, batch):
        values = feeds(signature, batch)
        if len(keys) != len(values):
            raise ValueError(f"signature inputs {keys} for {len(values)} feeds")
        return dict(zip(keys, values))
    return make


def layer_case(name, cls, export):
    def build(out):
        model, feeds = layer_model(name, cls)
        if export == "export":
            model.export(out, verbose=False)
        else:
            tf.saved_model.save(model, out)
        return fx.tf2_cases(out, ["serving_default"], keras_feed_dict(out, feeds))
    return build


# ---------------------------------------------------------------------------------------------------
# keras.activations and keras.ops

ACTIVATIONS_NOT_FUNCTIONS = {"get", "serialize", "deserialize"}
ACTIVATION_ARGUMENTS = {"threshold": {"threshold": 0.5, "default_value": -1.0}}


def activation_functions():
    return sorted(n for n in dir(keras.activations)
                  if not n.startswith("_") and n not in ACTIVATIONS_NOT_FUNCTIONS
                  and callable(getattr(keras.activations, n)))


def module_with_signatures(functions):
    """A tf.Module with one signature per (key, python function, [input specs]) that traces; the
    others map to the error their tracing raised."""
    module = tf.Module()
    signatures, untraceable = {}, {}
    for key, function, specs in functions:
        try:
            concrete = tf.function(function, input_signature=specs).get_concrete_function()
        except Exception as e:  # recorded in the index
            untraceable[key] = one_line(e)
            continue
        setattr(module, f"f_{key}", concrete)
        signatures[key] = concrete
    return module, signatures, untraceable


def one_line(error):
    text = str(error).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return f"{type(error).__name__}: {(lines[-1] if lines else '')[:160]}"


def activations_case(out):
    functions = []
    for name in activation_functions():
        f = getattr(keras.activations, name)
        extra = ACTIVATION_ARGUMENTS.get(name, {})
        functions.append((name, (lambda f, extra: lambda x: {"y": f(x, **extra)})(f, extra),
                          [tf.TensorSpec([None, 8], tf.float32, name="x")]))
    module, signatures, untraceable = module_with_signatures(functions)
    tf.saved_model.save(module, out, signatures=signatures)
    return fx.tf2_cases(out, sorted(signatures), lambda sig, batch: {
        "x": (np.random.default_rng([fx.SEED, batch]).normal(size=(batch, 8)) * 3).astype(np.float32)}), untraceable


# keras.ops functions tried with one or two float tensors; ops that need other arguments are listed
# in index.json as not enumerated, with the error TensorFlow gave for the minimal call.
OPS_SKIPPED = {
    "convert_to_tensor", "convert_to_numpy", "cast", "saturate_cast", "cond", "fori_loop", "while_loop",
    "scan", "associative_scan", "map", "switch", "vectorized_map", "stop_gradient", "custom_gradient",
    "shape", "dtype", "is_tensor", "ones", "zeros", "eye", "identity", "tri", "full", "empty", "arange",
    "linspace", "logspace", "geomspace", "random", "image", "nn", "numpy", "linalg", "core", "math",
}


# keras.ops functions that need more than one or two float tensors: how to call them on x and y
# (both [batch, 4] float32).
def _square(o, x):
    return o.matmul(o.transpose(x), x) + o.eye(4) * 4.0


OPS_CALLS = {
    "matmul": lambda o, x, y: o.matmul(x, o.transpose(y)),
    "dot": lambda o, x, y: o.dot(x, o.transpose(y)),
    "concatenate": lambda o, x, y: o.concatenate([x, y], axis=1),
    "stack": lambda o, x, y: o.stack([x, y], axis=1),
    "hstack": lambda o, x, y: o.hstack([x, y]),
    "vstack": lambda o, x, y: o.vstack([x, y]),
    "expand_dims": lambda o, x, y: o.expand_dims(x, 1),
    "reshape": lambda o, x, y: o.reshape(x, (-1, 2, 2)),
    "clip": lambda o, x, y: o.clip(x, -0.5, 0.5),
    "pad": lambda o, x, y: o.pad(x, [[0, 0], [1, 2]]),
    "one_hot": lambda o, x, y: o.one_hot(o.argmax(x, axis=1), 4),
    "multi_hot": lambda o, x, y: o.multi_hot(o.argsort(x, axis=1)[:, :2], 4),
    "tile": lambda o, x, y: o.tile(x, [1, 2]),
    "repeat": lambda o, x, y: o.repeat(x, 2, axis=1),
    "roll": lambda o, x, y: o.roll(x, 1, axis=1),
    "split": lambda o, x, y: o.split(x, 2, axis=1)[1],
    "take": lambda o, x, y: o.take(x, [0, 2], axis=1),
    "take_along_axis": lambda o, x, y: o.take_along_axis(x, o.argsort(y, axis=1), axis=1),
    "top_k": lambda o, x, y: o.top_k(x, 2)[0],
    "where": lambda o, x, y: o.where(x > 0, x, y),
    "moments": lambda o, x, y: o.moments(x, axes=[1])[1],
    "einsum": lambda o, x, y: o.einsum("bi,bj->bij", x, y),
    "swapaxes": lambda o, x, y: o.swapaxes(x, 0, 1),
    "moveaxis": lambda o, x, y: o.moveaxis(o.expand_dims(x, 2), 1, 2),
    "slice": lambda o, x, y: o.slice(x, [0, 1], [1, 2]),
    "unstack": lambda o, x, y: o.unstack(x, axis=1)[2],
    "threshold": lambda o, x, y: o.threshold(x, 0.1, -1.0),
    "bitwise_and": lambda o, x, y: o.bitwise_and(o.cast(x * 10, "int32"), o.cast(y * 10, "int32")),
    "bitwise_or": lambda o, x, y: o.bitwise_or(o.cast(x * 10, "int32"), o.cast(y * 10, "int32")),
    "bitwise_xor": lambda o, x, y: o.bitwise_xor(o.cast(x * 10, "int32"), o.cast(y * 10, "int32")),
    "bitwise_invert": lambda o, x, y: o.bitwise_invert(o.cast(x * 10, "int32")),
    "left_shift": lambda o, x, y: o.left_shift(o.cast(o.abs(x) * 10, "int32"), 2),
    "right_shift": lambda o, x, y: o.right_shift(o.cast(o.abs(x) * 100, "int32"), 2),
    "gcd": lambda o, x, y: o.gcd(o.cast(o.abs(x[0]) * 20, "int32"), o.cast(o.abs(y[0]) * 20, "int32")),
    "lcm": lambda o, x, y: o.lcm(o.cast(o.abs(x[0]) * 20, "int32") + 1, o.cast(o.abs(y[0]) * 20, "int32") + 1),
    "ldexp": lambda o, x, y: o.ldexp(x, o.cast(y * 3, "int32")),
    "det": lambda o, x, y: o.det(_square(o, x)),
    "inv": lambda o, x, y: o.inv(_square(o, x)),
    "slogdet": lambda o, x, y: o.slogdet(_square(o, x))[1],
    "logdet": lambda o, x, y: o.logdet(_square(o, x)),
    "solve": lambda o, x, y: o.solve(_square(o, x), o.transpose(y)),
    "cholesky": lambda o, x, y: o.cholesky(_square(o, x)),
    "solve_triangular": lambda o, x, y: o.solve_triangular(o.cholesky(_square(o, x)), o.transpose(y), lower=True),
    "max_pool": lambda o, x, y: o.max_pool(o.expand_dims(x, 2), 2),
    "average_pool": lambda o, x, y: o.average_pool(o.expand_dims(x, 2), 2),
    "conv": lambda o, x, y: o.conv(o.expand_dims(x, 2), o.ones((2, 1, 3)) * 0.5),
    "depthwise_conv": lambda o, x, y: o.depthwise_conv(o.expand_dims(x, 2), o.ones((2, 1, 2)) * 0.5),
    "in_top_k": lambda o, x, y: o.in_top_k(o.argmax(y, axis=1), x, 2),
    "digitize": lambda o, x, y: o.digitize(x, [-1.0, 0.0, 1.0]),
    "psnr": lambda o, x, y: o.psnr(o.sigmoid(x), o.sigmoid(y), 1.0),
    "sparse_categorical_crossentropy": lambda o, x, y: o.sparse_categorical_crossentropy(o.argmax(y, axis=1), o.softmax(x)),
    "dot_product_attention": lambda o, x, y: o.dot_product_attention(
        o.reshape(x, (-1, 2, 1, 2)), o.reshape(y, (-1, 2, 1, 2)), o.reshape(x * y, (-1, 2, 1, 2))),
    "segment_sum": lambda o, x, y: o.segment_sum(x, o.cast(o.arange(0, o.shape(x)[0]) // 2, "int32"), num_segments=2),
    "segment_max": lambda o, x, y: o.segment_max(x, o.cast(o.arange(0, o.shape(x)[0]) // 2, "int32"), num_segments=2),
    "batch_normalization": lambda o, x, y: o.batch_normalization(
        x, o.ones((4,)) * 0.5, o.ones((4,)) * 2.0, axis=1, offset=o.ones((4,)) * 0.1, scale=o.ones((4,)) * 1.5),
    "extract_sequences": lambda o, x, y: o.extract_sequences(x, 2, 1),
    "histogram": lambda o, x, y: o.histogram(x[0], bins=3, range=(-2.0, 2.0))[0],
    "bincount": lambda o, x, y: o.bincount(o.cast(o.abs(x) * 3, "int32"), minlength=5),
    "broadcast_to": lambda o, x, y: o.broadcast_to(x[:1], (2, 4)),
    "get_item": lambda o, x, y: x[:, 1:3],
    "nonzero": lambda o, x, y: o.nonzero(x > 0.5)[1],
    "argpartition": lambda o, x, y: o.argpartition(x, 2, axis=1),
    "cross": lambda o, x, y: o.cross(x[:, :3], y[:, :3]),
    "space_to_depth": lambda o, x, y: o.space_to_depth(o.reshape(x, (-1, 2, 2, 1)), 2),
    "depth_to_space": lambda o, x, y: o.depth_to_space(o.reshape(x, (-1, 1, 1, 4)), 2),
    "select": lambda o, x, y: o.select([x > 0.5, x < -0.5], [x, y], 0.0),
    "isin": lambda o, x, y: o.isin(o.cast(x * 3, "int32"), [0, 1, 2]),
    "searchsorted": lambda o, x, y: o.searchsorted([-1.0, 0.0, 1.0], x[0]),
    "adaptive_average_pool": lambda o, x, y: o.adaptive_average_pool(o.expand_dims(x, 2), 2),
    "adaptive_max_pool": lambda o, x, y: o.adaptive_max_pool(o.expand_dims(x, 2), 2),
    "array_split": lambda o, x, y: o.array_split(x, 3, axis=1)[0],
    "blackman": lambda o, x, y: x * o.blackman(4),
    "hamming": lambda o, x, y: x * o.hamming(4),
    "hanning": lambda o, x, y: x * o.hanning(4),
    "kaiser": lambda o, x, y: x * o.kaiser(4, 2.5),
    "bitwise_left_shift": lambda o, x, y: o.bitwise_left_shift(o.cast(o.abs(x) * 10, "int32"), 2),
    "bitwise_right_shift": lambda o, x, y: o.bitwise_right_shift(o.cast(o.abs(x) * 100, "int32"), 2),
    "bitwise_not": lambda o, x, y: o.bitwise_not(o.cast(x * 10, "int32")),
    "cholesky_inverse": lambda o, x, y: o.cholesky_inverse(o.cholesky(_square(o, x))),
    "conv_transpose": lambda o, x, y: o.conv_transpose(o.expand_dims(x, 2), o.ones((2, 3, 1)) * 0.5, 1),
    "correlate": lambda o, x, y: o.correlate(x[0], y[0], mode="full"),
    "dsplit": lambda o, x, y: o.dsplit(o.reshape(x, (-1, 2, 2)), 2)[1],
    "dstack": lambda o, x, y: o.dstack([x, y]),
    "hsplit": lambda o, x, y: o.hsplit(x, 2)[1],
    "vsplit": lambda o, x, y: o.vsplit(o.transpose(x), 2)[1],
    "eigh": lambda o, x, y: o.eigh(_square(o, x))[0],
    "svd": lambda o, x, y: o.svd(_square(o, x), compute_uv=False),
    "qr": lambda o, x, y: o.qr(_square(o, x))[1],
    "lu_factor": lambda o, x, y: o.lu_factor(_square(o, x))[0],
    "lstsq": lambda o, x, y: o.lstsq(_square(o, x), _square(o, y)[:, :2]),
    "fft": lambda o, x, y: o.fft((x, y))[0],
    "fft2": lambda o, x, y: o.fft2((o.reshape(x, (-1, 2, 2)), o.reshape(y, (-1, 2, 2))))[1],
    "ifft2": lambda o, x, y: o.ifft2((o.reshape(x, (-1, 2, 2)), o.reshape(y, (-1, 2, 2))))[0],
    "rfft": lambda o, x, y: o.rfft(x)[1],
    "irfft": lambda o, x, y: o.irfft((x, y)),
    "stft": lambda o, x, y: o.stft(x, 2, 1, 2, center=False)[0],
    "istft": lambda o, x, y: o.istft((o.reshape(x, (-1, 2, 2)), o.reshape(y, (-1, 2, 2))), 2, 1, 2, center=False),
    "fold": lambda o, x, y: o.fold(o.reshape(x[:1], (1, 4, 1)), (2, 2), 2),
    "kron": lambda o, x, y: o.kron(o.reshape(x[0], (2, 2)), o.reshape(y[0], (2, 2))),
    "meshgrid": lambda o, x, y: o.meshgrid(x[0], y[0])[1],
    "polar": lambda o, x, y: o.real(o.polar(o.abs(x), y)),
    "view_as_complex": lambda o, x, y: o.imag(o.view_as_complex(o.stack([x, y], axis=-1))),
    "scatter": lambda o, x, y: o.scatter([[0, 1], [1, 2]], x[0, :2], (2, 4)),
    "scatter_update": lambda o, x, y: o.scatter_update(x, [[0, 1], [0, 3]], y[0, :2]),
    "slice_update": lambda o, x, y: o.slice_update(x, [0, 1], o.ones((1, 2)) * 7.0),
    "segment_min": lambda o, x, y: o.segment_min(x, o.cast(o.arange(0, o.shape(x)[0]) // 2, "int32"), num_segments=2),
    "segment_prod": lambda o, x, y: o.segment_prod(x, o.cast(o.arange(0, o.shape(x)[0]) // 2, "int32"), num_segments=2),
    "separable_conv": lambda o, x, y: o.separable_conv(o.expand_dims(x, 2), o.ones((2, 1, 2)) * 0.5, o.ones((1, 2, 3)) * 0.3),
    "unfold": lambda o, x, y: o.unfold(o.reshape(x[:1], (1, 1, 2, 2)), 2),
    "unravel_index": lambda o, x, y: o.unravel_index(o.cast(o.abs(x[0]) * 3, "int32"), (3, 4))[0],
    "vander": lambda o, x, y: o.vander(x[0]),
    "ctc_decode": lambda o, x, y: o.ctc_decode(
        o.softmax(o.reshape(x, (-1, 2, 2))), o.cast(o.ones((o.shape(x)[0],)) * 2, "int32"))[1],
    "ctc_loss": lambda o, x, y: o.ctc_loss(
        o.cast(o.argmax(o.reshape(y, (-1, 2, 2)), axis=2), "int32"), o.reshape(x, (-1, 2, 2)),
        o.cast(o.ones((o.shape(x)[0],)) * 2, "int32"), o.cast(o.ones((o.shape(x)[0],)) * 2, "int32")),
}


def ops_functions():
    names = []
    for name in sorted(dir(keras.ops)):
        value = getattr(keras.ops, name)
        if name.startswith("_") or name in OPS_SKIPPED or not callable(value) or inspect.isclass(value):
            continue
        names.append(name)
    return names


def ops_inputs(batch):
    rng = np.random.default_rng([fx.SEED, batch, 99])
    return {"x": rng.normal(size=(batch, 4)).astype(np.float32),
            "y": (rng.uniform(0.5, 1.5, size=(batch, 4)) * rng.choice([-1, 1], size=(batch, 4))).astype(np.float32)}


def ops_case(out, names):
    """One signature per keras.ops function that runs deterministically on x (and y)."""
    functions, skipped = [], {}
    sample = {k: tf.constant(v) for k, v in ops_inputs(3).items()}
    for name in names:
        f = getattr(keras.ops, name)
        if name in OPS_CALLS:
            f = (lambda call: lambda x, y: call(keras.ops, x, y))(OPS_CALLS[name])
        chosen = None
        for arity in ((2,) if name in OPS_CALLS else (1, 2)):
            try:
                args = [sample["x"], sample["y"]][:arity]
                first = f(*args)
                second = f(*args)
                if not isinstance(first, tf.Tensor) or first.dtype == tf.string or first.dtype.is_complex:
                    raise TypeError(f"returns {getattr(first, 'dtype', type(first).__name__)}, not a real tensor")
                if not np.array_equal(np.asarray(first), np.asarray(second), equal_nan=True):
                    raise ValueError("not deterministic")
                chosen = arity
                break
            except Exception as e:  # try the next arity; keep the last error for the index
                skipped[name] = one_line(e)
        if chosen is None:
            continue
        skipped.pop(name, None)
        specs = [tf.TensorSpec([None, 4], tf.float32, name="x")]
        if chosen == 2:
            specs.append(tf.TensorSpec([None, 4], tf.float32, name="y"))
        functions.append((name, (lambda f: lambda *a: {"z": f(*a)})(f), specs))
    module, signatures, untraceable = module_with_signatures(functions)
    skipped.update(untraceable)
    arity = {key: len(specs) for key, _, specs in functions}
    for key in list(signatures):
        try:  # every batch size the cases use must run
            for batch in BATCHES:
                values = ops_inputs(batch)
                signatures[key](*[tf.constant(values[k]) for k in ["x", "y"][:arity[key]]])
        except Exception as e:  # recorded in the index
            skipped[key] = one_line(e)
            del signatures[key]
            delattr(module, f"f_{key}")
    tf.saved_model.save(module, out, signatures=signatures)

    def feeds(signature, batch):
        values = ops_inputs(batch)
        return {k: values[k] for k in ["x", "y"][:arity[signature]]}
    return fx.tf2_cases(out, sorted(signatures), feeds), skipped


# ---------------------------------------------------------------------------------------------------
# tf.Module and TF1 idioms

IDIOMS = []


def idiom(function):
    """Registers a tf.Module / TF1 idiom: function(out) exports the SavedModel and returns its cases."""
    IDIOMS.append((function.__name__, function))
    return function


def save_module(module, out, signatures, feeds):
    tf.saved_model.save(module, out, signatures=signatures)
    return fx.tf2_cases(out, sorted(signatures), feeds)


def spec(shape, dtype=tf.float32, name="x"):
    return tf.TensorSpec(shape, dtype, name=name)


def floats(batch, shape, seed=0, scale=1.0):
    return (np.random.default_rng([fx.SEED, batch, seed]).normal(size=(batch,) + tuple(shape)) * scale).astype(np.float32)


@idiom
def variable_gather_scatter(out):
    class M(tf.Module):
        def __init__(self):
            super().__init__()
            self.table = tf.Variable(floats(1, (10, 3), 5)[0])
            self.counts = tf.Variable(tf.zeros([10], tf.float32))

        @tf.function(input_signature=[spec([None], tf.int32, "ids")])
        def gather(self, ids):
            return {"rows": tf.gather(self.table, ids), "rows_nd": tf.gather_nd(self.table, ids[:, None]),
                    "embedding": tf.nn.embedding_lookup(self.table, ids)}

        @tf.function(input_signature=[spec([None], tf.int32, "ids"), spec([None, 3], name="updates")])
        def scatter(self, ids, updates):
            scattered = tf.tensor_scatter_nd_add(tf.zeros([10, 3]), ids[:, None], updates)
            return {"scattered": scattered,
                    "updated": tf.tensor_scatter_nd_update(self.table.read_value(), ids[:1, None], updates[:1])}
    m = M()

    def feeds(sig, batch):
        ids = np.random.default_rng([batch, 3]).integers(0, 10, size=batch).astype(np.int32)
        return {"ids": ids} if sig == "gather" else {"ids": ids, "updates": floats(batch, (3,), 2)}
    return save_module(m, out, {"gather": m.gather, "scatter": m.scatter}, feeds)


@idiom
def strings(out):
    class M(tf.Module):
        @tf.function(input_signature=[spec([None], tf.string, "text")])
        def text(self, text):
            words = tf.strings.split(text)
            return {"words_dense": words.to_tensor(default_value="<pad>"),
                    "word_counts": words.row_lengths(),
                    "replaced": tf.strings.regex_replace(text, "[aeiou]", "_"),
                    "matches": tf.strings.regex_full_match(text, ".*cat.*"),
                    "joined": tf.strings.reduce_join(words, axis=1, separator="+"),
                    "upper": tf.strings.upper(text), "length": tf.strings.length(text),
                    "substr": tf.strings.substr(text, 0, 3), "stripped": tf.strings.strip(text)}

        @tf.function(input_signature=[spec([None], tf.string, "numbers")])
        def numbers(self, numbers):
            value = tf.strings.to_number(numbers, tf.float32)
            whole = tf.strings.regex_replace(numbers, r"\.[0-9]*$", "")
            return {"value": value, "as_int": tf.strings.to_number(whole, tf.int64),
                    "formatted": tf.strings.format("value={}", value[0]),
                    "as_string": tf.strings.as_string(value, precision=2),
                    "joined": tf.strings.join([numbers, numbers], separator=":")}
    m = M()

    def feeds(sig, batch):
        rng = np.random.default_rng([batch, 8])
        if sig == "text":
            return {"text": rng.choice(np.array(fx.SENTENCES, dtype=object), size=batch)}
        return {"numbers": np.array([f"{v:.3f}" for v in rng.normal(size=batch) * 10], dtype=object)}
    return save_module(m, out, {"text": m.text, "numbers": m.numbers}, feeds)


@idiom
def sorting(out):
    class M(tf.Module):
        @tf.function(input_signature=[spec([None, 6])])
        def f(self, x):
            values, indices = tf.math.top_k(x, k=3)
            return {"sorted": tf.sort(x, axis=-1), "descending": tf.sort(x, direction="DESCENDING"),
                    "argsort": tf.argsort(x, axis=-1, stable=True), "top_values": values, "top_indices": indices}
    m = M()
    return save_module(m, out, {"serving_default": m.f}, lambda s, b: {"x": floats(b, (6,), 4)})


@idiom
def image_resize(out):
    methods = ["bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5", "gaussian", "mitchellcubic"]

    class M(tf.Module):
        pass
    m = M()
    signatures = {}
    for method in methods:
        f = tf.function(lambda x, method=method: {
            "up": tf.image.resize(x, [7, 5], method=method), "down": tf.image.resize(x, [3, 2], method=method),
            "padded": tf.image.resize_with_pad(x, 6, 6, method=method)},
            input_signature=[spec([None, 4, 4, 2])])
        setattr(m, method, f)
        signatures[method] = f.get_concrete_function()
    return save_module(m, out, signatures, lambda s, b: {"x": floats(b, (4, 4, 2), 6)})


@idiom
def segments(out):
    class M(tf.Module):
        @tf.function(input_signature=[spec([None, 3]), spec([None], tf.int32, "segment_ids")])
        def f(self, x, segment_ids):
            sorted_ids = tf.sort(segment_ids)
            return {"sum": tf.math.segment_sum(x, sorted_ids), "mean": tf.math.segment_mean(x, sorted_ids),
                    "max": tf.math.segment_max(x, sorted_ids), "min": tf.math.segment_min(x, sorted_ids),
                    "prod": tf.math.segment_prod(x, sorted_ids),
                    "unsorted_sum": tf.math.unsorted_segment_sum(x, segment_ids, 4),
                    "unsorted_max": tf.math.unsorted_segment_max(x, segment_ids, 4),
                    "unsorted_mean": tf.math.unsorted_segment_mean(x, segment_ids, 4)}
    m = M()
    return save_module(m, out, {"serving_default": m.f}, lambda s, b: {
        "x": floats(b, (3,), 7), "segment_ids": np.random.default_rng([b]).integers(0, 4, b).astype(np.int32)})


@idiom
def one_hot_cumulative_einsum(out):
    class M(tf.Module):
        @tf.function(input_signature=[spec([None, 4]), spec([None], tf.int32, "labels")])
        def f(self, x, labels):
            return {"one_hot": tf.one_hot(labels, 5, on_value=2.0, off_value=-1.0),
                    "cumsum": tf.cumsum(x, axis=1), "cumsum_reverse": tf.cumsum(x, axis=1, exclusive=True, reverse=True),
                    "cumprod": tf.math.cumprod(x, axis=1),
                    "einsum_outer": tf.einsum("bi,bj->bij", x, x), "einsum_trace": tf.einsum("bi,bi->b", x, x)}
    m = M()
    return save_module(m, out, {"serving_default": m.f}, lambda s, b: {
        "x": floats(b, (4,), 8), "labels": np.random.default_rng([b, 2]).integers(0, 5, b).astype(np.int32)})


@idiom
def linalg_where(out):
    class M(tf.Module):
        def __init__(self):
            super().__init__()
            self.w = tf.Variable(floats(1, (4, 4), 9)[0])

        @tf.function(input_signature=[spec([None, 4])])
        def f(self, x):
            gram = tf.matmul(x, x, transpose_a=True) + tf.eye(4) * 4.0
            return {"norm": tf.linalg.norm(x, axis=1), "l2_normalized": tf.math.l2_normalize(x, axis=1),
                    "transpose": tf.linalg.matrix_transpose(self.w), "det": tf.linalg.det(gram),
                    "inv": tf.linalg.inv(gram), "diag_part": tf.linalg.diag_part(gram),
                    "band": tf.linalg.band_part(self.w, 0, -1), "trace": tf.linalg.trace(gram),
                    "where": tf.where(x > 0, x, tf.zeros_like(x)),
                    "nonzero": tf.cast(tf.where(x > 0.5), tf.int32)}
    m = M()
    return save_module(m, out, {"serving_default": m.f}, lambda s, b: {"x": floats(b, (4,), 10)})


@idiom
def control_flow_with_variables(out):
    class M(tf.Module):
        def __init__(self):
            super().__init__()
            self.scale = tf.Variable(1.5)
            self.w = tf.Variable(floats(1, (4, 4), 11)[0] * 0.5)

        @tf.function(input_signature=[spec([None, 4]), spec([], tf.int32, "steps")])
        def f(self, x, steps):
            y = tf.cond(tf.reduce_sum(x) > 0, lambda: x * self.scale, lambda: x - self.scale)

            def body(i, h):
                return i + 1, tf.tanh(tf.matmul(h, self.w))
            _, h = tf.while_loop(lambda i, h: i < steps, body, [tf.constant(0), y])
            return {"cond": y, "loop": h}
    m = M()
    return save_module(m, out, {"serving_default": m.f}, lambda s, b: {"x": floats(b, (4,), 12), "steps": np.int32(b + 1)})


@idiom
def ragged_inputs(out):
    class M(tf.Module):
        @tf.function(input_signature=[spec([None], tf.float32, "values"), spec([None], tf.int64, "row_lengths")])
        def f(self, values, row_lengths):
            ragged = tf.RaggedTensor.from_row_lengths(values, row_lengths)
            return {"dense": ragged.to_tensor(), "row_sum": tf.reduce_sum(ragged, axis=1),
                    "row_max": tf.reduce_max(ragged, axis=1), "row_mean": tf.reduce_mean(ragged, axis=1)}
    m = M()

    def feeds(sig, batch):
        lengths = np.random.default_rng([batch, 13]).integers(1, 4, batch).astype(np.int64)
        return {"values": floats(int(lengths.sum()), (), 14).reshape(-1), "row_lengths": lengths}
    return save_module(m, out, {"serving_default": m.f}, feeds)


@idiom
def lookup_tables(out):
    class M(tf.Module):
        def __init__(self):
            super().__init__()
            keys = tf.constant(["cat", "dog", "bird"])
            self.static = tf.lookup.StaticHashTable(
                tf.lookup.KeyValueTensorInitializer(keys, tf.constant([1, 2, 3], tf.int64)), default_value=-1)
            self.mutable = tf.lookup.experimental.MutableHashTable(tf.string, tf.int64, default_value=-1)
            self.mutable.insert(tf.constant(["fish", "cat", "emu"]), tf.constant([10, 20, 30], tf.int64))
            self.dense = tf.lookup.experimental.DenseHashTable(
                tf.int64, tf.float32, default_value=-1.0, empty_key=-1, deleted_key=-2, initial_num_buckets=8)
            self.dense.insert(tf.constant([3, 5], tf.int64), tf.constant([0.5, 1.5]))

        @tf.function(input_signature=[spec([None], tf.string, "words"), spec([None], tf.int64, "ids")])
        def f(self, words, ids):
            return {"static": self.static.lookup(words), "mutable": self.mutable.lookup(words),
                    "mutable_size": self.mutable.size(), "dense": self.dense.lookup(ids)}
    m = M()

    def feeds(sig, batch):
        rng = np.random.default_rng([batch, 15])
        return {"words": rng.choice(np.array(["cat", "dog", "bird", "fish", "emu", "yak"], dtype=object), batch),
                "ids": rng.choice(np.array([3, 5, 7], dtype=np.int64), batch)}
    return save_module(m, out, {"serving_default": m.f}, feeds)


@idiom
def stateless_random(out):
    class M(tf.Module):
        @tf.function(input_signature=[spec([None, 4])])
        def f(self, x):
            shape = tf.shape(x)
            return {"uniform": tf.random.stateless_uniform(shape, seed=[1, 2]),
                    "normal": tf.random.stateless_normal(shape, seed=[3, 4]),
                    "truncated": tf.random.stateless_truncated_normal(shape, seed=[5, 6]),
                    "noised": x + tf.random.stateless_uniform(shape, seed=[7, 8], minval=-0.1, maxval=0.1)}
    m = M()
    return save_module(m, out, {"serving_default": m.f}, lambda s, b: {"x": floats(b, (4,), 16)})


def tf1_export(out, build, feeds_for):
    """build(graph) -> {signature key: SignatureDef}; runs each signature in a Session for the cases."""
    graph = tf.Graph()
    with graph.as_default():
        v1.set_random_seed(fx.SEED)
        signatures = build()
        with v1.Session(graph=graph) as session:
            session.run([v1.global_variables_initializer(), v1.tables_initializer()])
            builder = v1.saved_model.Builder(out)
            builder.add_meta_graph_and_variables(
                session, [v1.saved_model.tag_constants.SERVING], signature_def_map=signatures,
                main_op=v1.tables_initializer(), strip_default_attrs=True)
            builder.save()
    cases = []
    with tf.Graph().as_default() as g, v1.Session(graph=g) as session:
        meta = v1.saved_model.loader.load(session, [v1.saved_model.tag_constants.SERVING], out)
        for key in sorted(meta.signature_def):
            signature = meta.signature_def[key]
            for batch in BATCHES:
                feeds = feeds_for(key, batch)
                result = session.run({k: v.name for k, v in signature.outputs.items()},
                                     {signature.inputs[k].name: v for k, v in feeds.items()})
                inputs = {k: (fx.string_json(v, binary=True) if np.asarray(v).dtype == object else fx.tensor_json(v))
                          for k, v in feeds.items()}
                cases.append({"signature": key, "inputs": inputs,
                              "outputs": {k: fx.tensor_json(result[k]) for k in sorted(result)}})
    return cases


@idiom
def tf1_placeholders_reference_variables(out):
    def build():
        x = v1.placeholder(tf.float32, [None, 4], name="x")
        rate = v1.placeholder_with_default(tf.constant(2.0), [], name="rate")
        w = v1.get_variable("W", [4, 3], initializer=v1.glorot_uniform_initializer(seed=1), use_resource=False)
        counter = v1.get_variable("counter", [], initializer=v1.constant_initializer(3.0), use_resource=False)
        checked = tf.debugging.check_numerics(tf.matmul(x, w), "logits")
        with tf.control_dependencies([tf.debugging.assert_greater(counter, 0.0)]):
            y = tf.identity(checked * rate + counter, name="y")
        return {"serving_default": v1.saved_model.predict_signature_def({"x": x}, {"y": y})}
    return tf1_export(out, build, lambda key, batch: {"x": floats(batch, (4,), 17)})


@idiom
def tf1_parse_example(out):
    def build():
        serialized = v1.placeholder(tf.string, [None], name="examples")
        single = v1.placeholder(tf.string, [], name="example")
        spec = {"x": tf.io.FixedLenFeature([3], tf.float32),
                "tags": tf.io.VarLenFeature(tf.string),
                "id": tf.io.FixedLenFeature([], tf.int64, default_value=7)}
        parsed = tf.io.parse_example(serialized, spec)
        one = tf.io.parse_single_example(single, spec)
        return {
            "batch": v1.saved_model.predict_signature_def(
                {"examples": serialized},
                {"x": parsed["x"], "id": parsed["id"], "tag_count": tf.sparse.reduce_sum(
                    tf.sparse.map_values(tf.strings.length, parsed["tags"]), axis=1)}),
            "single": v1.saved_model.predict_signature_def(
                {"example": single}, {"x": one["x"] * 2.0, "id": one["id"],
                                      "tags": tf.sparse.to_dense(one["tags"], default_value="")}),
        }

    def example(rng, i):
        feature = {"x": tf.train.Feature(float_list=tf.train.FloatList(value=rng.normal(size=3).tolist())),
                    "tags": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"ab", b"cde"][: i % 3]))}
        if i % 2:
            feature["id"] = tf.train.Feature(int64_list=tf.train.Int64List(value=[i * 11]))
        return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString(deterministic=True)

    def feeds(key, batch):
        rng = np.random.default_rng([batch, 18])
        if key == "single":
            return {"example": np.array(example(rng, batch), dtype=object)}
        return {"examples": np.array([example(rng, i) for i in range(batch)], dtype=object)}
    return tf1_export(out, build, feeds)


# ---------------------------------------------------------------------------------------------------


def all_cases():
    """(name, family, build or None, reason when not built)."""
    cases = []
    for name, cls in layer_classes():
        if name in LAYERS_NOT_APPLICABLE:
            cases.append((f"layer_{name}", "keras.layers", None, LAYERS_NOT_APPLICABLE[name]))
            continue
        for export in ("export", "saved_model_save"):
            cases.append((f"layer_{name}_{export}", "keras.layers", layer_case(name, cls, export), None))
    cases.append(("keras_activations", "keras.activations", activations_case, None))
    cases.append(("keras_ops", "keras.ops", None, None))  # built in main (it also reports skipped ops)
    for name, build in IDIOMS:
        cases.append((f"idiom_{name}", "tf1" if name.startswith("tf1") else "tf.Module", build, None))
    return cases


def main():
    args = sys.argv[1:]
    only = None
    if "--only" in args:
        i = args.index("--only")
        only = set(args[i + 1].split(","))
        del args[i:i + 2]
    cases = all_cases()
    if "--list" in args:
        for name, family, _, reason in cases:
            print(f"{family:18} {name}" + (f"  ({reason})" if reason else ""))
        return
    if len(args) != 1:
        sys.exit(__doc__)
    root = args[0]
    os.makedirs(root, exist_ok=True)
    index_path = os.path.join(root, "index.json")
    index = json.load(open(index_path)) if os.path.exists(index_path) else {"cases": {}}
    for name, family, build, reason in cases:
        if only is not None and name not in only:
            continue
        entry = {"family": family}
        print(f"{name}:", flush=True)
        shutil.rmtree(os.path.join(root, name), ignore_errors=True)
        if os.path.exists(os.path.join(root, f"{name}.json")):
            os.remove(os.path.join(root, f"{name}.json"))
        if name == "keras_ops":
            build = lambda out: ops_case(out, ops_functions())  # noqa: E731
        if build is None:
            entry["not_applicable"] = reason
            index["cases"][name] = entry
            write_index(index_path, index)
            continue
        export_dir = os.path.join(root, name, "1")
        try:
            result = build(export_dir)
        except Exception as e:  # TensorFlow could not build or export it: recorded, not fatal
            print(f"  not exported: {one_line(e)}")
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)
            entry["not_exported"] = one_line(e)
            index["cases"][name] = entry
            write_index(index_path, index)
            continue
        if isinstance(result, tuple):
            result, skipped = result
            entry["not_enumerated"] = skipped
        fx.write_json(os.path.join(root, f"{name}.json"), {"cases": result})
        index["cases"][name] = entry
        write_index(index_path, index)
    write_index(index_path, index)


def write_index(path, index):
    """Rewritten after every case, so an interrupted run keeps what it made."""
    index["cases"] = dict(sorted(index["cases"].items()))
    index["versions"] = {"tensorflow": tf.__version__, "keras": keras.__version__}
    fx.write_json(path, index)


if __name__ == "__main__":
    main()
