"""Search-stage commands end to end on real photos with the golden tiny model (random weights):
search by id / file / +- examples / colour, filters that never shrink results, listing,
pagination, duplicates, clusters and eval. Env: VF_BIN, VF_SHARED."""
import base64
import json
import os
import shutil
import sqlite3
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "server_support"))
import harness as H  # noqa: E402
from harness import vf, vfj  # noqa: E402

SHARED = os.path.realpath(os.environ["VF_SHARED"])  # the library stores canonical paths
PHOTOS = os.path.join(SHARED, "photos")
MODEL = os.path.join(SHARED, "golden", "models", "tiny")
CHECKS = H.Checks()
check = CHECKS.check








tmp = tempfile.mkdtemp(prefix="vf_search_it_")
try:
    lib = os.path.join(tmp, "lib")
    extra = os.path.join(tmp, "extra")
    os.makedirs(extra)
    # An exact duplicate (byte copy) of a flower, and 80 flowers of 2 classes for eval.
    flowers = sorted(os.listdir(os.path.join(PHOTOS, "flowers17", "images")))
    shutil.copy(os.path.join(PHOTOS, "flowers17", "images", flowers[0]), os.path.join(extra, "copy_of_first.jpg"))
    # A file name that is not UTF-8 (Latin-1): --json must keep working (issue 14.6).
    latin1 = os.fsencode(extra) + b"/caf\xe9 \xff.jpg"
    shutil.copy(os.path.join(PHOTOS, "flowers17", "images", flowers[1]), latin1)  # a byte copy: a dupe
    subset = [f for f in flowers if int(f[6:10]) <= 40 or 81 <= int(f[6:10]) <= 120]
    assert len(subset) == 80
    roots = [os.path.join(PHOTOS, "camera_exif"), os.path.join(PHOTOS, "near_duplicates"),
             os.path.join(PHOTOS, "formats", "photoprism"), extra] + \
            [os.path.join(PHOTOS, "flowers17", "images", f) for f in subset]
    vf("index", "--library", lib, "--model", MODEL, "--quiet", *roots)
    db = sqlite3.connect(os.path.join(lib, "catalog.sqlite3"))
    n = db.execute("SELECT count(*) FROM photos WHERE embedding IS NOT NULL").fetchone()[0]
    check(n > 200, f"indexed {n} photos")
    first_id, first_path = db.execute(
        "SELECT id, path FROM photos WHERE path LIKE '%flowers17/images/" + flowers[0] + "'").fetchone()

    # ---- more like this (every copy shown: the ranking itself is under test) ----
    r = vfj("search", "--library", lib, f"id:{first_id}", "-k", "5", "--all-copies")
    ids = [h["id"] for h in r["hits"]]
    check(len(ids) == 5 and first_id not in ids, "id query: 5 hits without the query itself")
    scores = [h["score"] for h in r["hits"]]
    check(scores == sorted(scores, reverse=True), "scores descending")
    # The byte copy has the same embedding: it must come first with cosine ~1.
    check(r["hits"][0]["path"].endswith("copy_of_first.jpg") and r["hits"][0]["semantic"] > 0.999,
          "byte-identical copy ranks first with cosine ~1")
    check(all(abs(h["score"] - h["semantic"]) < 1e-6 for h in r["hits"]), "alpha 1: score == semantic")

    # ---- a file query embeds with the library's model and finds the indexed original ----
    outside = os.path.join(tmp, "query.jpg")
    shutil.copy(os.path.join(PHOTOS, "flowers17", "images", flowers[5]), outside)
    r = vfj("search", "--library", lib, outside, "-k", "3")
    check(r["hits"][0]["path"].endswith(flowers[5]) and r["hits"][0]["semantic"] > 0.99,
          f"file query finds its indexed original (sem {r['hits'][0]['semantic']:.4f})")
    t = r["timings"]
    check(t["embed_ms"] > 0 and t["decode_ms"] > 0 and t["total_ms"] >= t["search_ms"], f"timings reported {t}")

    # ---- positives and negatives ----
    r = vfj("search", "--library", lib, f"+{first_id}", f"+id:{first_id + 1}", f"-{first_id + 2}", "-k", "4")
    ids = [h["id"] for h in r["hits"]]
    check(len(ids) == 4 and not set(ids) & {first_id, first_id + 1, first_id + 2}, "+/- query excludes its examples")

    # ---- hybrid: the union is rescored exactly, scores are the fused formula ----
    r = vfj("search", "--library", lib, f"id:{first_id}", "--alpha", "0.6", "-k", "10")
    check(all(abs(h["score"] - (0.6 * h["semantic"] + 0.4 * h["color"])) < 1e-5 for h in r["hits"]),
          "hybrid score = 0.6*semantic + 0.4*colour for every hit")
    check(all(h["color"] > 0 for h in r["hits"]), "every hybrid hit carries its real colour score")
    r2 = vfj("search", "--library", lib, f"id:{first_id}", "--preset", "landscape", "-k", "10")
    check([h["id"] for h in r2["hits"]] == [h["id"] for h in r["hits"]], "--preset landscape == --alpha 0.6")

    # ---- pagination ----
    a = vfj("search", "--library", lib, f"id:{first_id}", "-k", "10")["hits"]
    b = vfj("search", "--library", lib, f"id:{first_id}", "-k", "5", "--offset", "5")["hits"]
    check([h["id"] for h in a[5:]] == [h["id"] for h in b], "offset 5 + k 5 == results 6..10")
    m = vfj("search", "--library", lib, f"id:{first_id}", "-k", "50", "--min-score", "0.9")["hits"]
    check(all(h["score"] >= 0.9 for h in m), "min-score drops lower scores")

    # ---- colour-only ----
    r = vfj("search", "--library", lib, "--color", "#ff0000", "-k", "8")
    check(len(r["hits"]) == 8, "colour query returns k hits")
    cs = [h["color"] for h in r["hits"]]
    check(cs == sorted(cs, reverse=True) and all(h["semantic"] == 0 for h in r["hits"]), "colour-only ranks by colour")
    # Independent check of the colour maths: the palette target (80% in bin 448 = r>=224,g<32,
    # b<32, 20% over its 7 neighbours) intersected with every stored histogram.
    import struct
    target = [0.0] * 512
    target[448] = 0.8
    for r_ in (6, 7):
        for g_ in (0, 1):
            for b_ in (0, 1):
                if (r_, g_, b_) != (7, 0, 0):
                    target[r_ * 64 + g_ * 8 + b_] = 0.2 / 7
    inter = {}
    for pid, blob in db.execute("SELECT id, color_hist FROM photos WHERE embedding IS NOT NULL"):
        h = struct.unpack("512f", blob)
        inter[pid] = sum(min(a_, b_) for a_, b_ in zip(h, target))
    top = r["hits"][0]
    check(abs(top["color"] - inter[top["id"]]) < 1e-4, "colour score is the histogram intersection with the palette")
    ranked = sorted(inter.values(), reverse=True)
    check(top["color"] >= ranked[0] - 1e-4, f"top red hit is the best match ({top['color']:.3f} vs {ranked[0]:.3f})")
    # ---- filters never shrink the list ----
    canon = db.execute("SELECT count(*) FROM photos WHERE embedding IS NOT NULL AND lower(make) LIKE '%canon%'").fetchone()[0]
    check(canon >= 3, f"{canon} Canon photos in the test set")
    for k in (3, canon, canon + 10):
        r = vfj("search", "--library", lib, f"id:{first_id}", "--make", "CANON", "-k", str(k))
        check(len(r["hits"]) == min(k, canon) and r["matched"] == canon and
              all("canon" in h["make"].lower() for h in r["hits"]),
              f"--make canon -k {k}: {len(r['hits'])} hits, all Canon (matched {r['matched']})")
    folder = os.path.join(PHOTOS, "near_duplicates")
    nd = db.execute("SELECT count(*) FROM photos WHERE embedding IS NOT NULL AND path LIKE ?", (folder + "/%",)).fetchone()[0]
    r = vfj("search", "--library", lib, f"id:{first_id}", "--folder", folder, "--alpha", "0.5", "-k", "100",
            "--all-copies", "--expand-stacks")
    check(len(r["hits"]) == nd and all(h["path"].startswith(folder + "/") for h in r["hits"]),
          f"hybrid + folder filter returns all {nd} photos of the folder")
    r = vfj("search", "--library", lib, "--color", "#00ff00", "--orientation", "portrait", "-k", "5")
    check(all(h["height"] > h["width"] for h in r["hits"]) and len(r["hits"]) > 0, "colour + orientation filter")

    # ---- listing by filters alone ----
    r = vfj("search", "--library", lib, "--from", "2000-01-01", "--to", "2030-12-31", "-k", "20")
    times = [h["capture_time"] for h in r["hits"]]
    check(r["mode"] == "list" and len(times) > 0 and times == sorted(times, reverse=True), "filters alone list newest first")
    r = vfj("search", "--library", lib, "--make", "no-such-camera")
    check(r["hits"] == [] and r["matched"] == 0, "unmatched filter lists nothing")
    # ... and says which filter did it (issue 11).
    check(r["filter_matches"] == [{"filter": "make=no-such-camera", "matched": 0}], f"filter_matches {r['filter_matches']}")
    out = vf("search", "--library", lib, "--make", "no-such-camera", "--format", "jpeg").stdout
    check("make=no-such-camera alone matches 0 photos" in out and "format=jpeg alone matches" in out,
          "'no results' names the filter that excludes everything")
    # --model is the model directory; the camera filter is --camera-model, "=" for exact.
    model_row = db.execute("SELECT model, count(*) FROM photos WHERE model IS NOT NULL GROUP BY model ORDER BY 2 DESC").fetchone()
    # --all-copies: the two iPhone 7 HEICs are byte-identical, one result by default.
    r = vfj("search", "--library", lib, f"id:{first_id}", "--model", MODEL, "--camera-model", "=" + model_row[0], "-k", "100",
            "--all-copies", "--expand-stacks")
    check(len(r["hits"]) == model_row[1] and all(h["model"] == model_row[0] for h in r["hits"]),
          f"--camera-model ={model_row[0]}: {len(r['hits'])} exact hits, --model DIR accepted")
    # Non-UTF-8 names: JSON works and path_bytes gives the exact bytes back.
    r = vfj("search", "--library", lib, "--folder", extra, "-k", "10")
    raw = [base64.b64decode(h["path_bytes"]) for h in r["hits"] if "path_bytes" in h]
    check(raw == [latin1] and any("\ufffd" in h["path"] for h in r["hits"]),
          "search --json with a Latin-1 file name: path (U+FFFD) + path_bytes (exact)")

    # ---- duplicates ----
    d = vfj("dupes", "--library", lib)
    groups = [set(m["path"] for m in g["members"]) for g in d["groups"]]
    copy_pair = {os.path.join(PHOTOS, "flowers17", "images", flowers[0]), os.path.join(extra, "copy_of_first.jpg")}
    check(any(copy_pair <= g for g in groups), "byte copy found as a duplicate")
    heic = {os.path.join(PHOTOS, "formats", "photoprism", f) for f in ("iphone_7.heic", "meta_iphone_7.heic")}
    check(any(heic <= set(m["path"] for m in g["members"]) and
              any(m["relation"] == "identical_bytes" and "content hash" in m["evidence"] for m in g["members"])
              for g in d["groups"]), "identical HEIC pair: identical bytes, with the hash")
    check(all(g["keeper"] == g["members"][0]["id"] and g["keeper_reason"] for g in d["groups"]), "keepers first, with reasons")
    check(any(base64.b64decode(m.get("path_bytes", "")) == latin1 for g in d["groups"] for m in g["members"]),
          "dupes --json lists the Latin-1 copy with path_bytes")
    check(all(g["kind"] in ("identical_bytes", "identical_pixels", "near") for g in d["groups"]), "three kinds only")
    every = [m["path"] for g in d["groups"] for m in g["members"]]
    check(len(every) == len(set(every)), "groups do not overlap")
    check(all(0 <= m["similarity"] <= 1 and m["format"] and m["width"] > 0 and m["file_size"] > 0
              for g in d["groups"] for m in g["members"]), "similarity in [0,1]; format, size, dimensions")
    flower_png = os.path.join(PHOTOS, "near_duplicates", "libjxl_flower_variants", "flower.png")
    d8 = vfj("dupes", "--library", lib, "--phash", "8")
    check(sum(flower_png in {m["path"] for m in g["members"]} for g in d8["groups"]) <= 1, "--phash 8: flower.png in one group")
    check(all(m["relation"] != "identical_pixels" for g in d8["groups"] for m in g["members"]
              if "im_q85" in m["path"]), "lossy q85 re-encodes are never identical pixels")
    # Search: one hit per duplicate group unless --all-copies.
    s1 = vfj("search", "--library", lib, f"id:{first_id}", "-k", "40")
    s2 = vfj("search", "--library", lib, f"id:{first_id}", "-k", "40", "--all-copies")
    copy_id = db.execute("SELECT id FROM photos WHERE path = ?", (os.path.join(extra, "copy_of_first.jpg"),)).fetchone()[0]
    check(copy_id not in [h["id"] for h in s1["hits"]] and copy_id in [h["id"] for h in s2["hits"]],
          "the byte copy is hidden by default and shown with --all-copies")
    st = vfj("stacks", "--library", lib)
    check(isinstance(st["stacks"], list), f"stacks runs ({len(st['stacks'])} stacks)")

    # ---- clusters ----
    c = vfj("clusters", "--library", lib, "--k", "5")
    check(c["k"] == 5 and sum(x["size"] for x in c["clusters"]) == n, "5 clusters cover every photo")
    check(-1 <= c["silhouette"] <= 1 and c["inertia"] > 0, f"silhouette {c['silhouette']:.3f}, inertia {c['inertia']:.1f}")
    s = vfj("clusters", "--library", lib, "--show")
    check([x["label"] for x in s["clusters"]] == [x["label"] for x in c["clusters"]], "stored clustering reads back")
    members = db.execute("SELECT count(*) FROM cluster_members").fetchone()[0]
    biggest = c["clusters"][0]
    first_members = [r_[0] for r_ in db.execute(
        "SELECT photo_id FROM cluster_members WHERE cluster=? ORDER BY distance, photo_id LIMIT 3", (biggest["id"],))]
    check([x["id"] for x in biggest["representatives"][:3]] == first_members, "representatives are nearest the centroid")
    check(members == n, "cluster_members holds every photo")
    a = vfj("clusters", "--library", lib, "--auto", "--k-min", "2", "--k-max", "6", "--no-store")
    best = max(a["silhouette_by_k"], key=lambda x: x["silhouette"])
    check(a["k"] == best["k"] and len(a["silhouette_by_k"]) == 5, "--auto picks the best silhouette")

    # ---- eval ----
    gt = os.path.join(tmp, "labels.tsv")
    with open(gt, "w") as f:
        f.write("image\tclass\n")
        for name in subset:
            f.write(f"{PHOTOS}/flowers17/images/{name}\t{0 if int(name[6:10]) <= 40 else 1}\n")
    e = vfj("eval", "--library", lib, "--ground-truth", gt, "--k", "1,5,10")
    check(e["queries"] == 80 and 0 <= e["map"] <= 1 and e["missing_relevant"] == 0, f"eval: 80 queries, mAP {e['map']:.3f}")
    e0 = vfj("eval", "--library", lib, "--ground-truth", gt, "--alpha", "0")
    check(0 <= e0["precision_at"]["1"] <= 1, f"colour-only eval: P@1 {e0['precision_at']['1']:.3f}")

    # ---- bad input: one clear line, exit 1 ----
    r = vf("search", "--library", lib, os.path.join(tmp, "nope.jpg"), expect=1)
    check("nope.jpg" in r.stderr and r.stderr.count("\n") == 1, "missing query file: one-line error naming it")
    r = vf("search", "--library", lib, "--color", "#zzz", expect=1)
    check("#zzz" in r.stderr, "bad colour named")
    r = vf("search", "--library", lib, "id:99999999", expect=1)
    check("99999999" in r.stderr, "unknown id named")
    for cmd in ("search", "dupes", "clusters", "eval"):
        check("usage" in vf(cmd, "--help").stdout, f"{cmd} --help")
finally:
    shutil.rmtree(tmp, ignore_errors=True)

CHECKS.finish()
