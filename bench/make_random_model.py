#!/usr/bin/python3
"""Writes a random-weight DINOv2 model in the Hugging Face layout, for benchmarks.

    /usr/bin/python3 bench/make_random_model.py --size B --out bench/out/models/vitb14-random

The directory gets config.json, model.safetensors (exact HF tensor names) and the
dinov2-base preprocessor_config.json. Weights follow the golden models' recipe
(/work/shared/golden/README.md section 3): linear/conv weights N(0, g/sqrt(fan_in)) with g=1.5
for query/key (so attention is not uniform) and 1 elsewhere, biases N(0, 0.02), LayerNorm
weights 1+U(-0.1, 0.1), LayerScale U(0.1, 1.0), cls/position/register tokens N(0, 0.3).
Random weights are enough for speed: the arithmetic is the same as for the real checkpoint.
Never commit the output (bench/out/ is gitignored).
"""
import argparse
import json
import os
import shutil
import sys

import numpy as np

# name: (hidden_size, layers, heads). The real DINOv2 ViT shapes, plus a tiny one for tests.
SIZES = {
    "tiny": (64, 2, 4),
    "S": (384, 12, 6),
    "B": (768, 12, 12),
    "L": (1024, 24, 16),
}

# preprocessor_config.json of facebook/dinov2-base, used when the golden copy is not available.
DEFAULT_PREPROCESSOR = {
    "crop_size": {"height": 224, "width": 224},
    "do_center_crop": True,
    "do_convert_rgb": True,
    "do_normalize": True,
    "do_rescale": True,
    "do_resize": True,
    "image_mean": [0.485, 0.456, 0.406],
    "image_processor_type": "BitImageProcessor",
    "image_std": [0.229, 0.224, 0.225],
    "resample": 3,
    "rescale_factor": 0.00392156862745098,
    "size": {"shortest_edge": 256},
}


def swiglu_hidden(d, mlp_ratio):
    return (int(int(d * mlp_ratio) * 2 / 3) + 7) // 8 * 8


def make_tensors(d, layers, registers, swiglu, patch, grid, mlp_ratio, rng):
    """Returns the HF state dict as an ordered list of (name, float32 array)."""
    t = []

    def linear(name, n_out, n_in, gain=1.0):
        t.append((name + ".weight", rng.normal(0.0, gain / np.sqrt(n_in), (n_out, n_in))))
        t.append((name + ".bias", rng.normal(0.0, 0.02, (n_out,))))

    def layernorm(name):
        t.append((name + ".weight", 1.0 + rng.uniform(-0.1, 0.1, (d,))))
        t.append((name + ".bias", rng.normal(0.0, 0.02, (d,))))

    t.append(("embeddings.cls_token", rng.normal(0.0, 0.3, (1, 1, d))))
    t.append(("embeddings.mask_token", rng.normal(0.0, 0.02, (1, d))))
    t.append(("embeddings.position_embeddings", rng.normal(0.0, 0.3, (1, grid * grid + 1, d))))
    if registers:
        t.append(("embeddings.register_tokens", rng.normal(0.0, 0.3, (1, registers, d))))
    fan_in = 3 * patch * patch
    t.append(("embeddings.patch_embeddings.projection.weight",
              rng.normal(0.0, 1.0 / np.sqrt(fan_in), (d, 3, patch, patch))))
    t.append(("embeddings.patch_embeddings.projection.bias", rng.normal(0.0, 0.02, (d,))))
    mlp = int(d * mlp_ratio)
    for i in range(layers):
        p = f"encoder.layer.{i}."
        layernorm(p + "norm1")
        linear(p + "attention.attention.query", d, d, 1.5)
        linear(p + "attention.attention.key", d, d, 1.5)
        linear(p + "attention.attention.value", d, d)
        linear(p + "attention.output.dense", d, d)
        t.append((p + "layer_scale1.lambda1", rng.uniform(0.1, 1.0, (d,))))
        layernorm(p + "norm2")
        if swiglu:
            h = swiglu_hidden(d, mlp_ratio)
            linear(p + "mlp.weights_in", 2 * h, d)
            linear(p + "mlp.weights_out", d, h)
        else:
            linear(p + "mlp.fc1", mlp, d)
            linear(p + "mlp.fc2", d, mlp)
        t.append((p + "layer_scale2.lambda1", rng.uniform(0.1, 1.0, (d,))))
    layernorm("layernorm")
    return t


def add_outliers(tensors, d, factor, rng, channels=4):
    """ViT-like activation outliers (as real DINOv2 checkpoints have): a few hidden channels of
    every LayerNorm output are `factor` times larger (LayerNorm weight x factor, the matching input
    columns of Q/K/V and fc1 / factor), and a few MLP hidden units likewise (fc1 rows x factor,
    fc2 columns / factor). The matmul inputs then carry channels 50-100x the rest, which is what
    per-token int8 quantisation finds hard."""
    ln_ch = rng.choice(d, channels, replace=False)
    by_name = dict(tensors)
    for name, a in tensors:
        if name.endswith(("norm1.weight", "norm2.weight")):
            a[ln_ch] *= factor
    for name, a in tensors:
        if name.endswith(("query.weight", "key.weight", "value.weight", "fc1.weight", "weights_in.weight")):
            a[:, ln_ch] /= factor
        if name.endswith("fc1.weight"):
            hid = rng.choice(a.shape[0], channels, replace=False)
            a[hid, :] *= factor
            by_name[name[:-len("fc1.weight")] + "fc1.bias"][hid] *= factor
            by_name[name[:-len("fc1.weight")] + "fc2.weight"][:, hid] /= factor
    return ln_ch


def write_safetensors(path, tensors, dtype):
    np_dtype = {"F32": "<f4", "F16": "<f2"}[dtype]
    header = {"__metadata__": {"format": "pt"}}
    blobs = []
    offset = 0
    for name, a in tensors:
        b = np.ascontiguousarray(a.astype(np_dtype)).tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(len(h).to_bytes(8, "little"))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", default="B", choices=sorted(SIZES), help="ViT size (default B: D=768, 12 layers, 12 heads)")
    ap.add_argument("--out", required=True, help="output model directory (created)")
    ap.add_argument("--seed", type=int, default=2024, help="numpy default_rng seed (default 2024)")
    ap.add_argument("--registers", type=int, default=0, help="register tokens (model_type dinov2_with_registers when > 0)")
    ap.add_argument("--swiglu", action="store_true", help="SwiGLU FFN instead of the GELU MLP")
    ap.add_argument("--dtype", default="F32", choices=["F32", "F16"], help="storage dtype (default F32)")
    ap.add_argument("--outliers", type=float, default=0,
                    help="scale a few channels so some matmul-input activations are this many times the rest "
                         "(e.g. 60; int8 accuracy test, see docs/engine.md)")
    ap.add_argument("--force", action="store_true", help="overwrite an existing model")
    ap.add_argument("--json", action="store_true", help="print a JSON summary")
    args = ap.parse_args(argv)

    d, layers, heads = SIZES[args.size]
    patch, image_size, mlp_ratio = 14, 518, 4
    grid = image_size // patch
    out = args.out
    st_path = os.path.join(out, "model.safetensors")
    if os.path.exists(st_path) and not args.force:
        print(f"{out}: model exists (use --force to overwrite)", file=sys.stderr)
        return 0
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    tensors = make_tensors(d, layers, args.registers, args.swiglu, patch, grid, mlp_ratio, rng)
    if args.outliers > 0:
        add_outliers(tensors, d, args.outliers, rng)
    write_safetensors(st_path, tensors, args.dtype)

    config = {
        "architectures": ["Dinov2WithRegistersModel" if args.registers else "Dinov2Model"],
        "attention_probs_dropout_prob": 0.0,
        "drop_path_rate": 0.0,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.0,
        "hidden_size": d,
        "image_size": image_size,
        "initializer_range": 0.02,
        "layer_norm_eps": 1e-06,
        "layerscale_value": 1.0,
        "mlp_ratio": mlp_ratio,
        "model_type": "dinov2_with_registers" if args.registers else "dinov2",
        "num_attention_heads": heads,
        "num_channels": 3,
        "num_hidden_layers": layers,
        "patch_size": patch,
        "qkv_bias": True,
        "torch_dtype": {"F32": "float32", "F16": "float16"}[args.dtype],
        "use_swiglu_ffn": bool(args.swiglu),
    }
    if args.registers:
        config["num_register_tokens"] = args.registers
        config["interpolate_antialias"] = True
        config["interpolate_offset"] = 0.0
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")

    shared = os.environ.get("VF_SHARED", "/work/shared")
    golden_pp = os.path.join(shared, "golden", "models", "small", "preprocessor_config.json")
    if os.path.exists(golden_pp):
        shutil.copyfile(golden_pp, os.path.join(out, "preprocessor_config.json"))
    else:
        with open(os.path.join(out, "preprocessor_config.json"), "w") as f:
            json.dump(DEFAULT_PREPROCESSOR, f, indent=2)
            f.write("\n")

    n_params = sum(int(a.size) for _, a in tensors)
    summary = {"model_dir": out, "size": args.size, "hidden_size": d, "layers": layers, "heads": heads,
               "params": n_params, "dtype": args.dtype, "seed": args.seed}
    print(json.dumps(summary) if args.json else
          f"wrote {out}: ViT-{args.size}/14 D={d} layers={layers} heads={heads}, {n_params:,} params, {args.dtype}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
