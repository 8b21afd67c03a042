#!/usr/bin/env python3
"""A local stand-in for the Hugging Face hub, serving fixture model folders in the hub's URL and JSON shapes:

  GET /api/models/{repo}/revision/{rev}?blobs=true
      -> {"id", "sha", "siblings": [{"rfilename", "size", "blobId", "lfs": {"sha256", "size", "pointerSize"}}]}
  GET /{repo}/resolve/{rev}/{path}   (with Range: bytes=N- support, 206 Partial Content)

Options: --port-file F (writes the chosen port), --log F (one line per request with its Range header),
--corrupt NAME (serve NAME with one byte flipped), --hide NAME (leave NAME out of listings), --no-range.
"""
import argparse, hashlib, json, os, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COMMIT = "0123456789abcdef0123456789abcdef01234567"

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixtures", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", default=os.devnull)
    ap.add_argument("--corrupt", action="append", default=[])
    ap.add_argument("--hide", action="append", default=[])
    ap.add_argument("--no-range", action="store_true")
    a = ap.parse_args()
    repos = {
        "openai/clip-vit-base-patch32": "tiny-clip",
        "timm/vit_base_patch32_clip_224.openai": "tiny-clip-openclip",
        "sentence-transformers/clip-ViT-B-32-multilingual-v1": "tiny-mclip",
    }

    def files_of(repo):
        root = os.path.join(a.fixtures, "models", repos[repo])
        out = []
        for d, _, names in os.walk(root):
            for n in sorted(names):
                rel = os.path.relpath(os.path.join(d, n), root)
                if rel not in a.hide:
                    out.append((rel, os.path.join(d, n)))
        return out

    def content(path, rel):
        data = open(path, "rb").read()
        if rel in a.corrupt:
            data = data[:len(data) // 2] + bytes([data[len(data) // 2] ^ 0xFF]) + data[len(data) // 2 + 1:]
        return data

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def send(self, code, body, ctype="application/json", extra=None):
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            with open(a.log, "a") as log:
                log.write("%s range=%s\n" % (self.path, self.headers.get("Range")))
            path = self.path.split("?")[0]
            if path.startswith("/api/models/"):
                rest = path[len("/api/models/"):]
                repo, _, rev = rest.partition("/revision/")
                if repo not in repos:
                    return self.send(404, b'{"error": "Repository not found"}')
                sib = []
                for rel, full in files_of(repo):
                    data = open(full, "rb").read()
                    entry = {"rfilename": rel, "size": len(data), "blobId": hashlib.sha1(data).hexdigest()}
                    if len(data) > 100000:  # large files live in LFS, whose sha256 the hub reports
                        entry["lfs"] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
                    sib.append(entry)
                return self.send(200, json.dumps({"id": repo, "sha": COMMIT, "siblings": sib}).encode())
            for repo in repos:
                prefix = "/%s/resolve/" % repo
                if path.startswith(prefix):
                    rev, _, rel = path[len(prefix):].partition("/")
                    for r, full in files_of(repo):
                        if r == rel:
                            data = content(full, rel)
                            rng = self.headers.get("Range")
                            if rng and not a.no_range and rng.startswith("bytes="):
                                start = int(rng[6:].split("-")[0])
                                return self.send(206, data[start:], "application/octet-stream",
                                                 {"Content-Range": "bytes %d-%d/%d" % (start, len(data) - 1, len(data))})
                            return self.send(200, data, "application/octet-stream")
                    return self.send(404, b"Entry not found", "text/plain")
            self.send(404, b"not found", "text/plain")

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(a.port_file, "w") as f:
        f.write(str(srv.server_address[1]))
    srv.serve_forever()

if __name__ == "__main__":
    main()
