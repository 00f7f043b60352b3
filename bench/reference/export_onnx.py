#!/usr/bin/python3
"""Exports the reference DINOv2 (dinov2_ref.py) to ONNX for the ONNX Runtime peer.

    /usr/bin/python3 bench/reference/export_onnx.py MODEL_DIR OUT.onnx [--size 224] [--pooler-only]

Opset 17, exact-erf GELU (exported as Div/Erf/Add/Mul, which ORT fuses into its Gelu kernel),
LayerNormalization ops, eager attention, and the position embedding for the chosen input size
interpolated once in PyTorch and baked into the graph as a constant (the spec's pipeline runs at
224 px only). The batch axis is dynamic. Input `pixel_values` [B,3,S,S]; outputs `pooler_output`
[B,D] and, unless --pooler-only, `last_hidden_state` [B,T,D].
"""
import argparse
import os
import sys
import warnings

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dinov2_ref  # noqa: E402


class _PoolerOnly(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        return self.m(x)[1]


def export(model_dir, out_path, height=224, width=224, pooler_only=False, opset=17):
    model = dinov2_ref.load_model(model_dir)
    model.fix_input_size(height, width)
    dummy = torch.randn(2, 3, height, width)
    if pooler_only:
        module, outputs = _PoolerOnly(model), ["pooler_output"]
        axes = {"pixel_values": {0: "batch"}, "pooler_output": {0: "batch"}}
    else:
        module, outputs = model, ["last_hidden_state", "pooler_output"]
        axes = {"pixel_values": {0: "batch"}, "last_hidden_state": {0: "batch"}, "pooler_output": {0: "batch"}}
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    tmp = out_path + ".tmp"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about shape-dependent Python ints
        torch.onnx.export(module, (dummy,), tmp, opset_version=opset, input_names=["pixel_values"],
                          output_names=outputs, dynamic_axes=axes, do_constant_folding=True)
    os.replace(tmp, out_path)
    return out_path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model_dir")
    ap.add_argument("out")
    ap.add_argument("--size", type=int, default=224, help="input height = width in pixels (default 224)")
    ap.add_argument("--pooler-only", action="store_true", help="only the pooler_output output")
    args = ap.parse_args()
    export(args.model_dir, args.out, args.size, args.size, args.pooler_only)
    import onnx
    m = onnx.load(args.out, load_external_data=False)
    ops = sorted({n.op_type for n in m.graph.node})
    print(f"wrote {args.out}: opset {m.opset_import[0].version}, {len(m.graph.node)} nodes, ops {' '.join(ops)}")


if __name__ == "__main__":
    main()
