"""Several machines embedding one library, read back by a reader (docs/scale.md "A reader").

One real Milvus (scripts/milvus.sh), a small photo set (flowers, camera JPEGs with EXIF):
  1. three shard workers `index --shard i/3` into collection `sharded`, one worker without
     shards into collection `single`, all with the golden tiny model;
  2. `mirror` makes a reader of each collection: `sharded` holds every photo exactly once
     (Milvus's own count == photos == catalog rows, so no path twice);
  3. `serve --reader` on each, and a plain `serve` on the single worker's own library: the
     same /api/search answers (paths, scores within 1e-5, order) for uploaded queries, with
     and without a filter, and for a filter the reader resolves through Milvus's fields;
  4. the reader's files: thumbnails and previews made on demand from the shared path; a row
     whose file lies outside --root, and a photo swapped for a symlink, are refused (403);
     a new photo appears by the periodic sync (--refresh-s), which logs one summary line;
     POST /api/index syncs too;
  4b. --path-map: a reader that sees the photos in another folder (hard links) stores and
     serves the mapped paths under its --root; a row mapped outside --root is 403; bad maps
     are refused; the map is remembered, replaced (every row re-mapped) and removed;
  5. a reader refuses another model (its id differs from the one the collection records),
     refuses to index, and a worker with another model is refused by the collection; a
     library without --shard (index, migrate --to) is refused by the workers' collection,
     which keeps every photo;
  6. HDF5 export of a Milvus library and import into a new Milvus library: same searches;
  7. the web UI on a reader in real Chromium (tests/browser/milvus_reader.test.js).
Exit 77 (ctest SKIP) without the Milvus backend.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration", "server_support"))
import harness as H  # noqa: E402

ROOT = os.environ.get("VF_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("VF_BUILD_DIR") or os.path.join(ROOT, "build")
MILVUS_SH = os.path.join(ROOT, "scripts", "milvus.sh")
OTHER_MODEL = os.path.join(H.VF_SHARED, "golden", "models", "tiny-registers")


def vf(*args, check=True):
    r = subprocess.run([H.VF_BIN, *args], capture_output=True, text=True, timeout=900)
    if check and r.returncode != 0:
        sys.exit(f"viewfinder {' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r


def fnv1a(text):
    h = 1469598103934665603
    for c in text.encode():
        h = ((h ^ c) * 1099511628211) % (1 << 64)
    return h


def hits(server, image, query=None):
    with open(image, "rb") as f:
        data = f.read()
    fields = {"query": json.dumps(query)} if query else {}
    st, _, body = H.post_multipart("/api/search", fields, [("image", "q.jpg", data, "image/jpeg")], port=server.port)
    if st != 200:
        sys.exit(f"search on port {server.port} gave {st}: {body}")
    return [(h["path"], h["score"]) for h in body["hits"]]


def same_answers(a, b):
    """Same paths in the same order, scores within 1e-5; photos with equal scores may swap
    (ties are ordered by id, and ids differ between libraries)."""
    if len(a) != len(b):
        return False
    for (pa, sa), (pb, sb) in zip(a, b):
        if abs(sa - sb) > 1e-5:
            return False
    return sorted(a, key=lambda h: (round(h[1], 4), h[0])) == sorted(b, key=lambda h: (round(h[1], 4), h[0]))


def path_mapping(c, tmp, sharded, photos, outside, rows, servers, ra_hits, query):
    """A reader that sees the workers' folders elsewhere (--path-map): a second tree of hard
    links, so that only a mapped path lies under its --root; a row mapped outside --root
    stays refused."""
    other, outside2 = os.path.join(tmp, "other"), os.path.join(tmp, "outside2")
    subprocess.run(["cp", "-al", photos, other], check=True)
    subprocess.run(["cp", "-al", outside, outside2], check=True)
    rdir = f"{tmp}/rE"
    for bad, why in (("photos", "FROM=TO"), (f"photos={other}", "absolute"), ("=/x", "FROM=TO")):
        r = vf("mirror", "--library", rdir, "--store", sharded, "--path-map", bad, check=False)
        c.check(r.returncode != 0 and why in r.stderr, f"--path-map {bad} is refused: {r.stderr.strip()}")
    m = json.loads(vf("mirror", "--library", rdir, "--store", sharded, "--model", H.TINY_MODEL, "--path-map",
                      f"{photos}=/nowhere", "--json").stdout)
    c.check(m["added"] == rows and m["rows_read"] == rows and m["path_map"] == [{"from": photos, "to": "/nowhere"}],
            f"mirror --json with a path map: {m}")
    # serve --reader with another map: it replaces the remembered one, every row re-mapped
    re_ = H.Server(rdir, "--reader", "--root", other, "--path-map", f"{photos}={other}", "--path-map",
                   f"{outside}={outside2}")
    servers.append(re_)
    c.check(f"{rows} photos (0 added, {rows} changed, 0 removed)" in re_.log_text(),
            "a new --path-map re-maps every row at the next sync")
    listed = json.loads(H.request("GET", "/api/photos?k=100", port=re_.port)[2])["photos"]
    c.check(len(listed) == rows and all(p["path"].startswith((other + "/", outside2 + "/")) for p in listed),
            "the catalog holds the mapped paths")
    mapped = next(p for p in listed if p["path"].startswith(other + "/"))
    for kind in ("thumb", "original"):
        st, _, body = H.request("GET", f"/api/photos/{mapped['id']}/{kind}", port=re_.port)
        c.check(st == 200 and len(body) > 1000, f"the mapped reader serves the {kind} under --root ({st})")
    away = next(p for p in listed if p["path"].startswith(outside2 + "/"))
    st, _, _ = H.request("GET", f"/api/photos/{away['id']}/original", port=re_.port)
    c.check(st == 403, f"a row mapped outside --root is still refused ({st})")
    c.check([(p.replace(photos, other, 1), s) for p, s in ra_hits] == hits(re_, query),
            "the mapped reader answers a search as the unmapped one, at the mapped paths")
    re_.stop()
    again = json.loads(vf("mirror", "--library", rdir, "--json").stdout)
    c.check(again["changed"] == 0 and len(again["path_map"]) == 2, f"the reader remembers its map: {again}")
    again = json.loads(vf("mirror", "--library", rdir, "--path-map", "none", "--json").stdout)
    c.check(again["changed"] == rows and again["path_map"] == [], "--path-map none maps the paths back")
    # two worker files sent to one path here: refused, and the map is not kept
    flowers = os.path.join(photos, "flowers")
    r = vf("mirror", "--library", rdir, "--path-map", f"{flowers}/image_0001.jpg=/x/same.jpg", "--path-map",
           f"{flowers}/image_0002.jpg=/x/same.jpg", check=False)
    c.check(r.returncode != 0 and "path of another" in r.stderr, f"a map onto one path is refused: {r.stderr.strip()}")
    again = json.loads(vf("mirror", "--library", rdir, "--json").stdout)
    c.check(again["path_map"] == [] and again["photos"] == rows, f"the refused map was not kept: {again}")


def main():
    if not os.environ.get("VF_MILVUS_CLIENT_TEST"):
        print("SKIP: this build has no Milvus backend (VF_MILVUS=OFF)")
        sys.exit(77)
    H.require_env()
    c = H.Checks()
    tmp = tempfile.mkdtemp(prefix="vf-milvus-reader-")
    data = os.path.join(BUILD, "milvus-reader-test-data")
    shutil.rmtree(data, ignore_errors=True)
    env = dict(os.environ)
    port = 19581
    while subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True).stdout.strip():
        port += 1
    env["VF_MILVUS_PORT"] = str(port)
    servers = []
    t0 = time.time()
    try:
        addr = subprocess.run(["bash", MILVUS_SH, "start", data], env=env, capture_output=True, text=True,
                              check=True).stdout.strip().splitlines()[-1]
        print(f"Milvus up at {addr} after {time.time() - t0:.0f} s")
        sharded, single = f"milvus://{addr}/sharded", f"milvus://{addr}/single"
        photos = H.make_photo_dir(tmp, flowers=24, cameras=8, dupes=False)
        n_photos = sum(len(f) for _, _, f in os.walk(photos))

        # 1. three shard workers (in parallel, as on three machines) and one worker alone
        t = time.time()
        procs = [subprocess.Popen([H.VF_BIN, "index", photos, "--library", f"{tmp}/w{i}", "--model", H.TINY_MODEL,
                                   "--store", sharded, "--shard", f"{i}/3", "-q"]) for i in range(3)]
        c.check(all(p.wait(timeout=900) == 0 for p in procs), "three shard workers indexed")
        print(f"  3 workers: {time.time() - t:.1f} s")
        t = time.time()
        vf("index", photos, "--library", f"{tmp}/single", "--model", H.TINY_MODEL, "--store", single, "-q")
        print(f"  1 worker: {time.time() - t:.1f} s")

        # 2. readers of both collections
        m = json.loads(vf("mirror", "--library", f"{tmp}/rA", "--store", sharded, "--model", H.TINY_MODEL,
                          "--json").stdout)
        info = json.loads(vf("info", "--library", f"{tmp}/rA", "--json").stdout)
        c.check(m["photos"] == n_photos and m["added"] == n_photos,
                f"the sharded collection holds {m['photos']} rows for {n_photos} photos")
        c.check(info["index_vectors"] == n_photos, f"Milvus counts {info['index_vectors']} in the sharded collection")
        c.check(info["photos"] == n_photos and info["embedded"] == n_photos and info["reader"],
                f"the reader's catalog has {info['photos']} rows, one per path (path is unique there)")
        c.check(m["model_id"].startswith("tiny") or "@" in m["model_id"], f"the collection records the model ({m['model_id']})")
        again = json.loads(vf("mirror", "--library", f"{tmp}/rA", "--json").stdout)
        c.check(m["features"] == n_photos and m["features_failed"] == 0,
                f"the first sync made the colour features of every photo from its file ({m['features']})")
        c.check(again["added"] == 0 and again["changed"] == 0 and again["removed"] == 0 and again["features"] == 0,
                "a second sync with nothing new writes nothing and reads no file")
        vf("mirror", "--library", f"{tmp}/rB", "--store", single, "--model", H.TINY_MODEL)

        # 3. the same answers from reader A, reader B and the single worker's own library
        ra = H.Server(f"{tmp}/rA", "--reader", "--root", photos, "--model", H.TINY_MODEL, "--refresh-s", "2")
        servers.append(ra)
        rb = H.Server(f"{tmp}/rB", "--reader", "--root", photos, "--model", H.TINY_MODEL,
                      "--web-root", os.path.join(ROOT, "web", "dist"))
        servers.append(rb)
        own = H.Server(f"{tmp}/single", "--root", photos)
        servers.append(own)
        queries = [os.path.join(photos, "flowers", n) for n in ("image_0003.jpg", "image_0085.jpg")]
        queries.append(os.path.join(photos, "cameras", sorted(os.listdir(os.path.join(photos, "cameras")))[0]))
        filters = [None, {"k": 8, "filters": {"folder": os.path.join(photos, "flowers")}},
                   {"k": 8, "filters": {"format": "jpeg", "path_prefix": os.path.join(photos, "cameras")}}]
        for q in queries:
            for f in filters:
                a, b, o = hits(ra, q, f), hits(rb, q, f), hits(own, q, f)
                what = f"{os.path.basename(q)} {'with ' + json.dumps(f['filters']) if f else 'no filter'}"
                c.check(len(a) > 0 and same_answers(a, b), f"reader of 3 shards == reader of 1 worker: {what}")
                c.check(same_answers(a, o), f"reader of 3 shards == the worker's own library: {what}")
        st, _, body = H.request("GET", "/api/photos?make=" + "a&k=100", port=ra.port)
        st2, _, body2 = H.request("GET", "/api/photos?make=a&k=100", port=own.port)
        c.check(st == 200 and json.loads(body)["matched"] == json.loads(body2)["matched"],
                "a camera filter matches as many photos on the reader as on the worker's library")
        # File times come through the collection: a date filter that counts them matches alike
        # (most sample photos have no capture time, only a file time).
        url = "/api/photos?date_from=1971-01-01&include_file_times=1&k=100"
        got = [json.loads(H.request("GET", url, port=srv.port)[2])["matched"] for srv in (ra, own)]
        c.check(got[0] == got[1] == n_photos, f"a date filter over file times matches alike on the reader: {got}")

        # Colour search and the colour blend: the reader made the histograms from the files
        # with the workers' decode, so it answers as the worker's own library does.
        for colors in (["#ffcc00"], ["#2a6e1f", "#f5f5f5"]):
            answers = []
            for srv in (ra, own):
                st, body = H.post_json("/api/search/color", {"colors": colors, "k": 10}, port=srv.port)
                answers.append([(h["path"], h["score"]) for h in (body or {}).get("hits", [])] if st == 200 else [])
            c.check(len(answers[0]) == 10 and same_answers(*answers),
                    f"colour search {colors}: the reader answers as the worker's library")
        blend = {"k": 8, "alpha": 0.6, "colors": ["#ffcc00"]}
        a, o = hits(ra, queries[0], blend), hits(own, queries[0], blend)
        c.check(len(a) == 8 and same_answers(a, o), "an image query blended with a colour: the same answers")

        # 4. files from the shared path, under --root only
        listed = json.loads(H.request("GET", "/api/photos?k=100", port=ra.port)[2])["photos"]
        first = listed[0]["id"]
        for kind in ("thumb", "preview", "original"):
            st, hd, body = H.request("GET", f"/api/photos/{first}/{kind}", port=ra.port)
            c.check(st == 200 and len(body) > 1000, f"reader serves the {kind} of photo {first} ({st}, {len(body)} B)")
        st, _, body = H.request("GET", f"/api/photos/{first}", port=ra.port)
        c.check(st == 200 and json.loads(body)["path"].startswith(photos), "reader gives the photo's metadata")
        # A worker indexes a file outside the reader's --root (worker 0 takes the names that
        # hash to 0 mod 3 when the file itself is the root).
        outside = os.path.join(tmp, "outside")
        os.makedirs(outside)
        name = next(f"out_{i}.jpg" for i in range(100) if fnv1a(f"out_{i}.jpg") % 3 == 0)
        shutil.copy2(os.path.join(photos, "flowers", "image_0001.jpg"), os.path.join(outside, name))
        with open(os.path.join(outside, name), "ab") as fh:
            fh.write(b"\0")  # new bytes: embedded, not taken as a copy
        vf("index", photos, os.path.join(outside, name), "--library", f"{tmp}/w0", "--model", H.TINY_MODEL,
           "--shard", "0/3", "-q")
        for _ in range(300):  # --refresh-s 2: the server syncs on its own
            if json.loads(H.request("GET", "/api/stats", port=ra.port)[2])["library"]["photos"] == n_photos + 1:
                break
            time.sleep(0.1)
        c.check(json.loads(H.request("GET", "/api/stats", port=ra.port)[2])["library"]["photos"] == n_photos + 1,
                "the periodic sync (--refresh-s) brought in the worker's new photo")
        st, _, _ = H.request("POST", "/api/index", port=ra.port, body=b"{}", headers={"Content-Type": "application/json"})
        for _ in range(100):  # (409 while a periodic sync runs)
            if st == 202:
                break
            time.sleep(0.1)
            st, _, _ = H.request("POST", "/api/index", port=ra.port, body=b"{}",
                                 headers={"Content-Type": "application/json"})
        c.check(st == 202, f"POST /api/index starts the reader's sync ({st})")
        for _ in range(600):
            s = json.loads(H.request("GET", "/api/index/status", port=ra.port)[2])
            if not s["running"]:
                break
            time.sleep(0.1)
        c.check(s["last_error"] == "" and s["last_report"]["scanned"] == n_photos + 1 and s["last_report"]["added"] == 0,
                f"the sync reports the collection's rows, nothing new: {s['last_report']}")
        out = json.loads(H.request("GET", "/api/photos?path_prefix=" + outside + "&k=5", port=ra.port)[2])["photos"]
        c.check(len(out) == 1, "the reader lists the photo outside --root")
        if out:
            for path in ("", "/thumb", "/preview", "/original"):
                st, _, _ = H.request("GET", f"/api/photos/{out[0]['id']}{path}", port=ra.port)
                c.check(st == 403, f"a row outside --root is refused: /api/photos/N{path} -> {st}")
        # A photo swapped for a symlink to a file outside the roots.
        victim = next(p for p in listed if p["path"].endswith(".jpg") and p["id"] != first)
        os.replace(victim["path"], victim["path"] + ".bak")
        os.symlink("/etc/hostname", victim["path"])
        for path in ("/original", "/thumb?size=512"):
            st, _, _ = H.request("GET", f"/api/photos/{victim['id']}{path}", port=ra.port)
            c.check(st == 403, f"a photo swapped for a symlink out of --root is refused: {path} -> {st}")
        os.replace(victim["path"] + ".bak", victim["path"])
        log = ra.log_text()
        c.check(f"reader sync of {sharded} finished: {n_photos + 1} photos (" in log,
                "each periodic sync logs its summary in one line")
        t = time.time()
        path_mapping(c, tmp, sharded, photos, outside, n_photos + 1, servers, hits(ra, queries[0]), queries[0])
        print(f"  path mapping: {time.time() - t:.1f} s")

        # 5. the model and the roles
        r = vf("mirror", "--library", f"{tmp}/rC", "--store", sharded, "--model", OTHER_MODEL, check=False)
        c.check(r.returncode != 0 and "model" in r.stderr, f"a reader with another model is refused: {r.stderr.strip()}")
        r = vf("serve", "--library", f"{tmp}/rD", "--reader", "--store", sharded, check=False)
        c.check(r.returncode != 0 and "--root" in r.stderr, "serve --reader without --root is refused")
        r = vf("index", photos, "--library", f"{tmp}/rA", "--model", H.TINY_MODEL, check=False)
        c.check(r.returncode != 0 and "reader" in r.stderr, "a reader refuses to index")
        r = vf("migrate", "--library", f"{tmp}/rA", "--to", "faiss", check=False)
        c.check(r.returncode != 0 and "reader" in r.stderr, "a reader keeps its collection (migrate refused)")
        # A library without --shard must not take the workers' collection: indexing would overwrite
        # their ids and its resync remove them. Refused, and the collection keeps every photo.
        t = time.time()
        r = vf("index", os.path.join(photos, "cameras"), "--library", f"{tmp}/lone", "--model", H.TINY_MODEL,
               "--store", sharded, check=False)
        c.check(r.returncode != 0 and "did not write" in r.stderr and "--shard" in r.stderr and "mirror" in r.stderr,
                f"a library without --shard refuses the workers' collection: {r.stderr.strip()[-200:]}")
        r = vf("migrate", "--library", f"{tmp}/single", "--to", sharded, check=False)
        c.check(r.returncode != 0 and "did not write" in r.stderr, "migrating a library into it is refused too")
        c.check(json.loads(vf("info", "--library", f"{tmp}/single", "--json").stdout)["index_type"] == single,
                "the refused migrate left the library on its own collection")
        again = json.loads(vf("mirror", "--library", f"{tmp}/rF", "--store", sharded, "--json").stdout)
        c.check(again["photos"] == n_photos + 1 and again["added"] == n_photos + 1,
                f"the workers' collection keeps every photo after the refusals: {again}")
        print(f"  refusals of a library without --shard: {time.time() - t:.1f} s")
        # Only worker 0 of a split has written, and a library without --shard numbers its photos
        # past worker 0's ids: the ids cannot tell them apart, the split the collection records can.
        t = time.time()
        zero = f"milvus://{addr}/zero"
        vf("index", os.path.join(photos, "cameras"), "--library", f"{tmp}/z0", "--model", H.TINY_MODEL,
           "--store", zero, "--shard", "0/2", "-q")
        z0 = json.loads(vf("info", "--library", f"{tmp}/z0", "--json").stdout)["index_vectors"]
        vf("index", photos, "--library", f"{tmp}/many", "--model", H.TINY_MODEL, "-q")  # FAISS, ids 1..n
        r = vf("migrate", "--library", f"{tmp}/many", "--to", zero, check=False)
        c.check(r.returncode != 0 and "did not write" in r.stderr and "--shard I/2" in r.stderr,
                f"a library without --shard refuses worker 0's collection: {r.stderr.strip()[-200:]}")
        r = vf("index", os.path.join(photos, "cameras"), "--library", f"{tmp}/z3", "--model", H.TINY_MODEL,
               "--store", zero, "--shard", "1/3", check=False)
        c.check(r.returncode != 0 and "split them 2 ways" in r.stderr,
                f"a worker of another split is refused: {r.stderr.strip()[-200:]}")
        kept = json.loads(vf("mirror", "--library", f"{tmp}/rZ", "--store", zero, "--json").stdout)
        c.check(z0 > 0 and kept["photos"] == z0, f"worker 0's collection keeps its {z0} photos: {kept}")
        print(f"  refusals by the recorded split: {time.time() - t:.1f} s")
        r = vf("index", photos, "--library", f"{tmp}/w9", "--model", OTHER_MODEL, "--store", single, check=False)
        c.check(r.returncode != 0 and "one model" in r.stderr,
                f"a worker with another model is refused by the collection: {r.stderr.strip()[-160:]}")

        # 6. HDF5 export of a Milvus library, import into another Milvus library
        vf("export", "--hdf5", os.path.join(tmp, "single.h5"), "--library", f"{tmp}/single")
        vf("import", "--hdf5", os.path.join(tmp, "single.h5"), "--library", f"{tmp}/imported", "--store",
           f"milvus://{addr}/imported")
        info = json.loads(vf("info", "--library", f"{tmp}/imported", "--json").stdout)
        c.check(info["index_vectors"] == n_photos and info["index_type"] == f"milvus://{addr}/imported",
                f"HDF5 import into Milvus: {info['index_vectors']} vectors in {info['index_type']}")
        imp = H.Server(f"{tmp}/imported", "--root", photos, "--model", H.TINY_MODEL)
        servers.append(imp)
        for q in queries[:2]:
            c.check(same_answers(hits(imp, q), hits(own, q)), f"imported library answers as the exported one: {os.path.basename(q)}")

        # 7. the web UI on a reader (real Chromium)
        node_modules = os.path.join(ROOT, "tools", "node", "node_modules")
        if shutil.which("node") and os.path.exists("/usr/bin/chromium") and os.path.isdir(
                os.path.join(node_modules, "playwright-core")):
            shots = os.path.join(BUILD, "artifacts", "screenshots")
            r = subprocess.run(["node", os.path.join(ROOT, "tests", "browser", "milvus_reader.test.js")],
                               env={**os.environ, "BASE_URL": f"http://127.0.0.1:{rb.port}", "QUERY_IMAGE": queries[0],
                                    "FOLDER": os.path.join(photos, "flowers"), "SCREENSHOT_DIR": shots,
                                    "NODE_PATH": node_modules}, capture_output=True, text=True, timeout=300)
            print(r.stdout + r.stderr)
            c.check(r.returncode == 0, "the web UI searches, filters and opens a photo on a reader (Chromium)")
        else:
            print("  note: no node/chromium/playwright-core: the browser part did not run")
        print(f"total {time.time() - t0:.0f} s")
    finally:
        for s in servers:
            if c.failures:
                print(f"---- server log (port {s.port}, tail) ----\n{s.log_text()[-2000:]}")
            s.stop()
        subprocess.run(["bash", MILVUS_SH, "stop", data], env=env, capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    c.finish()


if __name__ == "__main__":
    main()
