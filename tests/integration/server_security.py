"""Security of `viewfinder serve`: path traversal in every spelling, symlinks swapped out of
the library, files changed since indexing, authentication (token, cookie, basic), refusing an
unauthenticated non-loopback bind, body and upload limits, malformed and hostile uploads,
and the request queue's 503 + Retry-After under overload. The server must answer each with a
4xx/503 JSON error and keep running."""
import concurrent.futures
import os
import shutil
import sqlite3
import struct
import subprocess
import sys
import tempfile
import zlib

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "server_support"))
import harness as H  # noqa: E402

SECRET = b"root:x:0:0:TOP-SECRET-MARKER"


def main():
    H.require_env()
    c = H.Checks()
    tmp = tempfile.mkdtemp(prefix="vf-server-sec-")
    try:
        photos = H.make_photo_dir(tmp, flowers=8, cameras=2, dupes=False)
        lib = os.path.join(tmp, "lib")
        H.index_library(lib, photos)
        outside = os.path.join(tmp, "outside")
        os.makedirs(outside)
        with open(os.path.join(outside, "secret.txt"), "wb") as f:
            f.write(SECRET)
        with H.Server(lib, "--max-upload-mb", "2") as srv:
            traversal(c, srv)
            symlinks(c, srv, lib, photos, outside)
            uploads(c, srv, photos)
            c.check(srv.alive(), "server alive after hostile requests")
            if c.failures:
                c.finish(srv)
        auth(c, lib)
        binding(c, lib)
        tls(c, lib)
        overload(c, lib)
        c.finish()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def is_4xx_without_secret(st, body):
    return 400 <= st < 500 and SECRET not in body and b"root:" not in body


def traversal(c, srv):
    p = srv.port
    paths = [
        "/../../../../etc/passwd",
        "/..%2f..%2f..%2fetc%2fpasswd",
        "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
        "/..%252f..%252fetc%252fpasswd",
        "/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
        "/..\\..\\..\\etc\\passwd",
        "/etc/passwd",
        "//etc/passwd",
        "/./index.html/../../etc/passwd",
        "/index.html%00.png",
        "/.hidden",
        "/api/photos/..%2f..%2f..%2fetc%2fpasswd/original",
        "/api/photos/1/..%2f..%2f..%2f..%2fetc%2fpasswd",
        "/api/photos/%2fetc%2fpasswd/original",
        "/api/photos//etc/passwd/original",
        "/api/photos/1/original/../../../../etc/passwd",
        "/api/photos/-1/original",
        "/api/photos/0/original",
        "/api/photos/99999999999999999999999/original",
        "/api/photos/1%2f..%2f2/thumb",
        "/api/photos/0x1/thumb",
        "/api/openapi.yaml/../../../etc/passwd",
        "/" + "a/" * 3000,
    ]
    for path in paths:
        st, h, body = H.request("GET", path, port=p)
        c.check(is_4xx_without_secret(st, body), f"GET {path[:60]} -> {st}")
    # Absolute and scheme-qualified request targets.
    for target in ["http://127.0.0.1/etc/passwd", "file:///etc/passwd"]:
        st, h, body = H.request("GET", target, port=p)
        c.check(is_4xx_without_secret(st, body), f"GET {target} -> {st}")
    c.check(srv.alive(), "server alive after traversal attempts")


def catalog_rows(lib):
    db = sqlite3.connect(f"file:{os.path.join(lib, 'catalog.sqlite3')}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT id, path, thumb_path FROM photos ORDER BY id").fetchall()
        # Thumbnail paths are stored relative to the library.
        return [(i, path, os.path.join(lib, t) if t and not os.path.isabs(t) else t) for i, path, t in rows]
    finally:
        db.close()


def symlinks(c, srv, lib, photos, outside):
    p = srv.port
    rows = catalog_rows(lib)
    pid, path, thumb = rows[0]
    st, h, body = H.request("GET", f"/api/photos/{pid}/original", port=p)
    c.check(st == 200, "original served before tampering")

    # 1. The indexed file is swapped for a symlink to a file outside the library, with the
    #    same size and mtime (so only the containment check can catch it).
    target = os.path.join(outside, "looks_the_same.jpg")
    shutil.copy2(path, target)
    with open(target, "r+b") as f:  # same size, different bytes, same mtime restored below
        f.seek(100)
        f.write(SECRET)
    st0 = os.stat(path)
    os.utime(target, ns=(st0.st_atime_ns, st0.st_mtime_ns))
    os.rename(path, path + ".bak")
    os.symlink(target, path)
    st, h, body = H.request("GET", f"/api/photos/{pid}/original", port=p)
    c.check(is_4xx_without_secret(st, body) and st == 403, f"symlink out of the library -> 403 (got {st})")
    # The same rule for what derives from the original (issue 14.5): preview, thumb, metadata.
    for what in ("preview", "thumb", ""):
        url = f"/api/photos/{pid}/{what}".rstrip("/")
        st, h, body = H.request("GET", url, port=p)
        c.check(st == 403, f"{url} of a photo resolving outside the library -> 403 (got {st})")
    # Its pixels are not read for a heatmap or a region query either.
    other = rows[1][0]
    for url in (f"/api/explain?photo={pid}&query={other}", f"/api/explain?photo={other}&query={pid}"):
        st, h, body = H.request("GET", url, port=p)
        c.check(st == 403, f"{url} with a photo resolving outside the library -> 403 (got {st})")
    st, _ = H.post_json("/api/search", {"ids": [pid], "region": [0.1, 0.1, 0.5, 0.5]}, port=p)
    c.check(st == 403, f"region search on a photo resolving outside the library -> 403 (got {st})")
    # Nor as a candidate of another photo's region search (every photo here is a candidate):
    # the search answers, and the refusal to read its file is logged.
    refusal = f"refused: photo {pid} resolves outside the library"
    before = srv.log_text().count(refusal)
    st, r = H.post_json("/api/search", {"ids": [other], "region": [0.1, 0.1, 0.5, 0.5], "k": len(rows)}, port=p)
    c.check(st == 200 and pid in [h["id"] for h in r.get("hits", [])],
            f"region search with a candidate resolving outside the library answers, the candidate kept (got {st})")
    c.check(srv.log_text().count(refusal) > before, "the candidate's file was not read for its patches (refusal logged)")
    os.unlink(path)
    os.symlink(os.path.join(outside, "secret.txt"), path)
    st, h, body = H.request("GET", f"/api/photos/{pid}/original", port=p)
    c.check(is_4xx_without_secret(st, body), f"symlink to a secret outside -> {st}")
    os.unlink(path)
    os.rename(path + ".bak", path)

    # 2. The file is replaced in place (different size): not the indexed file any more.
    pid2, path2, _ = rows[1]
    with open(path2, "rb") as f:
        orig = f.read()
    st_orig = os.stat(path2)
    with open(path2, "ab") as f:
        f.write(b"appended")
    st, h, body = H.request("GET", f"/api/photos/{pid2}/original", port=p)
    c.check(st == 409, f"file changed since indexing -> 409 (got {st})")
    with open(path2, "wb") as f:
        f.write(orig)
    os.utime(path2, ns=(st_orig.st_atime_ns, st_orig.st_mtime_ns))
    st, h, body = H.request("GET", f"/api/photos/{pid2}/original", port=p)
    c.check(st == 200 and body == orig, "restored file is served again")

    # 3. A folder of the library swapped for a symlink to elsewhere.
    folder = os.path.dirname(path)
    os.rename(folder, folder + ".real")
    fake = os.path.join(outside, "fakefolder")
    os.makedirs(fake)
    shutil.copy2(os.path.join(folder + ".real", os.path.basename(path)), os.path.join(fake, os.path.basename(path)))
    os.symlink(fake, folder)
    st, h, body = H.request("GET", f"/api/photos/{pid}/original", port=p)
    c.check(st == 403, f"library folder swapped for a symlink out -> 403 (got {st})")
    os.unlink(folder)
    os.rename(folder + ".real", folder)

    # 4. A cached thumbnail swapped for a symlink to a secret.
    if thumb:
        os.rename(thumb, thumb + ".bak")
        os.symlink(os.path.join(outside, "secret.txt"), thumb)
        st, h, body = H.request("GET", f"/api/photos/{pid}/thumb", port=p)
        c.check(is_4xx_without_secret(st, body) and st == 403, f"thumbnail symlinked out -> 403 (got {st})")
        os.unlink(thumb)
        os.rename(thumb + ".bak", thumb)
        st, h, body = H.request("GET", f"/api/photos/{pid}/thumb", port=p)
        c.check(st == 200, "restored thumbnail served")
    # 5. A missing file.
    os.rename(path, path + ".gone")
    st, h, body = H.request("GET", f"/api/photos/{pid}/original", port=p)
    c.check(st == 404, f"deleted file -> 404 (got {st})")
    os.rename(path + ".gone", path)


def png_bomb(width, height):
    """A tiny valid PNG whose header claims width x height pixels."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def uploads(c, srv, photos):
    p = srv.port
    # Body over the limit (2 MB): refused with 413 before it is read.
    big = b"\xff\xd8\xff" + os.urandom(3 * 1024 * 1024)
    st, h, js = H.post_multipart("/api/search", {}, [("image", "big.jpg", big, "image/jpeg")], port=p)
    c.check(st == 413 and js and "error" in js, f"upload over --max-upload-mb -> 413 JSON (got {st})")
    st, h, body = H.request("POST", "/api/search", port=p, body=b"{" + b" " * (3 << 20) + b"}",
                            headers={"Content-Type": "application/json"})
    c.check(st == 413, f"JSON body over the limit -> 413 (got {st})")
    # Not an image.
    st, h, js = H.post_multipart("/api/search", {}, [("image", "notes.txt", b"hello, not a photo\n" * 50, "text/plain")], port=p)
    c.check(st == 415 and "not an image" in js["error"], f"text upload -> 415 ({js})")
    st, h, js = H.post_multipart("/api/search", {}, [("image", "fake.jpg", b"\xff\xd8\xff\xe0" + b"\0" * 500, "image/jpeg")], port=p)
    c.check(st in (415, 400) and js and "error" in js, f"corrupt JPEG -> {st} JSON")
    broken = os.path.join(H.PHOTOS, "broken")
    for name in sorted(os.listdir(broken))[:4]:
        full = os.path.join(broken, name)
        if not os.path.isfile(full):
            continue
        with open(full, "rb") as f:
            data = f.read()
        if len(data) > (2 << 20) - 4096:
            continue
        st, h, js = H.post_multipart("/api/search", {}, [("image", name, data, "image/jpeg")], port=p)
        c.check(st in (200, 400, 413, 415, 422) and js is not None, f"broken/{name} upload -> {st} (no crash)")
    # Decompression bomb: a 100 KB PNG claiming 60000 x 60000 pixels.
    st, h, js = H.post_multipart("/api/search", {}, [("image", "bomb.png", png_bomb(60000, 60000), "image/png")], port=p)
    c.check(st == 413 and js and "error" in js, f"pixel bomb -> 413 ({js})")
    # Empty upload, too many uploads.
    st, h, js = H.post_multipart("/api/search", {}, [("image", "empty.jpg", b"", "image/jpeg")], port=p)
    c.check(st == 400, f"empty upload -> 400 (got {st})")
    # Malformed multipart: bad boundary, truncated body, no boundary.
    body = b"--zzz\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.jpg\"\r\n\r\n\xff\xd8\xff"
    st, h, b = H.request("POST", "/api/search", port=p, body=body, headers={"Content-Type": "multipart/form-data; boundary=zzz"})
    c.check(400 <= st < 500, f"truncated multipart -> {st}")
    st, h, b = H.request("POST", "/api/search", port=p, body=b"garbage", headers={"Content-Type": "multipart/form-data; boundary=abc"})
    c.check(400 <= st < 500, f"garbage multipart -> {st}")
    st, h, b = H.request("POST", "/api/search", port=p, body=b"garbage", headers={"Content-Type": "multipart/form-data"})
    c.check(400 <= st < 500, f"multipart without boundary -> {st}")
    st, js = H.post_json("/api/search", b"{not json", port=p)
    c.check(st == 400 and js and "JSON" in js["error"], f"bad JSON -> 400 ({js})")
    st, js = H.post_json("/api/search", [1, 2, 3], port=p)
    c.check(st == 400, f"JSON array body -> 400 (got {st})")
    st, js = H.post_json("/api/search", {"ids": ["../../etc/passwd"]}, port=p)
    c.check(st == 400, f"non-numeric id -> 400 (got {st})")
    st, js = H.post_json("/api/search", {"ids": [1], "filters": {"date_from": "yesterday"}}, port=p)
    c.check(st == 400 and "date" in js["error"], "bad date -> 400 naming it")
    st, js = H.post_json("/api/search", {"ids": [1], "alpha": 7}, port=p)
    c.check(st == 400, "alpha out of range -> 400")
    # A good upload still works after all that.
    with open(os.path.join(photos, "flowers", "image_0001.jpg"), "rb") as f:
        st, h, js = H.post_multipart("/api/search", {"k": "3"}, [("image", "ok.jpg", f.read(), "image/jpeg")], port=p)
    c.check(st == 200 and len(js["hits"]) == 3, "a good upload still works after hostile ones")


def auth(c, lib):
    token = "s3cret-token-for-tests"
    with H.Server(lib, "--token", token) as srv:
        p = srv.port
        st, h, b = H.request("GET", "/api/stats", port=p)
        c.check(st == 401 and "bearer" in h.get("www-authenticate", "").lower(), "token: no credentials -> 401")
        st, h, b = H.request("GET", "/api/stats", port=p, headers={"Authorization": "Bearer wrong-token-xxxxx"})
        c.check(st == 401, "token: wrong token -> 401")
        st, h, b = H.request("GET", "/api/stats", port=p, headers={"Authorization": "Bearer " + token[:-1]})
        c.check(st == 401, "token: prefix of the token -> 401")
        st, h, b = H.request("GET", "/api/stats", port=p, headers={"Authorization": "Bearer " + token})
        c.check(st == 200, "token: right token -> 200")
        st, h, b = H.request("GET", "/api/photos/1/thumb", port=p, headers={"Cookie": "x=1; vf_token=" + token})
        c.check(st == 200, "token: cookie accepted for image GETs")
        st, js = H.post_json("/api/search", {"ids": [1]}, port=p, headers={"Cookie": "vf_token=" + token})
        c.check(st == 401, "token: cookie alone is not enough for POST (CSRF)")
        st, js = H.post_json("/api/index", {}, port=p)
        c.check(st == 401, "token: re-index trigger needs auth")
        st, h, b = H.request("GET", "/api/photos/1/original", port=p)
        c.check(st == 401, "token: originals need auth")
        st, h, b = H.request("GET", "/api/health", port=p)
        c.check(st == 200, "token: health check is open (no data)")
        st, h, b = H.request("GET", "/", port=p)
        c.check(st == 200, "token: UI shell loads so it can ask for the token")
    with H.Server(lib, env={"VIEWFINDER_TOKEN": token}) as srv:
        st, h, b = H.request("GET", "/api/stats", port=srv.port)
        c.check(st == 401, "VIEWFINDER_TOKEN env turns auth on")
    with H.Server(lib, "--basic-auth", "studio:pa55word") as srv:
        p = srv.port
        st, h, b = H.request("GET", "/", port=p)
        c.check(st == 401 and h.get("www-authenticate", "").startswith("Basic"), "basic: UI asks for credentials")
        import base64
        good = "Basic " + base64.b64encode(b"studio:pa55word").decode()
        bad = "Basic " + base64.b64encode(b"studio:wrong").decode()
        st, h, b = H.request("GET", "/api/stats", port=p, headers={"Authorization": bad})
        c.check(st == 401, "basic: wrong password -> 401")
        st, h, b = H.request("GET", "/api/stats", port=p, headers={"Authorization": good})
        c.check(st == 200, "basic: right password -> 200")
        st, h, b = H.request("GET", "/", port=p, headers={"Authorization": good})
        c.check(st == 200, "basic: UI with credentials")
    # Config file carries auth (the recommended way: not visible in ps).
    cfg = os.path.join(os.path.dirname(lib), "server.json")
    with open(cfg, "w") as f:
        f.write('{"token": "%s", "max_concurrent": 1}' % token)
    with H.Server(lib, "--config", cfg) as srv:
        st, h, b = H.request("GET", "/api/stats", port=srv.port)
        st2, h, b2 = H.request("GET", "/api/stats", port=srv.port, headers={"Authorization": "Bearer " + token})
        c.check(st == 401 and st2 == 200 and b'"max_concurrent":1' in b2, "config file sets token and limits")


def binding(c, lib):
    port = H.free_port()
    r = subprocess.run([H.VF_BIN, "serve", "--library", lib, "--host", "0.0.0.0", "--port", str(port)],
                       capture_output=True, text=True, timeout=30,
                       env={k: v for k, v in os.environ.items() if k != "VIEWFINDER_TOKEN"})
    c.check(r.returncode != 0 and "without authentication" in r.stderr,
            f"0.0.0.0 without auth is refused ({r.returncode}: {r.stderr.strip()[:120]})")
    r = subprocess.run([H.VF_BIN, "serve", "--library", lib, "--host", "0.0.0.0", "--port", str(port), "--token", "short"],
                       capture_output=True, text=True, timeout=30)
    c.check(r.returncode != 0 and "too short" in r.stderr, "a too-short token is refused")
    r = subprocess.run([H.VF_BIN, "serve", "--library", lib, "--tls-cert", "/nonexistent.pem", "--port", str(port)],
                       capture_output=True, text=True, timeout=30)
    c.check(r.returncode != 0 and "tls" in r.stderr.lower(), "TLS cert without key is refused")
    with H.Server(lib, "--allow-insecure-remote", host="0.0.0.0") as srv:
        c.check("WARNING" in srv.log_text(), "--allow-insecure-remote starts with a warning")
    with H.Server(lib, "--token", "a-long-enough-token", host="0.0.0.0") as srv:
        st, h, b = H.request("GET", "/api/stats", port=srv.port)
        c.check(st == 401, "0.0.0.0 with a token starts and requires it")


def tls(c, lib):
    """Optional HTTPS: a self-signed certificate made with the openssl CLI."""
    import ssl
    import http.client
    d = os.path.dirname(lib)
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-keyout", key, "-out", cert, "-subj", "/CN=localhost"], capture_output=True)
    if r.returncode != 0:
        print("  (openssl CLI unavailable: TLS not checked)")
        return
    port = H.free_port()
    proc = subprocess.Popen([H.VF_BIN, "serve", "--library", lib, "--port", str(port), "--tls-cert", cert,
                             "--tls-key", key, "--token", "tls-test-token-0123"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        ctx = ssl.create_default_context(cafile=cert)
        ctx.check_hostname = False
        st = None
        for _ in range(100):
            try:
                conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=5)
                conn.request("GET", "/api/stats", headers={"Authorization": "Bearer tls-test-token-0123"})
                st = conn.getresponse().status
                break
            except OSError:
                import time
                time.sleep(0.1)
        c.check(st == 200, f"TLS: HTTPS with the given certificate works (got {st})")
        # Plain HTTP to the TLS port gets nothing useful.
        try:
            st2, _, _ = H.request("GET", "/api/stats", port=port, timeout=5)
        except Exception:
            st2 = None
        c.check(st2 != 200, "TLS: plain HTTP is not served on the TLS port")
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    r = subprocess.run([H.VF_BIN, "serve", "--library", lib, "--port", str(H.free_port()), "--tls-cert", key,
                        "--tls-key", key], capture_output=True, text=True, timeout=30)
    c.check(r.returncode != 0 and "certificate" in r.stderr, f"a bad certificate is refused ({r.stderr.strip()[:100]})")


def overload(c, lib):
    big = None
    for dirpath, _, files in os.walk(os.path.join(H.PHOTOS, "camera_exif")):
        for f in sorted(files):
            full = os.path.join(dirpath, f)
            if f.lower().endswith(".jpg") and 2_000_000 < os.path.getsize(full) < 8_000_000:
                big = full
                break
        if big:
            break
    with open(big, "rb") as f:
        data = f.read()
    with H.Server(lib, "--max-concurrent", "1", "--max-queue", "0") as srv:
        p = srv.port

        def one(_):
            return H.post_multipart("/api/search", {"k": "5"}, [("image", "big.jpg", data, "image/jpeg")], port=p)

        with concurrent.futures.ThreadPoolExecutor(12) as ex:
            results = list(ex.map(one, range(24)))
        codes = [r[0] for r in results]
        busy = [r for r in results if r[0] == 503]
        c.check(set(codes) <= {200, 503}, f"overload: every answer is 200 or 503 ({sorted(set(codes))})")
        c.check(len(busy) >= 1 and codes.count(200) >= 1, f"overload: some 503s, some served ({codes.count(200)} ok, {len(busy)} busy)")
        c.check(all(r[1].get("retry-after") and r[2] and "busy" in r[2]["error"] for r in busy),
                "503s carry Retry-After and a JSON error")
        c.check(srv.alive(), "server answers after the overload")
        st, js = H.get_json("/api/stats", port=p)
        q = js["server"]["queue"]["rejected"] + js["server"]["upload_queue"]["rejected"]
        c.check(q == len(busy), "stats count the rejected requests")


if __name__ == "__main__":
    main()
