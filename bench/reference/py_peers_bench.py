#!/usr/bin/env python3
"""Python peers of the engine benchmark, from PyPI (scripts/install-bench-peers.sh installs them
into build/venv-bench). One engine per process:

    build/venv-bench/bin/python bench/reference/py_peers_bench.py ENGINE --model DIR --onnx M.onnx
        [--threads 2] [--batches 1,8] [--size 224] [--warmup 1] [--min-iters 3] [--budget 6]
        [--max-call 60] [--quant-dir DIR]

ENGINE:
  openvino_fp32    OpenVINO on the ONNX export, INFERENCE_PRECISION_HINT f32, LATENCY hint
  openvino_bf16    the same with INFERENCE_PRECISION_HINT bf16; the compiled model's own
                   execution_devices / precision properties and the runtime-info precision of the
                   executed MatMul layers are reported, so it is visible whether bf16 really ran
  ortpy_fp32       ONNX Runtime (PyPI) CPU provider on the ONNX export
  ortpy_int8       ONNX Runtime dynamic int8 quantisation (quantize_dynamic, per-channel, QInt8)
  hf_fp32          PyTorch + HF transformers Dinov2Model (pooler_output) in fp32
  hf_bf16          the same under torch.autocast("cpu", dtype=torch.bfloat16)

Threads: OMP/MKL/OPENBLAS_NUM_THREADS before import, plus each runtime's own setting (OpenVINO
INFERENCE_NUM_THREADS, ORT intra_op_num_threads with inter_op 1, torch.set_num_threads).
Timing as the other parts: warm-up, then timed calls until --min-iters and --budget;
images/s = batch / median call time. Last line: one JSON object.
"""
import argparse
import json
import os
import sys
import time


def timed(fn, make_input, batches, a, label):
    results, per_image = {}, 0.0
    for b in batches:
        if per_image * b > a.max_call:
            results[str(b)] = {"batch": b, "skipped": f"estimated {per_image * b:.1f} s per call > --max-call"}
            continue
        x = make_input(b)
        for _ in range(a.warmup):
            fn(x)
        times, t0 = [], time.perf_counter()
        while True:
            s = time.perf_counter()
            fn(x)
            e = time.perf_counter()
            times.append(e - s)
            if len(times) >= a.min_iters and e - t0 >= a.budget:
                break
        times.sort()
        n = len(times)
        med = times[n // 2] if n % 2 else 0.5 * (times[n // 2 - 1] + times[n // 2])
        per_image = med / b
        results[str(b)] = {"batch": b, "iters": n, "median_s": med, "best_s": times[0], "images_per_s": b / med}
        print(f"{label} batch {b}: {b / med:.3f} images/s (median of {n}, best {b / times[0]:.3f})", flush=True)
    return results


def openvino_engine(a, precision):
    import numpy as np
    import openvino as ov
    core = ov.Core()
    model = core.read_model(a.onnx)
    name = model.inputs[0].get_any_name()
    model.reshape({name: ov.PartialShape([-1, 3, a.size, a.size])})
    cfg = {"INFERENCE_NUM_THREADS": a.threads, "PERFORMANCE_HINT": "LATENCY",
           "INFERENCE_PRECISION_HINT": precision, "NUM_STREAMS": 1}
    compiled = core.compile_model(model, "CPU", cfg)
    req = compiled.create_infer_request()
    info = {"version": ov.get_version(), "device": core.get_property("CPU", "FULL_DEVICE_NAME"),
            "capabilities": [str(c) for c in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")],
            "inference_precision_hint": str(compiled.get_property("INFERENCE_PRECISION_HINT")),
            "threads": compiled.get_property("INFERENCE_NUM_THREADS")}
    # Which precision did the executed MatMul/FullyConnected layers run in (the runtime model)?
    counts = {}

    def rt_str(rt, key):
        if key not in rt:
            return "?"
        v = rt[key]
        return str(v.value if hasattr(v, "value") else v)

    for op in compiled.get_runtime_model().get_ordered_ops():
        rt = op.get_rt_info()
        t = rt_str(rt, "layerType")
        if t in ("FullyConnected", "MatMul", "ScaledDotProductAttention", "Convolution"):
            key = f"{t}:{rt_str(rt, 'runtimePrecision')}"
            counts[key] = counts.get(key, 0) + 1
    info["runtime_matmul_precisions"] = counts
    rng = np.random.default_rng(7)
    return (lambda x: req.infer({0: x}),
            lambda b: rng.standard_normal((b, 3, a.size, a.size), dtype=np.float32), info)


def ortpy_engine(a, int8):
    import numpy as np
    import onnxruntime as ort
    path = a.onnx
    if int8:
        from onnxruntime.quantization import QuantType, quantize_dynamic
        qdir = a.quant_dir or os.path.dirname(a.onnx)
        path = os.path.join(qdir, os.path.basename(a.onnx).replace(".onnx", "-dynint8.onnx"))
        if not os.path.exists(path) or os.path.getmtime(path) < os.path.getmtime(a.onnx):
            quantize_dynamic(a.onnx, path, weight_type=QuantType.QInt8, per_channel=True)
    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    rng = np.random.default_rng(7)
    info = {"version": ort.__version__, "model": os.path.basename(path)}
    return (lambda x: sess.run(None, {name: x}),
            lambda b: rng.standard_normal((b, 3, a.size, a.size), dtype=np.float32), info)


def hf_engine(a, bf16):
    import torch
    from transformers import Dinov2Model
    torch.set_num_threads(a.threads)
    model = Dinov2Model.from_pretrained(a.model, local_files_only=True).eval()
    gen = torch.Generator().manual_seed(7)

    def run(x):
        with torch.inference_mode():
            if bf16:
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    return model(pixel_values=x).pooler_output
            return model(pixel_values=x).pooler_output

    import transformers
    info = {"version": f"torch {torch.__version__}, transformers {transformers.__version__}",
            "threads": torch.get_num_threads(), "mkldnn_bf16_supported": torch.ops.mkldnn._is_mkldnn_bf16_supported()}
    return run, lambda b: torch.randn(b, 3, a.size, a.size, generator=gen), info


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("engine", choices=["openvino_fp32", "openvino_bf16", "ortpy_fp32", "ortpy_int8", "hf_fp32", "hf_bf16"])
    ap.add_argument("--model", required=True)
    ap.add_argument("--onnx")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--min-iters", type=int, default=3)
    ap.add_argument("--budget", type=float, default=6.0)
    ap.add_argument("--max-call", type=float, default=60.0)
    ap.add_argument("--quant-dir", help="where the int8 ONNX model is written (default: beside --onnx)")
    a = ap.parse_args()
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(a.threads)
    if a.engine.startswith(("openvino", "ortpy")) and not a.onnx:
        ap.error("--onnx is required for " + a.engine)
    if a.engine.startswith("openvino"):
        fn, make, info = openvino_engine(a, "bf16" if a.engine.endswith("bf16") else "f32")
    elif a.engine.startswith("ortpy"):
        fn, make, info = ortpy_engine(a, a.engine.endswith("int8"))
    else:
        fn, make, info = hf_engine(a, a.engine.endswith("bf16"))
    print(f"{a.engine}: {json.dumps(info)}", flush=True)
    results = timed(fn, make, [int(b) for b in a.batches.split(",")], a, a.engine)
    print(json.dumps({"engine": a.engine, "threads": a.threads, "info": info, "results": results}))


if __name__ == "__main__":
    sys.exit(main())
