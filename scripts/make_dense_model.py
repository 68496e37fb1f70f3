#!/usr/bin/env python3
"""A stack of float32 Dense layers exported with Keras 3 `model.export()`, for memory figures on a large model.

Usage: make_dense_model.py OUT_DIR [--layers 4] [--width 4096]
Writes OUT_DIR/dense<width>/1 (the SavedModel) and OUT_DIR/dense<width>.json (its input spec, as
scripts/bench_models.sh writes them). The default is 4 layers of 4096x4096 weights: 268 MB of weights, which
Keras' checkpoint stores twice (537 MB of files).
"""
import argparse
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras  # noqa: E402
from keras import layers  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--width", type=int, default=4096)
    args = parser.parse_args()
    keras.utils.set_random_seed(7)
    name = f"dense{args.width}"
    model = keras.Sequential([keras.Input((args.width,), name="features")]
                             + [layers.Dense(args.width, activation="relu") for _ in range(args.layers)])
    model.export(os.path.join(args.out, name, "1"), verbose=False)
    with open(os.path.join(args.out, name + ".json"), "w") as spec:
        json.dump({"features": [args.width]}, spec)
    print("exported", name)


if __name__ == "__main__":
    main()
