#!/usr/bin/python3
"""PyTorch peer of the engine benchmark: the reference DINOv2 (dinov2_ref.py) in fp32.

    /usr/bin/python3 bench/reference/torch_bench.py MODEL_DIR [--threads 2] [--batches 1,8]
        [--size 224] [--warmup 1] [--min-iters 3] [--budget 6] [--max-call 60]

It stands in for the spec's Python pipeline (HF transformers is not installed here; the module
computes the same thing, see tests/integration/bench_reference.py). Thread count is set through
OPENBLAS/OMP/MKL_NUM_THREADS before torch is imported and torch.set_num_threads; the forward runs
under torch.inference_mode. Timing as ort_bench.js: images/s = batch / median run time.
Last line: one JSON object.
"""
import argparse
import json
import os
import subprocess
import sys
import time


def openblas_core_name():
    """The kernel set OpenBLAS picks here (probed in a child, so this process loads it later)."""
    code = ("import ctypes\n"
            "l = ctypes.CDLL('libopenblas.so.0'); l.openblas_get_corename.restype = ctypes.c_char_p\n"
            "print(l.openblas_get_corename().decode())")
    try:
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
        return r.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def fix_openblas_core():
    """Debian's OpenBLAS 0.3.21 does not know newer Xeons (e.g. model 207) and falls back to its
    SSE3 "Prescott" kernels, 3-4x slower than its AVX-512 ones. A fair peer gets the kernels
    its CPU supports, so pick them from the CPU flags unless the user chose OPENBLAS_CORETYPE."""
    if os.environ.get("OPENBLAS_CORETYPE"):
        return os.environ["OPENBLAS_CORETYPE"], "OPENBLAS_CORETYPE set by the caller"
    detected = openblas_core_name()
    if detected and detected.lower() in ("prescott", "core2", "nehalem", "katmai", "generic"):
        try:
            with open("/proc/cpuinfo") as f:
                flags = next((ln.split(":", 1)[1].split() for ln in f if ln.startswith("flags")), [])
        except OSError:
            flags = []
        choice = "SkylakeX" if "avx512f" in flags else "Haswell" if "avx2" in flags else None
        if choice:
            os.environ["OPENBLAS_CORETYPE"] = choice
            return choice, f"OpenBLAS detected {detected}; forced {choice} from the CPU flags"
    return detected, "as detected by OpenBLAS"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model_dir")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--min-iters", type=int, default=3)
    ap.add_argument("--budget", type=float, default=6.0, help="seconds of timed runs per batch size")
    ap.add_argument("--max-call", type=float, default=60.0,
                    help="skip batch sizes estimated to take longer per call (bounds the run time)")
    args = ap.parse_args()

    # The BLAS and OpenMP pools size themselves when torch loads, so set these first.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    blas_core, blas_note = fix_openblas_core()
    import torch
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import dinov2_ref

    torch.set_num_threads(args.threads)
    model = dinov2_ref.load_model(args.model_dir)
    gen = torch.Generator().manual_seed(7)
    results = {}
    with torch.inference_mode():
        per_image = 0.0
        for b in [int(x) for x in args.batches.split(",")]:
            if per_image * b > args.max_call:
                results[str(b)] = {"batch": b, "skipped": f"estimated {per_image * b:.1f} s per call > --max-call"}
                print(f"pytorch_fp32 batch {b}: skipped (estimated {per_image * b:.1f} s per call)", flush=True)
                continue
            x = torch.randn(b, 3, args.size, args.size, generator=gen)
            for _ in range(args.warmup):
                model(x)
            times = []
            t0 = time.perf_counter()
            while True:
                s = time.perf_counter()
                model(x)
                e = time.perf_counter()
                times.append(e - s)
                if len(times) >= args.min_iters and e - t0 >= args.budget:
                    break
            times.sort()
            n = len(times)
            med = times[n // 2] if n % 2 else 0.5 * (times[n // 2 - 1] + times[n // 2])
            per_image = med / b
            results[str(b)] = {"batch": b, "iters": n, "median_s": med, "best_s": times[0],
                               "images_per_s": b / med}
            print(f"pytorch_fp32 batch {b}: {b / med:.3f} images/s (median of {n}, best {b / times[0]:.3f})",
                  flush=True)
    print(json.dumps({"engine": "pytorch_fp32", "version": torch.__version__, "threads": torch.get_num_threads(),
                      "openblas_core": blas_core, "openblas_note": blas_note, "results": results}))


if __name__ == "__main__":
    main()
