"""Shared helpers for the server tests: a small real library indexed with the golden tiny
model, a real `viewfinder serve` process on a free loopback port, and raw HTTP helpers
(http.client, so that paths go on the wire exactly as written: no client-side
normalisation of '..' or percent escapes)."""
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid

VF_BIN = os.environ.get("VF_BIN", "")
VF_SHARED = os.environ.get("VF_SHARED", "")
VF_BUILD_DIR = os.environ.get("VF_BUILD_DIR", "")
TINY_MODEL = os.path.join(VF_SHARED, "golden", "models", "tiny")
PHOTOS = os.path.join(VF_SHARED, "photos")


def require_env():
    if not VF_BIN or not os.path.exists(VF_BIN):
        sys.exit("VF_BIN is not set to the viewfinder binary")
    if not os.path.isdir(TINY_MODEL):
        sys.exit(f"golden tiny model missing: {TINY_MODEL} (set VF_SHARED)")


def make_photo_dir(root, flowers=24, cameras=6, dupes=True):
    """Copies a small, varied photo set: flower classes, camera JPEGs with EXIF, and a group
    of re-encoded variants of one photo (near-duplicates)."""
    photos = os.path.join(root, "photos")
    os.makedirs(os.path.join(photos, "flowers"))
    src = os.path.join(PHOTOS, "flowers17", "images")
    # Two classes of 12 (image_0001..0012 and image_0081..0092) so similar-search has
    # real neighbours.
    names = [f"image_{i:04d}.jpg" for i in list(range(1, 13)) + list(range(81, 93))][:flowers]
    for n in names:
        shutil.copy2(os.path.join(src, n), os.path.join(photos, "flowers", n))
    cams = []
    for dirpath, _, files in os.walk(os.path.join(PHOTOS, "camera_exif")):
        for f in sorted(files):
            p = os.path.join(dirpath, f)
            if f.lower().endswith(".jpg") and 20_000 < os.path.getsize(p) < 400_000:
                cams.append(p)
    os.makedirs(os.path.join(photos, "cameras"))
    for p in sorted(cams)[:cameras]:
        shutil.copy2(p, os.path.join(photos, "cameras", os.path.basename(p)))
    if dupes:
        d = os.path.join(PHOTOS, "near_duplicates", "libjxl_flower_variants")
        os.makedirs(os.path.join(photos, "variants"))
        for f in sorted(os.listdir(d))[:5]:
            shutil.copy2(os.path.join(d, f), os.path.join(photos, "variants", f))
    return photos


def index_library(lib, photos, *extra):
    r = subprocess.run([VF_BIN, "index", "--library", lib, "--model", TINY_MODEL, "-q", *extra, photos],
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        sys.exit(f"indexing the test library failed:\n{r.stdout}\n{r.stderr}")
    return r


def vf(*args, expect=0, timeout=900):
    """Runs the viewfinder CLI and returns the CompletedProcess. A status other than `expect`
    (None: any status) ends the test, printing the command and its output."""
    r = subprocess.run([VF_BIN, *args], capture_output=True, text=True, timeout=timeout)
    if expect is not None and r.returncode != expect:
        print("command: viewfinder", " ".join(args), "\nstdout:", r.stdout[-2000:], "\nstderr:", r.stderr[-2000:])
        sys.exit(f"exit {r.returncode}, expected {expect}")
    return r


def vfj(*args):
    """The JSON a CLI command prints with --json."""
    return json.loads(vf(*args, "--json").stdout)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    def __init__(self, lib, *extra, env=None, host="127.0.0.1"):
        self.port = free_port()
        self.host = host
        self.log = tempfile.NamedTemporaryFile(prefix="vf-serve-", suffix=".log", delete=False)
        self.args = [VF_BIN, "serve", "--library", lib, "--host", host, "--port", str(self.port), *extra]
        e = dict(os.environ)
        e.pop("VIEWFINDER_TOKEN", None)
        if env:
            e.update(env)
        self.proc = subprocess.Popen(self.args, stdout=self.log, stderr=subprocess.STDOUT, env=e)
        self.wait_ready()

    def wait_ready(self, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log_text()}")
            try:
                st, _, _ = request("GET", "/api/health", port=self.port, timeout=2)
                if st == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not come up:\n" + self.log_text())

    def alive(self):
        if self.proc.poll() is not None:
            return False
        st, _, _ = request("GET", "/api/health", port=self.port)
        return st == 200

    def log_text(self):
        with open(self.log.name, errors="replace") as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def request(method, path, *, port, body=None, headers=None, timeout=60):
    """Raw request; returns (status, headers dict lower-cased, body bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        hdrs = dict(headers or {})
        # A Host given by the test replaces the client's own (one Host, as a browser sends).
        conn.putrequest(method, path, skip_accept_encoding=True, skip_host="Host" in hdrs)
        if body is not None:
            hdrs.setdefault("Content-Length", str(len(body)))
        for k, v in hdrs.items():
            conn.putheader(k, v)
        conn.endheaders()
        if body is not None:
            conn.send(body)
        r = conn.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        conn.close()


def get_json(path, *, port, headers=None):
    st, h, b = request("GET", path, port=port, headers=headers)
    return st, (json.loads(b) if b and h.get("content-type", "").startswith("application/json") else None)


def post_json(path, obj, *, port, headers=None):
    hdrs = {"Content-Type": "application/json", **(headers or {})}
    body = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    st, h, b = request("POST", path, port=port, body=body, headers=hdrs)
    return st, (json.loads(b) if b and h.get("content-type", "").startswith("application/json") else None)


def multipart(fields=None, files=None):
    """fields: {name: str}; files: [(field, filename, bytes, content_type)]."""
    boundary = "vf" + uuid.uuid4().hex
    out = bytearray()
    for name, value in (fields or {}).items():
        out += f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n".encode()
        out += value.encode() + b"\r\n"
    for field, filename, data, ctype in (files or []):
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n"
                f"Content-Type: {ctype}\r\n\r\n").encode()
        out += data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def post_multipart(path, fields=None, files=None, *, port, headers=None):
    body, ctype = multipart(fields, files)
    st, h, b = request("POST", path, port=port, body=body, headers={"Content-Type": ctype, **(headers or {})})
    return st, h, (json.loads(b) if b and h.get("content-type", "").startswith("application/json") else None)


class Checks:
    """Collects failures so that one run reports every broken behaviour, not just the first."""

    def __init__(self):
        self.failures = []
        self.count = 0

    def check(self, cond, what):
        self.count += 1
        if cond:
            print(f"  ok   {what}")
        else:
            print(f"  FAIL {what}")
            self.failures.append(what)
        return cond

    def finish(self, server=None):
        if self.failures and server is not None:
            print("---- server log (tail) ----")
            print(server.log_text()[-4000:])
        print(f"{self.count - len(self.failures)}/{self.count} checks passed")
        sys.exit(1 if self.failures else 0)
