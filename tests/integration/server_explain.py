"""Why it matched and search by a region, through a real `viewfinder serve` on a real library
(golden tiny model): /api/health features, GET /api/explain by id and by upload token,
region on POST /api/search and GET /api/search/similar/{id} with filters and the colour
blend, and the errors (docs/api.md, "Why it matched" and "Region search")."""
import json
import os
import shutil
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "server_support"))
import harness as H  # noqa: E402


def main():
    H.require_env()
    c = H.Checks()
    tmp = tempfile.mkdtemp(prefix="vf-server-explain-")
    try:
        photos = H.make_photo_dir(tmp, flowers=24, cameras=6, dupes=False)
        lib = os.path.join(tmp, "lib")
        H.index_library(lib, photos)
        with H.Server(lib) as srv:
            run(c, srv, photos)
            c.check(srv.alive(), "server still answers")
            c.finish(srv)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def maps_ok(d):
    qg = d.get("query_grid") or d.get("grid")
    pg = d.get("photo_grid") or d.get("grid")
    return (qg and pg and len(d["query_map"]) == qg[0] * qg[1] and len(d["photo_map"]) == pg[0] * pg[1]
            and all(-1.001 <= v <= 1.001 for v in d["query_map"] + d["photo_map"]))


def run(c, srv, photos):
    p = srv.port
    st, health = H.get_json("/api/health", port=p)
    f = health.get("features", {})
    c.check(st == 200 and f.get("explain") is True and f.get("region_search") is True,
            f"health lists explain and region_search ({f})")
    _, listing = H.get_json("/api/photos?k=1", port=p)
    first = listing["photos"][0]["id"]
    served = [H.request("GET", f"/api/photos/{first}/thumb?size={n}", port=p)[0] for n in f.get("thumb_sizes", [])]
    c.check(all(st_ == 200 for st_ in served), f"health claims no thumbnail size it does not serve ({served})")

    st, lst = H.get_json("/api/photos?k=100", port=p)
    ids = {x["name"]: x["id"] for x in lst["photos"]}
    a, b = ids["image_0001.jpg"], ids["image_0081.jpg"]

    # ---- explain by id ----
    st, d = H.get_json(f"/api/explain?photo={b}&query={a}", port=p)
    c.check(st == 200 and maps_ok(d) and d["ms"] >= 0, f"explain {b} against {a}: maps of the grid size ({st})")
    st, same = H.get_json(f"/api/explain?photo={a}&query={a}", port=p)
    c.check(st == 200 and min(same["photo_map"]) > 0.999 and min(same["query_map"]) > 0.999,
            "a photo against itself: every patch finds itself (cosine 1)")
    c.check(min(d["photo_map"]) < 0.999, "a different photo: not every patch matches exactly")
    st, reg = H.get_json(f"/api/explain?photo={b}&query={a}&region=0.5,0.5,0.5,0.5", port=p)
    qg = reg.get("query_grid") or reg.get("grid")
    rows, cols = qg
    qm = reg["query_map"]
    lo = min(qm)
    outside = [qm[r * cols + cc] for r in range(rows) for cc in range(cols) if r < rows // 2 - 1 and cc < cols // 2 - 1]
    c.check(st == 200 and maps_ok(reg) and outside and all(v == lo for v in outside),
            "explain with a region: the query map stays on the whole grid, cold outside the box")
    c.check(reg["photo_map"] != d["photo_map"], "explain with a region: the photo map is against the region only")

    for path, want, what in [
        (f"/api/explain?query={a}", 400, "no photo"),
        (f"/api/explain?photo={b}", 400, "no query"),
        (f"/api/explain?photo=999999&query={a}", 404, "unknown photo"),
        (f"/api/explain?photo={b}&query=999999", 404, "unknown query photo"),
        (f"/api/explain?photo={b}&query_token=nope", 410, "expired token"),
        (f"/api/explain?photo={b}&query={a}&region=0.9,0.9,0.5,0.5", 400, "region out of the picture"),
        (f"/api/explain?photo=abc&query={a}", 400, "photo not an id"),
    ]:
        st, e = H.get_json(path, port=p)
        c.check(st == want and e and e.get("error"), f"explain, {what}: {want} with a message ({st}, {e})")

    # ---- upload: a token for explain ----
    with open(os.path.join(photos, "flowers", "image_0001.jpg"), "rb") as fh:
        jpeg = fh.read()
    st, _, res = H.post_multipart("/api/search", {"query": json.dumps({"k": 5})},
                                  [("image", "q.jpg", jpeg, "image/jpeg")], port=p)
    token = (res or {}).get("query", {}).get("token")
    c.check(st == 200 and isinstance(token, str) and token, "upload search returns query.token")
    st, d = H.get_json(f"/api/explain?photo={a}&query_token={token}", port=p)
    c.check(st == 200 and maps_ok(d) and sum(d["photo_map"]) / len(d["photo_map"]) > 0.9,
            "explain by token: the uploaded copy of a photo matches it patch for patch")

    # ---- region search ----
    box = [0.25, 0.25, 0.5, 0.5]
    st, r = H.post_json("/api/search", {"ids": [a], "region": box, "k": 8}, port=p)
    hits = (r or {}).get("hits", [])
    c.check(st == 200 and len(hits) == 8 and r["query"].get("region") == box and r["timings"].get("region_ms", -1) >= 0,
            f"region search by id: 8 hits, region echoed, region_ms ({st})")
    c.check(a not in [h["id"] for h in hits], "region search leaves the query photo out")
    c.check(all(hits[i]["score"] >= hits[i + 1]["score"] for i in range(len(hits) - 1)), "region hits sorted by score")
    st, whole = H.post_json("/api/search", {"ids": [a], "k": 8}, port=p)
    c.check([h["id"] for h in hits] != [h["id"] for h in whole["hits"]] or
            [h["score"] for h in hits] != [h["score"] for h in whole["hits"]],
            "region search ranks differently from the whole picture")
    cams = os.path.join(photos, "cameras")
    st, r = H.post_json("/api/search", {"ids": [a], "region": box, "k": 20, "filters": {"folder": cams}}, port=p)
    c.check(st == 200 and r["hits"] and all(h["folder"] == cams for h in r["hits"]), "region search with a folder filter")
    st, r = H.post_json("/api/search", {"ids": [a], "region": box, "k": 5, "alpha": 0.5, "colors": ["#ff0000"]}, port=p)
    c.check(st == 200 and len(r["hits"]) == 5 and
            all(abs(h["score"] - (0.5 * h["semantic"] + 0.5 * h["color"])) < 1e-3 for h in r["hits"]),
            "region search with the colour blend: score = alpha*semantic + (1-alpha)*colour")
    st, r = H.get_json(f"/api/search/similar/{a}?region=0.25,0.25,0.5,0.5&k=6", port=p)
    c.check(st == 200 and len(r["hits"]) == 6 and r["query"].get("region") == box, "similar/{id} with region=x,y,w,h")
    st, _, r = H.post_multipart("/api/search", {"query": json.dumps({"k": 5, "region": box})},
                                [("image", "q.jpg", jpeg, "image/jpeg")], port=p)
    c.check(st == 200 and len(r["hits"]) == 5 and r["query"].get("region") == box, "region search on an upload")
    rank = [h["id"] for h in r["hits"]].index(a) if a in [h["id"] for h in r["hits"]] else None
    c.check(rank is not None and rank < 3, f"the region of an uploaded copy finds its photo in the top 3 (rank {rank})")

    for body, what in [({"ids": [a, b], "region": box}, "two query photos"),
                       ({"ids": [a], "region": [0.5, 0.5, 0.6, 0.2]}, "box past the edge"),
                       ({"ids": [a], "region": [0.1, 0.1]}, "two numbers"),
                       ({"colors": ["#ff0000"], "region": box}, "colour only")]:
        st, e = H.post_json("/api/search", body, port=p)
        c.check(st == 400 and e and e.get("error"), f"region search, {what}: 400 ({st}, {e and e.get('error')})")


if __name__ == "__main__":
    main()
