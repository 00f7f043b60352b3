"""`viewfinder serve` loads the model at start, not in the first image query: the library is
indexed with a copy of the golden tiny model, the server starts, the copy is then moved away,
and upload queries still embed (a server that loaded lazily would fail the first one: its
model directory no longer exists). Also: a server whose model is gone at start still serves
filters and says why image queries fail."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "server_support"))
import harness as H  # noqa: E402


def upload(port, img):
    return H.post_multipart("/api/search", {"query": '{"k": 3}'}, [("image", "q.jpg", img, "image/jpeg")], port=port)


def main():
    H.require_env()
    c = H.Checks()
    tmp = tempfile.mkdtemp(prefix="vf-server-load-")
    try:
        photos = os.path.join(tmp, "photos")
        os.makedirs(photos)
        for n in (1, 81, 161):
            shutil.copy(os.path.join(H.VF_SHARED, "photos", "flowers17", "images", f"image_{n:04d}.jpg"), photos)
        model = os.path.join(tmp, "model")
        shutil.copytree(H.TINY_MODEL, model)
        lib = os.path.join(tmp, "lib")
        r = subprocess.run([H.VF_BIN, "index", "--library", lib, "--model", model, "-q", photos],
                           capture_output=True, text=True, timeout=600)
        c.check(r.returncode == 0, f"indexed with a copy of the tiny model ({r.stderr.strip()[-300:]})")
        with open(os.path.join(photos, "image_0001.jpg"), "rb") as f:
            img = f.read()

        with H.Server(lib) as srv:
            shutil.move(model, model + ".gone")  # after start: a lazy load would now fail
            st, _, first = upload(srv.port, img)
            c.check(st == 200 and first and first["hits"] and first["hits"][0]["semantic"] > 0.99,
                    f"first upload query embeds with the model loaded at start ({st}, {first and first.get('error')})")
            st2, _, second = upload(srv.port, img)
            ok = st == 200 and st2 == 200 and bool(first and first["hits"] and second and second["hits"])
            c.check(ok and second["hits"][0]["id"] == first["hits"][0]["id"], "a later query agrees")
            if ok:
                print(f"first query timings {json.dumps(first['timings'])}; later {json.dumps(second['timings'])}")
            if c.failures:
                print(srv.log_text()[-2000:])

        # Model gone before start: the server still starts and serves filters; image queries
        # report the missing model instead of crashing.
        with H.Server(lib) as srv:
            st, lst = H.get_json("/api/photos?k=10", port=srv.port)
            c.check(st == 200 and len(lst["photos"]) == 3, "without its model the server still lists photos")
            st, _, body = upload(srv.port, img)
            c.check(st >= 400 and body and "error" in body, f"image query without the model is a clear error ({st})")
            c.finish(srv)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
