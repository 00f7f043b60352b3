"""Previews made on first view (GET /api/photos/{id}/preview): a library indexed with the
defaults holds no preview files; the server makes a 1280 px preview (or the original's size
when smaller) from the original on first view, caches it by content hash, and refuses it under
the rules of originals (403 outside the library, 409 changed since indexing). `index --previews`
makes them at indexing instead, and the server serves those files as they are."""
import os
import shutil
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "server_support"))
import harness as H  # noqa: E402
from clusters_thumbs import jpeg_size  # noqa: E402

BIG = os.path.join(H.PHOTOS, "camera_exif", "exif-samples", "tests", "42_IndexError.jpg")  # 4032x3024
CAMERA = os.path.join(H.PHOTOS, "camera_exif", "exif-samples", "gps", "DSCN0029.jpg")  # 640x480
FLOWERS = [os.path.join(H.PHOTOS, "flowers17", "images", f"image_000{i}.jpg") for i in (1, 2)]


def make_photos(tmp):
    photos = os.path.join(tmp, "photos")
    os.makedirs(photos)
    for i, src in enumerate([BIG, CAMERA, *FLOWERS]):
        shutil.copy2(src, os.path.join(photos, f"{i}_{os.path.basename(src)}"))
    # A second 4032x3024 photo with other bytes (another content hash) for the refusals.
    with open(BIG, "rb") as f:
        data = f.read()
    with open(os.path.join(photos, "big_copy.jpg"), "wb") as f:
        f.write(data + b"\0" * 16)  # bytes after the end of the JPEG: the same picture
    return photos


def preview_files(lib):
    return [f for _, _, files in os.walk(os.path.join(lib, "thumbs")) for f in files if f.endswith(".preview.jpg")]


def photos_by_name(port):
    st, lst = H.get_json("/api/photos?k=100", port=port)
    return {x["name"]: x for x in lst["photos"]}


def lazy_previews(c, tmp):
    photos = make_photos(tmp)
    lib = os.path.join(tmp, "lazy")
    H.index_library(lib, photos)
    c.check(preview_files(lib) == [], "indexed with the defaults: no preview files")
    with H.Server(lib) as srv:
        p = srv.port
        by_name = photos_by_name(p)
        big, small = by_name["0_42_IndexError.jpg"], by_name["1_DSCN0029.jpg"]
        st, h, body = H.request("GET", f"/api/photos/{big['id']}/preview", port=p)
        wh = jpeg_size(body) if st == 200 else None
        c.check(st == 200 and h["content-type"] == "image/jpeg" and wh and max(wh) == 1280,
                f"first view of a 4032x3024 photo: a 1280 px preview ({st}, {wh})")
        c.check(wh and abs(wh[0] / wh[1] - 4032 / 3024) < 0.01, "the preview keeps the aspect ratio")
        h_big = H.get_json(f"/api/photos/{big['id']}", port=p)[1]["content_hash"]
        cached = os.path.join(lib, "thumbs", h_big[:2], f"{h_big}.1280.jpg")
        c.check(os.path.isfile(cached) and open(cached, "rb").read() == body, "the preview is cached by content hash")
        # The second view reads the cache file: what it holds is what comes back.
        st, _, small_body = H.request("GET", f"/api/photos/{small['id']}/preview", port=p)
        c.check(st == 200 and jpeg_size(small_body) == (small["width"], small["height"]),
                f"a {small['width']}x{small['height']} original gives a preview of its own size, not upscaled")
        shutil.copyfile(cached, cached + ".keep")
        with open(cached, "wb") as f:
            f.write(small_body)
        st, _, again = H.request("GET", f"/api/photos/{big['id']}/preview", port=p)
        c.check(st == 200 and again == small_body, "the second view is served from the cache file")
        os.replace(cached + ".keep", cached)

        # Refusals, as for originals: the preview is made from the original through its checked read.
        copy = by_name["big_copy.jpg"]
        path = os.path.join(photos, "big_copy.jpg")
        os.rename(path, path + ".bak")
        outside = os.path.join(tmp, "outside.jpg")
        shutil.copy2(path + ".bak", outside)
        os.symlink(outside, path)
        st, _, _ = H.request("GET", f"/api/photos/{copy['id']}/preview", port=p)
        c.check(st == 403, f"original resolving outside the library -> preview 403 (got {st})")
        os.unlink(path)
        os.rename(path + ".bak", path)
        with open(path, "ab") as f:
            f.write(b"changed")
        st, _, _ = H.request("GET", f"/api/photos/{copy['id']}/preview", port=p)
        c.check(st == 409, f"original changed since indexing -> preview 409 (got {st})")
        h_copy = H.get_json(f"/api/photos/{copy['id']}", port=p)[1]["content_hash"]
        c.check(not os.path.exists(os.path.join(lib, "thumbs", h_copy[:2], f"{h_copy}.1280.jpg")),
                "a refused preview leaves nothing in the cache")
        # Sizes between the thumbnail and the preview come from the original too.
        st, _, body = H.request("GET", f"/api/photos/{big['id']}/thumb?size=1024", port=p)
        c.check(st == 200 and max(jpeg_size(body)) == 1024, "thumb?size=1024 without an indexed preview")
    return photos


def eager_previews(c, tmp, photos):
    lib = os.path.join(tmp, "eager")
    H.index_library(lib, photos, "--previews")
    made = preview_files(lib)
    c.check(len(made) == 5, f"index --previews makes one preview per photo at indexing ({len(made)} of 5)")
    with H.Server(lib) as srv:
        big = photos_by_name(srv.port)["0_42_IndexError.jpg"]
        h_big = H.get_json(f"/api/photos/{big['id']}", port=srv.port)[1]["content_hash"]
        indexed = os.path.join(lib, "thumbs", h_big[:2], f"{h_big}.preview.jpg")
        st, _, body = H.request("GET", f"/api/photos/{big['id']}/preview", port=srv.port)
        c.check(st == 200 and os.path.isfile(indexed) and body == open(indexed, "rb").read()
                and max(jpeg_size(body)) == 1280, "the preview made at indexing is served as it is")


def main():
    H.require_env()
    c = H.Checks()
    tmp = tempfile.mkdtemp(prefix="vf-previews-")
    try:
        photos = lazy_previews(c, tmp)
        eager_previews(c, tmp, photos)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    c.finish()


if __name__ == "__main__":
    main()
