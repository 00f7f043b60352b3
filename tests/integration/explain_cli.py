"""`viewfinder explain` (heatmap overlays as PNG, maps as JSON) and `viewfinder search
--region` end to end on real photos with the golden tiny model. Env: VF_BIN, VF_SHARED."""
import json
import os
import shutil
import struct
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "server_support"))
import harness as H  # noqa: E402
from harness import vf, vfj  # noqa: E402

SHARED = os.path.realpath(os.environ["VF_SHARED"])
FLOWERS = os.path.join(SHARED, "photos", "flowers17", "images")
MODEL = os.path.join(SHARED, "golden", "models", "tiny")
CHECKS = H.Checks()
check = CHECKS.check






def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", head[16:24])


tmp = tempfile.mkdtemp(prefix="vf_explain_it_")
try:
    photos = os.path.join(tmp, "photos")
    os.makedirs(photos)
    for i in list(range(1, 9)) + list(range(81, 89)):
        shutil.copy2(os.path.join(FLOWERS, f"image_{i:04d}.jpg"), photos)
    lib = os.path.join(tmp, "lib")
    vf("index", "-l", lib, "--model", MODEL, "-q", photos)
    a = os.path.join(photos, "image_0001.jpg")
    b = os.path.join(photos, "image_0081.jpg")

    out, qout = os.path.join(tmp, "why.png"), os.path.join(tmp, "query.png")
    r = vf("explain", "-l", lib, a, b, "-o", out, "--query-output", qout, "--size", "300", "--json")
    d = json.loads(r.stdout)
    pr, pc = d["photo_grid"]
    qr, qc = d["query_grid"]
    check(len(d["photo_map"]) == pr * pc and len(d["query_map"]) == qr * qc, "explain --json: maps of the grid size")
    check(max(pr, pc) == 16, f"the patch grid covers the picture: long side 224/14 = 16 patches ({pr}x{pc})")
    size = png_size(out)
    check(size is not None and max(size) == 300, f"-o writes a PNG overlay of the photo, 300 px long ({size})")
    check(png_size(qout) is not None, "--query-output writes the query overlay")
    d_self = json.loads(vf("explain", "-l", lib, a, a, "--json").stdout)
    check(min(d_self["photo_map"]) > 0.999, "a photo against itself: every patch finds itself")
    d_reg = json.loads(vf("explain", "-l", lib, a, b, "--region", "0,0,0.5,0.5", "--json").stdout)
    check(d_reg["query_grid"] == d["query_grid"] and d_reg["photo_map"] != d["photo_map"],
          "--region: same query grid, photo map against the box only")
    r = vf("explain", "-l", lib, a, b, "--region", "0.8,0,0.5,0.5", "--json", expect=1)
    check("x + w <= 1" in r.stderr, f"a box past the edge is refused with the rule ({r.stderr.strip()})")
    r = vf("explain", "-l", lib, a, expect=1)
    check("QUERY and a PHOTO" in r.stderr, "explain needs two pictures")

    res = json.loads(vf("search", "-l", lib, a, "--region", "0.25,0.25,0.5,0.5", "-k", "5", "--json").stdout)
    ids = [h["path"] for h in res["hits"]]
    check(len(ids) == 5 and a not in ids, "search --region: 5 results, the query photo left out")
    whole = json.loads(vf("search", "-l", lib, a, "-k", "5", "--json").stdout)
    check([h["semantic"] for h in res["hits"]] != [h["semantic"] for h in whole["hits"]],
          "search --region scores by the region, not the whole picture")
    outside = os.path.join(tmp, "outside.jpg")
    shutil.copy2(os.path.join(FLOWERS, "image_0002.jpg"), outside)
    res = json.loads(vf("search", "-l", lib, outside, "--region", "0.1,0.1,0.8,0.8", "-k", "3", "--json").stdout)
    check(res["hits"][0]["path"].endswith("image_0002.jpg"), "search FILE --region: a copy's region finds the photo first")
    r = vf("search", "-l", lib, a, b, "--region", "0.1,0.1,0.5,0.5", expect=1)
    check("exactly one query picture" in r.stderr, "--region with two pictures is refused")
finally:
    shutil.rmtree(tmp, ignore_errors=True)

CHECKS.finish()
