#!/usr/bin/python3
"""The benchmark's peers compute what Viewfinder computes.

1. bench/reference/dinov2_ref.py (the PyTorch reference DINOv2 that stands in for the Python
   pipeline and is exported to ONNX) reproduces every golden model case (tiny, tiny-registers,
   tiny-swiglu, small; 224, non-square, 518, zeros, legacy interpolation) within 3e-5 max-abs on
   last_hidden_state and pooler_output.
2. bench/make_random_model.py writes the golden models' tensor names, shapes and config.
3. The reference module's ONNX export of `tiny` at 224 px, run through onnxruntime-node (the ORT peer), gives the
   golden outputs too. Skipped with a message when node or onnxruntime-node is missing.

Env: VF_SHARED (the shared test data), VF_SOURCE_DIR (the repo).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch

SRC = os.environ.get("VF_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
SHARED = os.environ.get("VF_SHARED", "/work/shared")
GOLDEN = os.path.join(SHARED, "golden")
sys.path.insert(0, os.path.join(SRC, "bench", "reference"))
import dinov2_ref  # noqa: E402

TOL = 3e-5
failures = []


def check(case_id, name, got, want):
    got = np.asarray(got, dtype=np.float32)
    if got.shape != want.shape:
        failures.append(f"{case_id} {name}: shape {list(got.shape)} != golden {list(want.shape)}")
        return
    err = float(np.max(np.abs(got - want)))
    status = "ok" if err <= TOL else "FAIL"
    print(f"  {case_id:45s} {name:18s} max_abs {err:.2e} {status}")
    if err > TOL:
        failures.append(f"{case_id} {name}: max_abs {err:.3e} > {TOL}")


def main():
    manifest_path = os.path.join(GOLDEN, "manifest.json")
    if not os.path.exists(manifest_path):
        print(f"{manifest_path}: missing (set VF_SHARED)", file=sys.stderr)
        return 1
    with open(manifest_path) as f:
        manifest = json.load(f)
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    models = {}
    n_cases = 0
    with torch.inference_mode():
        for case in manifest["model_cases"]:
            legacy = case["pos_embed_interpolation"] == "legacy_offset0.1"
            key = (case["model"], legacy)
            if key not in models:
                models[key] = dinov2_ref.load_model(os.path.join(GOLDEN, case["model_dir"]), legacy)
            x = torch.from_numpy(np.load(os.path.join(GOLDEN, case["input"]["file"])))
            last, pooled = models[key](x)
            for name, got in (("last_hidden_state", last), ("pooler_output", pooled)):
                want = np.load(os.path.join(GOLDEN, case["expected"][name]["file"]))
                check(case["id"], name, got.numpy(), want)
            n_cases += 1
    if n_cases < 10:
        failures.append(f"only {n_cases} model cases found in the manifest")

    # bench/make_random_model.py writes the HF layout: the same tensor names and shapes as the
    # golden models (which follow the Hub checkpoints), for the plain, registers and SwiGLU kinds.
    sys.path.insert(0, os.path.join(SRC, "bench"))
    import make_random_model
    with tempfile.TemporaryDirectory() as tmp:
        for golden_name, extra in (("tiny", []), ("tiny-registers", ["--registers", "4"]),
                                   ("tiny-swiglu", ["--swiglu"])):
            out_dir = os.path.join(tmp, golden_name)
            make_random_model.main(["--size", "tiny", "--out", out_dir, "--seed", "5"] + extra)
            made = dinov2_ref.load_safetensors(os.path.join(out_dir, "model.safetensors"))
            gold = dinov2_ref.load_safetensors(os.path.join(GOLDEN, "models", golden_name, "model.safetensors"))
            made_shapes = {k: v.shape for k, v in made.items()}
            gold_shapes = {k: v.shape for k, v in gold.items()}
            if made_shapes != gold_shapes:
                diff = sorted(set(made_shapes.items()) ^ set(gold_shapes.items()))[:5]
                failures.append(f"make_random_model {golden_name}: tensors differ from the golden model: {diff}")
            with open(os.path.join(out_dir, "config.json")) as f:
                cfg = json.load(f)
            with open(os.path.join(GOLDEN, "models", golden_name, "config.json")) as f:
                gcfg = json.load(f)
            for key in ("model_type", "hidden_size", "num_hidden_layers", "num_attention_heads", "patch_size",
                        "image_size", "mlp_ratio", "layer_norm_eps", "use_swiglu_ffn", "qkv_bias"):
                if cfg.get(key) != gcfg.get(key):
                    failures.append(f"make_random_model {golden_name}: config {key}={cfg.get(key)!r}, "
                                    f"golden {gcfg.get(key)!r}")
            with torch.inference_mode():
                last, _ = dinov2_ref.load_model(out_dir)(torch.zeros(1, 3, 224, 224))
            if not torch.isfinite(last).all():
                failures.append(f"make_random_model {golden_name}: non-finite outputs")
            print(f"  make_random_model --size tiny {' '.join(extra):16s} matches {golden_name}'s tensor layout")

    # The ONNX export through onnxruntime-node.
    node = shutil.which("node")
    ort_dir = os.path.join(SRC, "tools", "node", "node_modules", "onnxruntime-node")
    if not node or not os.path.isdir(ort_dir):
        print("SKIP onnx check: node or tools/node/node_modules/onnxruntime-node missing "
              "(scripts/install-node-tools.sh)")
    else:
        sys.path.insert(0, os.path.join(SRC, "bench", "reference"))
        import export_onnx
        with tempfile.TemporaryDirectory() as tmp:
            onnx_path = os.path.join(tmp, "tiny.onnx")
            export_onnx.export(os.path.join(GOLDEN, "models", "tiny"), onnx_path, 224, 224)
            case_id = "tiny/rand_2x3x224x224"
            case = next(c for c in manifest["model_cases"] if c["id"] == case_id)
            out_prefix = os.path.join(tmp, "ort_out")
            cmd = [node, os.path.join(SRC, "bench", "reference", "ort_bench.js"), "--model", onnx_path,
                   "--run-npy", os.path.join(GOLDEN, case["input"]["file"]), "--out-prefix", out_prefix,
                   "--threads", "2"]
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
            if r.returncode != 0:
                failures.append(f"ort_bench.js --run-npy failed: {r.stderr.strip()[-500:]}")
            else:
                for name in ("last_hidden_state", "pooler_output"):
                    got = np.load(f"{out_prefix}.{name}.npy")
                    want = np.load(os.path.join(GOLDEN, case["expected"][name]["file"]))
                    check("onnxruntime-node " + case_id, name, got, want)

    if failures:
        print("FAILED:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    print(f"PASS: reference DINOv2 matches {n_cases} golden cases within {TOL}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
