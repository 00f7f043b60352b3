"""The JSON API of `viewfinder serve` against a real server on loopback and a real library
(indexed with the golden tiny model): search by upload, ids, colours, presets and filters,
photos and their files, duplicates, clusters, stats, indexing progress and re-indexing."""
import os
import shutil
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "server_support"))
import harness as H  # noqa: E402


def main():
    H.require_env()
    c = H.Checks()
    tmp = tempfile.mkdtemp(prefix="vf-server-api-")
    try:
        photos = H.make_photo_dir(tmp)
        lib = os.path.join(tmp, "lib")
        H.index_library(lib, photos)
        with H.Server(lib, "--max-concurrent", "2") as srv:
            run(c, srv, photos)
            api_contract(c, srv, lib)
            c.check(srv.alive(), "server still answers after the whole API run")
            log = srv.log_text()
            c.check("GET /api/stats 200" in log and "ms" in log, "request log has method, path, status, latency")
            c.finish(srv)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(c, srv, photos):
    p = srv.port
    st, health = H.get_json("/api/health", port=p)
    c.check(st == 200 and health["status"] == "ok" and health["photos"] == 35, f"health: 35 photos ({health})")

    st, stats = H.get_json("/api/stats", port=p)
    c.check(st == 200 and stats["library"]["photos"] == 35 and stats["library"]["embedded"] == 35,
            "stats: library counts")
    c.check(any(f["value"].endswith("/flowers") and f["count"] == 24 for f in stats["facets"]["folders"]),
            "stats: folder facet with counts")
    c.check(len(stats["facets"]["cameras"]) >= 3 and all("label" in x for x in stats["facets"]["cameras"]),
            "stats: camera facet")
    c.check(stats["server"]["queue"]["max_concurrent"] == 2, "stats: queue limits reported")

    # ---- photos: list (filters alone, newest first), detail, files ----
    st, lst = H.get_json("/api/photos?k=100", port=p)
    c.check(st == 200 and len(lst["photos"]) == 35, "GET /api/photos lists every photo")
    ids = {x["name"]: x["id"] for x in lst["photos"]}
    times = [x["capture_time"] for x in lst["photos"] if x["capture_time"]]
    c.check(times == sorted(times, reverse=True), "photos listed newest first")
    st, page2 = H.get_json("/api/photos?k=10&offset=10", port=p)
    c.check([x["id"] for x in page2["photos"]] == [x["id"] for x in lst["photos"][10:20]], "paging with offset")
    cam = stats["facets"]["cameras"][0]
    st, byc = H.get_json("/api/photos?k=100&model=" + H_quote(cam["value"]), port=p)
    c.check(st == 200 and len(byc["photos"]) == cam["count"] and all(cam["value"].lower() in x["model"].lower() for x in byc["photos"]),
            f"camera filter returns only {cam['value']}")
    # A dropdown's value matches exactly ("=" prefix), and every facet count adds up (issue 11).
    for cam_ in stats["facets"]["cameras"]:
        st, ex = H.get_json("/api/photos?k=100&model=" + H_quote("=" + cam_["value"]), port=p)
        c.check(st == 200 and len(ex["photos"]) == cam_["count"] and all(x["model"] == cam_["value"] for x in ex["photos"]),
                f"exact camera filter ={cam_['value']}: {len(ex['photos'])} of {cam_['count']}")
    c.check(isinstance(stats["facets"].get("lenses"), list), "stats: a lens facet for the UI's lens filter")
    for lens_ in stats["facets"]["lenses"]:
        st, ex = H.get_json("/api/photos?k=100&lens=" + H_quote("=" + lens_["value"]), port=p)
        c.check(st == 200 and len(ex["photos"]) == lens_["count"], f"exact lens filter ={lens_['value']}")
    st, none = H.get_json("/api/photos?k=10&make=no-such-make&format=jpeg", port=p)
    c.check(st == 200 and none["photos"] == [] and {"filter": "make=no-such-make", "matched": 0} in none["filter_matches"],
            f"no results names the filter: {none.get('filter_matches')}")
    folder = next(f["value"] for f in stats["facets"]["folders"] if f["value"].endswith("/cameras"))
    st, byf = H.get_json("/api/photos?k=100&folder=" + H_quote(folder), port=p)
    c.check(st == 200 and len(byf["photos"]) == 6 and all(x["folder"] == folder for x in byf["photos"]), "folder filter")

    fid = ids["image_0001.jpg"]
    st, det = H.get_json(f"/api/photos/{fid}", port=p)
    c.check(st == 200 and det["name"] == "image_0001.jpg" and det["width"] > 0 and "content_hash" in det
            and det["thumb_url"] == f"/api/photos/{fid}/thumb", "photo detail")
    cam_photo = byc["photos"][0]
    st, camdet = H.get_json(f"/api/photos/{cam_photo['id']}", port=p)
    c.check(camdet["make"] != "" and camdet["capture_time"] != "", "EXIF fields in photo detail")
    st, h, body = H.request("GET", f"/api/photos/{fid}/thumb", port=p)
    c.check(st == 200 and h["content-type"] == "image/jpeg" and body[:3] == b"\xff\xd8\xff", "thumbnail is a JPEG")
    st, h, body = H.request("GET", f"/api/photos/{fid}/preview", port=p)
    c.check(st == 200 and body[:3] == b"\xff\xd8\xff", "preview is a JPEG")
    st, h, body = H.request("GET", f"/api/photos/{fid}/original", port=p)
    with open(os.path.join(photos, "flowers", "image_0001.jpg"), "rb") as f:
        c.check(st == 200 and body == f.read() and "attachment" in h.get("content-disposition", ""),
                "original download is the indexed file, as an attachment")
    st, _ = H.get_json("/api/photos/999999", port=p)
    c.check(st == 404, "unknown photo id -> 404")

    # ---- search ----
    st, sim = H.get_json(f"/api/search/similar/{fid}?k=5", port=p)
    c.check(st == 200 and len(sim["hits"]) == 5, "similar-by-id returns k hits")
    c.check(fid not in [x["id"] for x in sim["hits"]], "more-like-this omits the example itself")
    st, every = H.get_json(f"/api/search/similar/{fid}?k=30&all_copies=true&expand_stacks=true", port=p)
    st2, one = H.get_json(f"/api/search/similar/{fid}?k=30", port=p)
    hidden = {i for x in one["hits"] for i in x["hidden_ids"]}
    c.check(st == 200 and st2 == 200 and not hidden & {x["id"] for x in one["hits"]} and
            all(len(x["hidden_ids"]) >= x["copies"] for x in one["hits"]) and
            len(every["hits"]) >= len(one["hits"]), "search collapses duplicates (copies, hidden_ids); all_copies shows all")
    st, e = H.get_json(f"/api/search/similar/{fid}?all_copies=maybe", port=p)
    c.check(st == 400 and "all_copies" in e["error"], "all_copies=maybe -> 400")
    scores = [x["score"] for x in sim["hits"]]
    c.check(scores == sorted(scores, reverse=True), "hits sorted by score")
    hit = sim["hits"][0]
    c.check(all(k in hit for k in ("id", "score", "semantic", "color", "capture_time", "make", "model", "thumb_url")),
            "hits carry scores, metadata and thumb URLs")
    c.check("timings" in sim and sim["timings"]["server_ms"] >= sim["timings"]["search_ms"] >= 0, "search timings")

    st, js = H.post_json("/api/search", {"ids": [fid], "k": 5}, port=p)
    c.check(st == 200 and [x["id"] for x in js["hits"]] == [x["id"] for x in sim["hits"]],
            "POST /api/search with ids matches GET similar")

    # Upload an indexed photo: it must come back first with score ~1.
    with open(os.path.join(photos, "flowers", "image_0003.jpg"), "rb") as f:
        img = f.read()
    st, h, up = H.post_multipart("/api/search", {"query": '{"k": 5}'}, [("image", "q.jpg", img, "image/jpeg")], port=p)
    c.check(st == 200 and up["hits"][0]["id"] == ids["image_0003.jpg"] and up["hits"][0]["semantic"] > 0.99,
            f"upload search finds the same photo first ({up and up['hits'][0]['semantic']})")
    c.check(up["query"]["uploads"] == 1 and up["timings"]["embed_ms"] > 0, "upload query was embedded")

    # alpha and presets change the fused score as the spec says.
    st, pr = H.post_json("/api/search", {"ids": [fid], "k": 5, "preset": "product"}, port=p)
    ok = st == 200 and abs(pr["alpha"] - 0.3) < 1e-6 and all(
        abs(x["score"] - (0.3 * x["semantic"] + 0.7 * x["color"])) < 1e-3 for x in pr["hits"])
    c.check(ok, "preset product: score = 0.3*semantic + 0.7*colour")
    st, a0 = H.post_json("/api/search", {"ids": [fid], "k": 5, "alpha": 0.0}, port=p)
    cols = [x["color"] for x in a0["hits"]]
    c.check(st == 200 and cols == sorted(cols, reverse=True), "alpha 0 ranks by colour")
    st, bad = H.post_json("/api/search", {"ids": [fid], "preset": "nope"}, port=p)
    c.check(st == 400 and "preset" in bad["error"], "unknown preset -> 400 naming it")

    st, col = H.post_json("/api/search/color", {"colors": ["#d02020", "#f0e040"], "k": 5}, port=p)
    c.check(st == 200 and len(col["hits"]) == 5 and abs(col["alpha"]) < 1e-6, "colour search")
    st, _ = H.post_json("/api/search/color", {"colors": ["red"]}, port=p)
    c.check(st == 400, "bad colour -> 400")

    # Filters inside search: only photos from the cameras folder.
    st, fs = H.post_json("/api/search", {"ids": [fid], "k": 10, "filters": {"folder": folder}}, port=p)
    c.check(st == 200 and len(fs["hits"]) == 6 and all(x["folder"] == folder for x in fs["hits"]),
            "search with a folder filter returns only that folder (k results whenever k match)")
    st, fd = H.post_json("/api/search", {"ids": [fid], "k": 50, "filters": {"date_from": "2100-01-01"}}, port=p)
    c.check(st == 200 and fd["hits"] == [], "date filter in the future -> no hits")
    st, ms = H.post_json("/api/search", {"ids": [fid], "k": 50, "min_score": 0.99}, port=p)
    c.check(st == 200 and all(x["score"] >= 0.99 for x in ms["hits"]), "min_score drops weaker hits")
    st, off = H.post_json("/api/search", {"ids": [fid], "k": 2, "offset": 2}, port=p)
    c.check([x["id"] for x in off["hits"]] == [x["id"] for x in sim["hits"][2:4]], "search offset pages")
    st, e = H.post_json("/api/search", {}, port=p)
    c.check(st == 400 and "empty query" in e["error"], "empty query -> 400")
    st, e = H.post_json("/api/search", {"ids": [999999]}, port=p)
    c.check(st == 404, "search by unknown id -> 404")
    st, e = H.post_json("/api/search", {"ids": [fid], "k": 100000}, port=p)
    c.check(st == 400 and "k" in e["error"], "k out of range -> 400")

    # ---- examples, duplicates, clusters ----
    st, ex = H.get_json("/api/examples", port=p)
    c.check(st == 200 and 1 <= len(ex["examples"]) <= 8, "example queries")
    st, du = H.get_json("/api/duplicates?threshold=0.9", port=p)
    variant_ids = {v for n, v in ids.items() if n.startswith("flower")}
    groups = [g for g in du["groups"] if {m["id"] for m in g["members"]} & variant_ids]
    c.check(st == 200 and groups and all(g["keeper"] == g["members"][0]["id"] and g["keeper_reason"] for g in groups),
            "duplicates: the re-encoded variants are grouped, keeper first with a reason")
    c.check(all(m["thumb_url"] for g in du["groups"] for m in g["members"]), "duplicate members carry thumbs")
    c.check(all(m["relation"] in ("keeper", "identical_bytes", "identical_pixels", "near") and
                (m["keeper"] or m["evidence"]) and m["format"] and m["file_size"] > 0 and 0 <= m["similarity"] <= 1
                for g in du["groups"] for m in g["members"]), "duplicate members carry relation, evidence, format, size")
    st, sk = H.get_json("/api/stacks?window=2", port=p)
    c.check(st == 200 and isinstance(sk["stacks"], list) and "photos" in sk, "GET stacks")
    st, e = H.get_json("/api/stacks?window=-1", port=p)
    c.check(st == 400 and "window" in e["error"], "stacks: bad window -> 400")
    st, cl0 = H.get_json("/api/clusters", port=p)
    c.check(st == 200 and "clusters" in cl0, "GET clusters")
    st, cl = H.post_json("/api/clusters", {"k": 3}, port=p)
    c.check(st == 200 and cl["k"] == 3 and len(cl["clusters"]) == 3 and sum(x["size"] for x in cl["clusters"]) == 35,
            "POST clusters recomputes k=3 over every photo")
    c.check(all(x["representatives"] and x["representatives"][0]["thumb_url"] for x in cl["clusters"]),
            "clusters have representative photos")
    st, cl2 = H.get_json("/api/clusters", port=p)
    c.check(st == 200 and cl2["computed"] and len(cl2["clusters"]) == 3, "clusters are stored for the UI")

    # ---- indexing: status, trigger, progress, new photos become searchable ----
    st, ist = H.get_json("/api/index/status", port=p)
    c.check(st == 200 and ist["running"] is False and ist["library"]["photos"] == 35, "index status idle")
    shutil.copy2(os.path.join(H.PHOTOS, "flowers17", "images", "image_0161.jpg"),
                 os.path.join(photos, "flowers", "image_0161.jpg"))
    st, started = H.post_json("/api/index", {}, port=p)
    c.check(st == 202 and started["started"], "POST /api/index starts a re-index")
    st, again = H.post_json("/api/index", {}, port=p)
    c.check(st in (202, 409), "a second trigger is refused while running, or starts after it finished")
    seen_running = False
    deadline = time.time() + 120
    while time.time() < deadline:
        st, ist = H.get_json("/api/index/status", port=p)
        seen_running = seen_running or ist["running"]
        if not ist["running"] and ist["last_report"]:
            break
        time.sleep(0.2)
    c.check(ist["last_error"] == "" and ist["last_report"] and ist["last_report"]["added"] >= 1,
            f"re-index finished and added the new photo ({ist.get('last_report')})")
    st, health = H.get_json("/api/health", port=p)
    c.check(health["photos"] == 36, "the server serves the re-indexed library")
    st, bad = H.post_json("/api/index", {"roots": ["/etc"]}, port=p)
    c.check(st == 400, "clients cannot choose what gets indexed")

    # ---- docs and UI ----
    st, h, body = H.request("GET", "/api/openapi.yaml", port=p)
    c.check(st == 200 and b"openapi:" in body and b"/api/search" in body, "OpenAPI document served")
    try:
        import yaml
        doc = yaml.safe_load(body)
        served = {"/api/search", "/api/search/similar/{id}", "/api/search/color", "/api/photos",
                  "/api/photos/{id}", "/api/photos/{id}/thumb", "/api/photos/{id}/preview",
                  "/api/photos/{id}/original", "/api/examples", "/api/duplicates", "/api/stacks", "/api/clusters",
                  "/api/stats", "/api/index/status", "/api/index", "/api/health", "/api/openapi.yaml",
                  "/api/explain"}
        c.check(served <= set(doc["paths"]), f"OpenAPI documents every endpoint (missing {served - set(doc['paths'])})")
    except ImportError:
        print("  (python3-yaml missing: OpenAPI structure not checked)")
    st, h, body = H.request("GET", "/", port=p)
    c.check(st == 200 and h["content-type"].startswith("text/html") and b"Viewfinder" in body, "UI index.html")
    st, h, body = H.request("GET", "/app.js", port=p)
    c.check(st == 200 and h["content-type"].startswith("text/javascript"), "app.js served as JavaScript")
    st, h, body = H.request("GET", "/style.css", port=p)
    c.check(st == 200 and h["content-type"].startswith("text/css"), "style.css served as CSS")
    st, e = H.get_json("/api/nope", port=p)
    c.check(st == 404 and e and "error" in e, "unknown API path -> JSON 404")


def png_header(width, height):
    """A PNG whose header claims width x height (the pixel data is a stub)."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def api_contract(c, srv, lib):
    """Issue 11: unknown parameters, wrong methods, rounded floats, the port, upload limits."""
    import subprocess
    p = srv.port
    st, all_photos = H.get_json("/api/photos?k=100", port=p)
    for path, name in [("/api/photos?gps_box=1,2,3,4", "gps_box"), ("/api/photos?k=5&modle=x", "modle"),
                       ("/api/search/similar/1?kk=3", "kk"), ("/api/duplicates?treshold=0.9", "treshold"),
                       ("/api/stats?verbose=1", "verbose"), ("/api/photos/1?x=1", "x")]:
        st, js = H.get_json(path, port=p)
        c.check(st == 400 and name in js["error"], f"unknown parameter {name} -> 400 naming it ({st})")
    st, js = H.post_json("/api/search", {"ids": [1], "filters": {"gps_box": "1,2,3,4"}}, port=p)
    c.check(st == 400 and "gps_box" in js["error"], f"unknown JSON filter -> 400 naming it ({st})")
    for q in ["lens=EF", "format=jpeg", "gps_bbox=-90,-180,90,180", "min_width=10", "camera=x", "bbox=0,0,1,1"]:
        st, js = H.get_json("/api/photos?" + q, port=p)
        c.check(st == 200, f"documented filter {q.split('=')[0]} accepted ({st})")
    for method, path, allow in [("POST", "/api/photos", "GET"), ("GET", "/api/index", "POST"),
                                ("DELETE", "/api/clusters", "GET"), ("PUT", "/api/search", "POST"),
                                ("POST", "/index.html", "GET")]:
        hdrs = {"Content-Type": "application/json"}
        st, h, b = H.request(method, path, port=p, body=b"{}" if method != "GET" else None, headers=hdrs)
        c.check(st == 405 and allow in h.get("allow", ""), f"{method} {path} -> 405, Allow: {h.get('allow')} ({st})")
    st, js = H.get_json("/api/nope", port=p)
    c.check(st == 404, "an unknown API path stays 404")
    # docs/openapi.yaml lists exactly the query parameters the server accepts.
    try:
        import yaml
        with open(os.path.join(os.path.dirname(__file__), "..", "..", "docs", "openapi.yaml")) as f:
            doc = yaml.safe_load(f)
        comps = doc["components"]["parameters"]

        def names(path):
            out = set()
            for prm in doc["paths"][path]["get"].get("parameters", []):
                prm = comps[prm["$ref"].split("/")[-1]] if "$ref" in prm else prm
                if prm["in"] == "query":
                    out.add(prm["name"])
            return out
        filters = {"date_from", "date_to", "make", "model", "camera", "lens", "folder", "path_prefix", "format",
                   "orientation", "min_width", "min_height", "min_rating", "gps_bbox", "bbox", "include_file_times"}
        for path, own in [("/api/photos", {"k", "offset"}), ("/api/duplicates", {"threshold", "exact", "near", "phash"})]:
            documented = names(path)
            c.check(documented == own | filters, f"openapi lists every parameter of {path} "
                    f"(missing {sorted((own | filters) - documented)}, extra {sorted(documented - own - filters)})")
            for name in sorted(documented):
                st, js = H.get_json(f"{path}?{name}=", port=p)
                c.check(st == 200 or "unknown" not in js["error"], f"documented {path} parameter {name} is accepted")
    except ImportError:
        print("  (python3-yaml missing: OpenAPI parameters not checked)")
    st, sim = H.get_json("/api/search/similar/1?k=5", port=p)

    def decimals(x):
        t = repr(float(x))
        return len(t.split(".")[1]) if "." in t and "e" not in t else 0
    c.check(all(decimals(h[k]) <= 4 for h in sim["hits"] for k in ("score", "semantic", "color")),
            "scores are rounded to 4 decimals")
    c.check(all(decimals(v) <= 1 for v in sim["timings"].values()), f"timings rounded to 0.1 ms ({sim['timings']})")
    # A second server on a port in use refuses, naming the port (no SO_REUSEPORT sharing).
    r = subprocess.run([H.VF_BIN, "serve", "--library", lib, "--port", str(p)], capture_output=True, text=True, timeout=30)
    c.check(r.returncode != 0 and str(p) in r.stderr and "in use" in r.stderr,
            f"second serve on port {p} refused ({r.stderr.strip()[:120]})")
    st, h, body = H.request("GET", "/api/health", port=p)
    c.check(st == 200, "the first server still answers on its port")
    # 102 MP (a medium-format frame) is under the default limit; a lower limit names its setting.
    mf = png_header(12432, 8256)
    st, h, js = H.post_multipart("/api/search", {}, [("image", "mf.png", mf, "image/png")], port=p)
    c.check(st != 413, f"a 102 MP upload is within the default limit ({st}: {js and js.get('error')})")
    with H.Server(lib, "--max-upload-mp", "50") as small:
        st, h, js = H.post_multipart("/api/search", {}, [("image", "mf.png", mf, "image/png")], port=small.port)
        c.check(st == 413 and "--max-upload-mp" in js["error"], f"over --max-upload-mp -> 413 naming it ({js})")


def H_quote(s):
    from urllib.parse import quote
    return quote(s, safe="")


if __name__ == "__main__":
    main()
