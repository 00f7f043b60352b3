"""index.faiss and color.faiss written by Viewfinder load in Debian's python3-faiss, hold
exactly the catalog ids, and answer searches with the stored embeddings; for each index type
we build (Flat, IVF, HNSW over SQ8)."""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

import faiss
import numpy as np

BIN = os.environ["VF_BIN"]
SHARED = os.environ["VF_SHARED"]
MODEL = f"{SHARED}/golden/models/tiny"
PHOTOS = f"{SHARED}/photos/flowers17/images"


def run(*args):
    p = subprocess.run([BIN, *args], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"{' '.join(args)} failed: {p.stderr}")
    return p.stdout


def check(lib, want_type):
    db = sqlite3.connect(f"file:{lib}/catalog.sqlite3?mode=ro", uri=True)
    rows = db.execute("SELECT id, embedding FROM photos ORDER BY id").fetchall()
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    emb = np.stack([np.frombuffer(r[1], dtype=np.float16).astype(np.float32) for r in rows])
    assert np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=2e-3), "stored embeddings not L2-normalised"

    index = faiss.read_index(f"{lib}/index.faiss")
    assert index.ntotal == len(ids), (index.ntotal, len(ids))
    assert index.metric_type == faiss.METRIC_INNER_PRODUCT
    info = json.loads(run("info", "--library", lib, "--json"))
    assert info["index_type"].split(",")[0].rstrip("0123456789") == want_type.split(",")[0].rstrip("0123456789"), (info, want_type)
    # Every photo finds itself first (exact for Flat; for IVF/HNSW at these sizes too).
    D, I = index.search(emb, 1)
    hits = (I[:, 0] == ids).mean()
    assert hits >= (1.0 if want_type == "Flat" else 0.95), f"{want_type}: self-hit rate {hits}"
    if want_type == "Flat":
        assert np.allclose(D[:, 0], (emb * emb).sum(1), atol=1e-4)
        returned = set(index.search(emb, len(ids))[1].ravel().tolist())
        assert returned == set(ids.tolist()), "Flat index ids != catalog ids"

    color = faiss.read_index(f"{lib}/color.faiss")
    assert color.ntotal == len(ids)
    hist = np.stack([np.frombuffer(r[0], dtype=np.float32) for r in
                     db.execute("SELECT color_hist FROM photos ORDER BY id").fetchall()])
    assert hist.shape[1] == 512 and np.allclose(hist.sum(1), 1.0, atol=1e-3)
    D, I = color.search(np.sqrt(hist), 1)
    assert (I[:, 0] == ids).mean() >= 0.9  # identical histograms tie among near-duplicates
    assert np.allclose(D[:, 0], 1.0, atol=1e-3), "sqrt(hist) must be unit vectors (Bhattacharyya)"
    print(f"ok {want_type}: {len(ids)} vectors, python faiss {faiss.__version__}")


tmp = tempfile.mkdtemp(prefix="vf-lib-pyfaiss-")
try:
    photos = f"{tmp}/photos"
    os.makedirs(photos)
    for name in sorted(os.listdir(PHOTOS))[:80]:
        shutil.copy(f"{PHOTOS}/{name}", photos)
    for factory in ["Flat", "IVF8,Flat", "HNSW32,SQ8"]:
        lib = f"{tmp}/lib-{factory.replace(',', '_')}"
        run("index", photos, "--library", lib, "--model", MODEL, "--index-type", factory, "--quiet")
        check(lib, factory)
    # Deleting photos keeps index == catalog (remove_ids for Flat/IVF, rebuild for HNSW).
    for name in sorted(os.listdir(photos))[:5]:
        os.remove(f"{photos}/{name}")
    for factory in ["Flat", "IVF8,Flat", "HNSW32,SQ8"]:
        lib = f"{tmp}/lib-{factory.replace(',', '_')}"
        out = json.loads(run("index", photos, "--library", lib, "--model", MODEL, "--json").strip().splitlines()[-1])
        assert out["deleted"] == 5 and out["embedded"] == 0, out
        check(lib, factory)
finally:
    shutil.rmtree(tmp)
