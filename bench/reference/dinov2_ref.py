"""A small PyTorch reference DINOv2 (HF Dinov2Model / Dinov2WithRegistersModel), for benchmarks.

It loads a Hugging Face model directory (config.json + model.safetensors) by the exact HF tensor
names and runs the forward pass of /work/shared/golden/README.md section 5: patch conv, CLS, bicubic
position-embedding interpolation (antialiased for dinov2_with_registers), registers, pre-norm blocks
with eager attention, LayerScale, exact-erf GELU MLP or SwiGLU, final LayerNorm. The benchmark uses
it as the "Python pipeline" peer and exports it to ONNX for ONNX Runtime; tests/integration/
bench_reference.py checks it against the goldens so the peers compute the same thing as Viewfinder.

Only needs Debian's python3-torch and python3-numpy (no transformers, no safetensors package).
"""
import json
import math
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def load_safetensors(path):
    """Reads a .safetensors file into {name: float32 numpy array} (F16/BF16 upcast exactly)."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError(f"{path}: too short for a safetensors file")
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        raise ValueError(f"{path}: header length {n} exceeds the file size")
    header = json.loads(raw[8:8 + n])
    data = memoryview(raw)[8 + n:]
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        a, b = meta["data_offsets"]
        shape = meta["shape"]
        dt = meta["dtype"]
        buf = data[a:b]
        if dt == "F32":
            arr = np.frombuffer(buf, dtype="<f4")
        elif dt == "F16":
            arr = np.frombuffer(buf, dtype="<f2").astype(np.float32)
        elif dt == "BF16":
            arr = (np.frombuffer(buf, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise ValueError(f"{path}: tensor {name} has unsupported dtype {dt}")
        out[name] = arr.reshape(shape).astype(np.float32, copy=True)
    return out


class Block(nn.Module):
    def __init__(self, d, heads, mlp_hidden, swiglu, eps):
        super().__init__()
        self.heads = heads
        self.d = d
        self.hd = d // heads  # Python ints, so the ONNX graph gets constants, not Shape arithmetic
        self.scale = float(self.hd) ** -0.5
        self.swiglu = swiglu
        self.norm1 = nn.LayerNorm(d, eps=eps)
        self.query = nn.Linear(d, d)
        self.key = nn.Linear(d, d)
        self.value = nn.Linear(d, d)
        self.proj = nn.Linear(d, d)
        self.lambda1 = nn.Parameter(torch.ones(d))
        self.norm2 = nn.LayerNorm(d, eps=eps)
        if swiglu:
            self.fc1 = nn.Linear(d, 2 * mlp_hidden)
            self.fc2 = nn.Linear(mlp_hidden, d)
        else:
            self.fc1 = nn.Linear(d, mlp_hidden)
            self.fc2 = nn.Linear(mlp_hidden, d)
        self.lambda2 = nn.Parameter(torch.ones(d))

    def forward(self, x):
        b, t = x.shape[0], x.shape[1]
        a = self.norm1(x)
        q = self.query(a).reshape(b, t, self.heads, self.hd).transpose(1, 2)
        k = self.key(a).reshape(b, t, self.heads, self.hd).transpose(1, 2)
        v = self.value(a).reshape(b, t, self.heads, self.hd).transpose(1, 2)
        att = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) * self.scale, dim=-1)
        o = torch.matmul(att, v).transpose(1, 2).reshape(b, t, self.d)
        x = x + self.lambda1 * self.proj(o)
        m = self.norm2(x)
        if self.swiglu:
            g, up = self.fc1(m).chunk(2, dim=-1)
            m = self.fc2(F.silu(g) * up)
        else:
            m = self.fc2(F.gelu(self.fc1(m)))  # exact erf GELU, as HF "gelu"
        return x + self.lambda2 * m


class Dinov2Ref(nn.Module):
    """forward(pixel_values [B,3,H,W]) -> (last_hidden_state [B,T,D], pooler_output [B,D])."""

    def __init__(self, config, legacy_interpolate_offset=False):
        super().__init__()
        self.config = config
        self.model_type = config.get("model_type", "dinov2")
        if self.model_type not in ("dinov2", "dinov2_with_registers"):
            raise ValueError(f"config.json: unsupported model_type {self.model_type!r}")
        d = config["hidden_size"]
        self.d = d
        self.patch = config.get("patch_size", 14)
        self.grid = config.get("image_size", 518) // self.patch
        self.registers = config.get("num_register_tokens", 0) if self.model_type == "dinov2_with_registers" else 0
        self.antialias = self.model_type == "dinov2_with_registers"
        self.legacy = legacy_interpolate_offset
        eps = config.get("layer_norm_eps", 1e-6)
        swiglu = bool(config.get("use_swiglu_ffn", False))
        ratio = config.get("mlp_ratio", 4)
        if swiglu:
            hidden = (int(int(d * ratio) * 2 / 3) + 7) // 8 * 8
        else:
            hidden = int(d * ratio)
        self.patch_embed = nn.Conv2d(3, d, self.patch, stride=self.patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, d))
        self.pos_embed = nn.Parameter(torch.zeros(1, self.grid * self.grid + 1, d))
        self.register_tokens = nn.Parameter(torch.zeros(1, max(self.registers, 1), d))
        self.blocks = nn.ModuleList(
            Block(d, config["num_attention_heads"], hidden, swiglu, eps) for _ in range(config["num_hidden_layers"]))
        self.norm = nn.LayerNorm(d, eps=eps)
        # When set (by fix_input_size), the interpolated position table is a constant: the ONNX
        # export then bakes it in, as the spec's 224 px pipeline does.
        self.fixed_pos = None

    # -- weights ------------------------------------------------------------------------------
    def load_hf_state(self, sd):
        def take(name):
            if name not in sd:
                raise KeyError(f"model.safetensors: missing tensor {name}")
            return torch.from_numpy(sd[name])

        with torch.no_grad():
            self.patch_embed.weight.copy_(take("embeddings.patch_embeddings.projection.weight"))
            self.patch_embed.bias.copy_(take("embeddings.patch_embeddings.projection.bias"))
            self.cls_token.copy_(take("embeddings.cls_token"))
            self.pos_embed.copy_(take("embeddings.position_embeddings"))
            if self.registers:
                self.register_tokens.copy_(take("embeddings.register_tokens"))
            for i, blk in enumerate(self.blocks):
                p = f"encoder.layer.{i}."
                pairs = [
                    (blk.norm1, "norm1"), (blk.norm2, "norm2"),
                    (blk.query, "attention.attention.query"), (blk.key, "attention.attention.key"),
                    (blk.value, "attention.attention.value"), (blk.proj, "attention.output.dense"),
                ]
                if blk.swiglu:
                    pairs += [(blk.fc1, "mlp.weights_in"), (blk.fc2, "mlp.weights_out")]
                else:
                    pairs += [(blk.fc1, "mlp.fc1"), (blk.fc2, "mlp.fc2")]
                for mod, name in pairs:
                    w = take(p + name + ".weight")
                    if tuple(w.shape) != tuple(mod.weight.shape):
                        raise ValueError(f"model.safetensors: {p + name}.weight has shape {list(w.shape)}, "
                                         f"expected {list(mod.weight.shape)}")
                    mod.weight.copy_(w)
                    mod.bias.copy_(take(p + name + ".bias"))
                blk.lambda1.copy_(take(p + "layer_scale1.lambda1"))
                blk.lambda2.copy_(take(p + "layer_scale2.lambda1"))
            self.norm.weight.copy_(take("layernorm.weight"))
            self.norm.bias.copy_(take("layernorm.bias"))

    # -- position embeddings --------------------------------------------------------------------
    def interpolated_pos(self, height, width):
        h, w = height // self.patch, width // self.patch
        pos = self.pos_embed
        if h * w == self.grid * self.grid and height == width:
            return pos
        cls_pos, patch_pos = pos[:, :1], pos[:, 1:]
        grid = patch_pos.reshape(1, self.grid, self.grid, self.d).permute(0, 3, 1, 2).float()
        if self.legacy:
            grid = F.interpolate(grid, scale_factor=((h + 0.1) / self.grid, (w + 0.1) / self.grid),
                                 mode="bicubic", align_corners=False)
        else:
            grid = F.interpolate(grid, size=(h, w), mode="bicubic", align_corners=False,
                                 antialias=self.antialias)
        grid = grid.permute(0, 2, 3, 1).reshape(1, h * w, self.d)
        return torch.cat([cls_pos, grid.to(pos.dtype)], dim=1)

    def fix_input_size(self, height, width):
        """Freezes the position table for one input size (used for the ONNX export)."""
        with torch.no_grad():
            self.fixed_pos = self.interpolated_pos(height, width).detach().clone()
        self.fixed_hw = (height, width)

    # -- forward --------------------------------------------------------------------------------
    def embeddings(self, x):
        b = x.shape[0]
        e = self.patch_embed(x).flatten(2).transpose(1, 2)
        e = torch.cat([self.cls_token.expand(b, -1, -1), e], dim=1)
        if self.fixed_pos is not None:
            e = e + self.fixed_pos
        else:
            e = e + self.interpolated_pos(x.shape[2], x.shape[3])
        if self.registers:
            e = torch.cat([e[:, :1], self.register_tokens.expand(b, -1, -1), e[:, 1:]], dim=1)
        return e

    def forward(self, x):
        e = self.embeddings(x)
        for blk in self.blocks:
            e = blk(e)
        last = self.norm(e)
        return last, last[:, 0]


def load_model(model_dir, legacy_interpolate_offset=False):
    cfg_path = os.path.join(model_dir, "config.json")
    with open(cfg_path) as f:
        config = json.load(f)
    model = Dinov2Ref(config, legacy_interpolate_offset)
    model.load_hf_state(load_safetensors(os.path.join(model_dir, "model.safetensors")))
    model.eval()
    return model


def gflop_per_image(config, height=224, width=224):
    """Multiply-adds x2 of the matrix products (patch conv, QKV/proj/MLP, attention)."""
    d = config["hidden_size"]
    p = config.get("patch_size", 14)
    n = (height // p) * (width // p)
    regs = config.get("num_register_tokens", 0) if config.get("model_type") == "dinov2_with_registers" else 0
    t = 1 + regs + n
    if config.get("use_swiglu_ffn"):
        h = (int(int(d * config.get("mlp_ratio", 4)) * 2 / 3) + 7) // 8 * 8
        ffn = 3 * d * h
    else:
        ffn = 2 * d * int(d * config.get("mlp_ratio", 4))
    per_layer = t * (4 * d * d + ffn) + 2 * t * t * d
    total = config["num_hidden_layers"] * per_layer + n * 3 * p * p * d
    return 2.0 * total / 1e9


if __name__ == "__main__":
    import sys
    m = load_model(sys.argv[1])
    with torch.inference_mode():
        last, pooled = m(torch.randn(1, 3, 224, 224))
    print(last.shape, pooled.shape, f"{gflop_per_image(m.config):.2f} GFLOP/image at 224")
