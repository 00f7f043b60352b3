#!/usr/bin/python3
"""`viewfinder model download` against a local hub: a Python HTTP server on 127.0.0.1 that
serves the golden tiny model under the Hugging Face URL layout
({endpoint}/{repo}/resolve/{revision}/{file}), with HEAD, Range requests, an LFS-style
redirect carrying X-Linked-Etag (sha256) / X-Linked-Size, and a bearer-token-gated repo.

Checks: a fresh download matches the source bytes and validates; a partial
model.safetensors.incomplete is resumed with a Range request; a corrupt resume is caught by
the sha256 check; a gated repo needs HF_TOKEN; a missing repo is a clear 404; no network
(HF_ENDPOINT at a closed port) is a clear one-line error; `model info --json` reads the result.
"""
import hashlib
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading

VF_BIN = os.environ["VF_BIN"]
SRC = os.path.join(os.environ["VF_SHARED"], "golden", "models", "tiny")
FILES = ["config.json", "model.safetensors", "preprocessor_config.json"]
BLOBS = {f: open(os.path.join(SRC, f), "rb").read() for f in FILES}
SHA = {f: hashlib.sha256(b).hexdigest() for f, b in BLOBS.items()}
TOKEN = "hf_test_token_123"
LOG = []  # (method, path, range header, authorization)
CORRUPT = {"on": False}


class Hub(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def resolve(self):
        # /{owner}/{name}/resolve/{rev}/{file}  or the "CDN" path /cdn/{file}
        parts = self.path.split("/")
        if len(parts) == 3 and parts[1] == "cdn" and parts[2] in BLOBS:
            return "cdn", parts[2]
        if len(parts) == 6 and parts[3] == "resolve" and parts[4] == "main":
            repo = parts[1] + "/" + parts[2]
            if repo not in ("test/tiny", "test/gated"):
                return "missing", None
            if repo == "test/gated" and self.headers.get("Authorization") != "Bearer " + TOKEN:
                return "denied", None
            if parts[5] in BLOBS:
                return "hub", parts[5]
        return "missing", None

    def reply(self, body):
        LOG.append((self.command, self.path, self.headers.get("Range"), self.headers.get("Authorization")))
        kind, f = self.resolve()
        if kind in ("missing", "denied"):
            code = 404 if kind == "missing" else 401
            msg = b"Repository not found"
            self.send_response(code)
            self.send_header("Content-Length", str(len(msg)))
            self.end_headers()
            if body:
                self.wfile.write(msg)
            return
        data = BLOBS[f]
        if kind == "hub" and f.endswith(".safetensors"):
            # Like the hub for LFS files: redirect to the CDN, announcing sha256 and size.
            self.send_response(302)
            self.send_header("Location", "/cdn/" + f)
            self.send_header("X-Linked-Etag", '"%s"' % SHA[f])
            self.send_header("X-Linked-Size", str(len(data)))
            self.send_header("ETag", '"%s"' % SHA[f])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if CORRUPT["on"] and f.endswith(".safetensors"):
            data = data[:-64] + bytes(64)
        start = 0
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes="):
            start = int(rng[6:].split("-")[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data) - start))
        self.send_header("ETag", '"%s"' % hashlib.sha1(data).hexdigest())  # git blob-style, not a sha256
        self.end_headers()
        if body:
            self.wfile.write(data[start:])

    def do_HEAD(self):
        self.reply(False)

    def do_GET(self):
        self.reply(True)


def run(args, env_extra=None, expect_rc=0):
    env = dict(os.environ)
    env.pop("HF_TOKEN", None)
    env.update(env_extra or {})
    p = subprocess.run([VF_BIN] + args, capture_output=True, text=True, env=env, timeout=120)
    if p.returncode != expect_rc:
        print("command:", args, "rc", p.returncode, "\nstdout:", p.stdout, "\nstderr:", p.stderr)
        sys.exit(1)
    return p


def check(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)
    print("ok:", what)


def same_as_source(d):
    return all(open(os.path.join(d, f), "rb").read() == BLOBS[f] for f in FILES)


def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = "http://127.0.0.1:%d" % server.server_address[1]
    env = {"HF_ENDPOINT": endpoint}
    tmp = tempfile.mkdtemp(prefix="vf_dl_")
    try:
        # 1. Fresh download.
        d1 = os.path.join(tmp, "fresh")
        p = run(["model", "download", "test/tiny", "--to", d1], env)
        check(same_as_source(d1), "fresh download matches the source files")
        check(not any(n.endswith(".incomplete") for n in os.listdir(d1)), "no .incomplete left behind")
        check("dinov2" in p.stdout, "download prints the model summary")
        info = json.loads(run(["model", "info", d1, "--json"]).stdout)
        check(info["sha256"] == SHA["model.safetensors"] and info["num_parameters"] == 225856,
              "model info reads the downloaded model")

        # 2. Resume: a partial .incomplete is continued with a Range request.
        d2 = os.path.join(tmp, "resume")
        os.makedirs(d2)
        half = len(BLOBS["model.safetensors"]) // 2
        with open(os.path.join(d2, "model.safetensors.incomplete"), "wb") as f:
            f.write(BLOBS["model.safetensors"][:half])
        LOG.clear()
        run(["model", "download", "test/tiny", "--to", d2], env)
        check(same_as_source(d2), "resumed download matches the source")
        ranged = [r for r in LOG if r[0] == "GET" and r[1] == "/cdn/model.safetensors"]
        check(ranged and ranged[-1][2] == "bytes=%d-" % half, "resume sent Range: bytes=%d-" % half)

        # 3. A second run finds the files complete and fetches nothing big.
        LOG.clear()
        run(["model", "download", "test/tiny", "--to", d2], env)
        check(not [r for r in LOG if r[0] == "GET" and r[1].endswith(".safetensors")],
              "complete files are not downloaded again")

        # 4. Corrupt bytes are caught by the sha256 from X-Linked-Etag.
        d3 = os.path.join(tmp, "corrupt")
        CORRUPT["on"] = True
        p = run(["model", "download", "test/tiny", "--to", d3], env, expect_rc=1)
        CORRUPT["on"] = False
        check("sha256" in p.stderr and "does not match" in p.stderr, "corrupt download rejected: " + p.stderr.strip())
        check(not os.path.exists(os.path.join(d3, "model.safetensors")), "corrupt file not installed")

        # 5. Gated repo: 401 without a token, works with HF_TOKEN (Authorization: Bearer).
        d4 = os.path.join(tmp, "gated")
        p = run(["model", "download", "test/gated", "--to", d4], env, expect_rc=1)
        check("401" in p.stderr and "HF_TOKEN" in p.stderr, "gated repo without token: " + p.stderr.strip())
        LOG.clear()
        run(["model", "download", "test/gated", "--to", d4], dict(env, HF_TOKEN=TOKEN))
        check(same_as_source(d4), "gated repo with HF_TOKEN downloads")
        check(all(r[3] == "Bearer " + TOKEN for r in LOG if not r[1].startswith("/cdn/")),
              "token sent to the hub as a bearer token")

        # 6. Missing repo: clear 404.
        p = run(["model", "download", "nobody/nothing", "--to", os.path.join(tmp, "missing")], env, expect_rc=1)
        check("404" in p.stderr and len(p.stderr.strip().splitlines()) == 1, "missing repo: " + p.stderr.strip())

        # 7. No network: a closed local port.
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
        s.close()
        p = run(["model", "download", "test/tiny", "--to", os.path.join(tmp, "offline")],
                {"HF_ENDPOINT": "http://127.0.0.1:%d" % closed}, expect_rc=1)
        err = p.stderr.strip()
        check(err.startswith("error:") and "cannot download" in err and len(err.splitlines()) == 1,
              "no network gives a one-line error: " + err)
    finally:
        server.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)
    print("all model download checks passed")


if __name__ == "__main__":
    main()
