"""HDF5 export in the spec's layout (features [N,D] float32, UTF-8 paths, metadata), read
with h5py; import back (ours and a Python-prototype-style file) into a searchable library;
bad files give one-line errors."""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

import h5py
import numpy as np

BIN = os.environ["VF_BIN"]
SHARED = os.environ["VF_SHARED"]
MODEL = f"{SHARED}/golden/models/tiny"
PHOTOS = f"{SHARED}/photos/flowers17/images"


def run(*args, ok=True):
    p = subprocess.run([BIN, *args], capture_output=True, text=True)
    if ok and p.returncode != 0:
        sys.exit(f"{' '.join(args)} failed: {p.stderr}")
    return p


tmp = tempfile.mkdtemp(prefix="vf-lib-hdf5-")
try:
    photos = f"{tmp}/photos ü"  # non-ASCII path: paths must round-trip as UTF-8
    os.makedirs(photos)
    for name in sorted(os.listdir(PHOTOS))[:30]:
        shutil.copy(f"{PHOTOS}/{name}", photos)
    lib = f"{tmp}/lib"
    run("index", photos, "--library", lib, "--model", MODEL, "--quiet")
    out = f"{tmp}/features.h5"
    res = json.loads(run("export", "--library", lib, "--hdf5", out, "--json").stdout)
    assert res["exported"] == 30, res

    with h5py.File(out, "r") as f:
        feats = f["features"][:]
        assert feats.dtype == np.float32 and feats.shape == (30, 64), (feats.dtype, feats.shape)
        assert np.allclose(np.linalg.norm(feats, axis=1), 1.0, atol=2e-3)
        paths = [p.decode() if isinstance(p, bytes) else p for p in f["paths"][:]]
        assert all(p.startswith(photos + "/") for p in paths), paths[:2]
        ids = f["ids"][:]
        for name in ["capture_unix", "make", "model", "width", "height", "gps_lat", "gps_lon", "format", "content_hash"]:
            assert f[name].shape == (30,), name
        assert (f["width"][:] > 0).all()
        assert f.attrs["pooling"] in ("cls", b"cls")
        model_id = f.attrs["model_id"]
    db = sqlite3.connect(f"file:{lib}/catalog.sqlite3?mode=ro", uri=True)
    for i, p in zip(ids, paths):
        blob, path = db.execute("SELECT embedding, path FROM photos WHERE id=?", (int(i),)).fetchone()
        assert path == p
    emb0 = np.frombuffer(db.execute("SELECT embedding FROM photos WHERE id=?", (int(ids[0]),)).fetchone()[0], np.float16)
    assert np.allclose(emb0.astype(np.float32), feats[0], atol=1e-6)

    # Import into a fresh library: searchable (index built), same vectors.
    lib2 = f"{tmp}/lib2"
    res = json.loads(run("import", "--library", lib2, "--hdf5", out, "--json").stdout)
    assert res["imported"] == 30 and res["index_vectors"] == 30, res
    info = json.loads(run("info", "--library", lib2, "--json").stdout)
    assert info["embedded"] == 30 and info["dim"] == 64 and info["model_id"] == (model_id.decode() if isinstance(model_id, bytes) else model_id), info

    # An imported library searches by image without --model when the exporter's model
    # directory exists here (recorded at import), and otherwise names the flag (issue 11).
    query = f"{tmp}/query.jpg"  # not in the library: it must be embedded with the model
    shutil.copy(f"{photos}/{sorted(os.listdir(photos))[0]}", query)
    q = run("search", "--library", lib2, query, "-k", "3", "--json")
    assert len(json.loads(q.stdout)["hits"]) == 3, q.stdout
    db2 = sqlite3.connect(f"{lib2}/catalog.sqlite3")
    db2.execute("DELETE FROM meta WHERE key='model_dir'")
    db2.commit()
    db2.close()
    q = run("search", "--library", lib2, query, "-k", "3", ok=False)
    assert q.returncode != 0 and "--model DIR" in q.stderr, q.stderr
    q = run("search", "--library", lib2, query, "-k", "3", "--model", MODEL, "--json")
    assert len(json.loads(q.stdout)["hits"]) == 3, q.stdout

    # A file name that is not UTF-8: the UTF-8 dataset holds U+FFFD forms (h5py reads it), the
    # exact bytes are in paths_bytes, and import restores them (issue 14.6).
    raw_dir = f"{tmp}/raw"
    os.makedirs(raw_dir)
    raw_name = os.fsencode(raw_dir) + b"/caf\xe9.jpg"
    shutil.copy(f"{PHOTOS}/{sorted(os.listdir(PHOTOS))[0]}", raw_name)
    libr = f"{tmp}/libr"
    run("index", raw_dir, "--library", libr, "--model", MODEL, "--quiet")
    outr = f"{tmp}/raw.h5"
    run("export", "--library", libr, "--hdf5", outr)
    with h5py.File(outr, "r") as f:
        shown = f["paths"][0]
        shown = shown.decode() if isinstance(shown, bytes) else shown
        assert shown.endswith("caf\ufffd.jpg"), shown
        assert bytes(f["paths_bytes"][0]) == raw_name, f["paths_bytes"][0]
    libr2 = f"{tmp}/libr2"
    run("import", "--library", libr2, "--hdf5", outr)
    dbr = sqlite3.connect(f"file:{libr2}/catalog.sqlite3?mode=ro", uri=True)
    dbr.text_factory = bytes
    assert dbr.execute("SELECT path FROM photos").fetchone()[0] == raw_name

    # A file as the Python prototype wrote it: features (not normalised) + fixed-length paths.
    proto = f"{tmp}/proto.h5"
    with h5py.File(proto, "w") as f:
        f["features"] = (feats * 3.0).astype(np.float32)
        f["paths"] = np.array([p.encode() for p in paths], dtype="S")
    lib3 = f"{tmp}/lib3"
    res = json.loads(run("import", "--library", lib3, "--hdf5", proto, "--json").stdout)
    assert res["imported"] == 30, res
    db3 = sqlite3.connect(f"file:{lib3}/catalog.sqlite3?mode=ro", uri=True)
    e = np.frombuffer(db3.execute("SELECT embedding FROM photos WHERE path=?", (paths[3],)).fetchone()[0], np.float16)
    assert np.allclose(e.astype(np.float32), feats[3], atol=2e-3), "import must L2-normalise"

    # Bad inputs: one-line errors, exit 1.
    bad = f"{tmp}/bad.h5"
    with h5py.File(bad, "w") as f:
        f["features"] = feats
    p = run("import", "--library", f"{tmp}/lib4", "--hdf5", bad, ok=False)
    assert p.returncode == 1 and "paths" in p.stderr and p.stderr.count("\n") == 1, p.stderr
    with open(f"{tmp}/not.h5", "w") as f:
        f.write("hello")
    p = run("import", "--library", f"{tmp}/lib4", "--hdf5", f"{tmp}/not.h5", ok=False)
    assert p.returncode == 1 and "not an HDF5 file" in p.stderr, p.stderr
    wrong_dim = f"{tmp}/wrong.h5"
    with h5py.File(wrong_dim, "w") as f:
        f["features"] = np.ones((2, 10), np.float32)
        f["paths"] = np.array([b"/a.jpg", b"/b.jpg"])
    p = run("import", "--library", lib, "--hdf5", wrong_dim, ok=False)
    assert p.returncode == 1 and "dimensions" in p.stderr, p.stderr
    print("ok: export/import round trip, prototype file, bad inputs")
finally:
    shutil.rmtree(tmp)
