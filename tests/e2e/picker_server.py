#!/usr/bin/env python3
"""A local stand-in for Google's OAuth 2.0 and Photos Picker API endpoints, following their documented shapes:

  GET  /o/oauth2/v2/auth?client_id&redirect_uri&response_type=code&scope&code_challenge&code_challenge_method=S256&state
       -> 302 to redirect_uri?code=...&state=...        (the user's consent, given at once)
  POST /token  (form: grant_type=authorization_code with code, client_id, client_secret, redirect_uri, code_verifier;
       or grant_type=refresh_token) -> {"access_token", "expires_in", "refresh_token", "scope", "token_type"}
  POST /v1/sessions -> PickingSession {"id", "pickerUri", "pollingConfig": {"pollInterval", "timeoutIn"},
       "expireTime", "mediaItemsSet"}
  GET  /v1/sessions/{id}; DELETE /v1/sessions/{id} -> {}
  GET  /v1/mediaItems?sessionId&pageSize&pageToken -> {"mediaItems": [PickedMediaItem], "nextPageToken"};
       FAILED_PRECONDITION (400) until the user has picked
  GET  /lh3/{generation}/{id}=d (photos) or =dv (videos), bearer token required; 403 once a listing's URLs expire
Every API call without a valid bearer token is 401 UNAUTHENTICATED. /test/stats reports what happened.
"""
import argparse, base64, hashlib, json, os, threading, time, urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--photo", action="append", default=[])
    ap.add_argument("--video", action="append", default=[])
    ap.add_argument("--page-size", type=int, default=2)
    ap.add_argument("--expire-after", type=int, default=0, help="a listing's URLs expire after this many downloads")
    ap.add_argument("--slow", default="", help="item id whose download stalls 5 s (to interrupt it)")
    ap.add_argument("--flaky", action="store_true", help="answer the first mediaItems.list with 429")
    a = ap.parse_args()
    items = []
    for i, p in enumerate(a.photo):
        items.append({"id": "p%d" % i, "path": p, "type": "PHOTO", "mime": "image/jpeg", "time": "2020-05-%02dT10:00:00Z" % (i + 1)})
    for i, p in enumerate(a.video):
        items.append({"id": "v%d" % i, "path": p, "type": "VIDEO", "mime": "video/mp4", "time": "2021-08-01T12:30:00.123Z"})
    # refresh tokens outlive a restart, as Google's do
    state = {"challenges": {}, "tokens": set(), "refresh": {"rt-1"}, "sessions": {}, "downloads": {}, "generation": 1,
             "since_listing": 0, "polls": 0, "deleted": [], "flaky": a.flaky, "unauthorized": 0, "token_grants": []}
    lock = threading.Lock()

    class H(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def send_json(self, code, obj):
            body = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def error(self, code, status, message):
            self.send_json(code, {"error": {"code": code, "message": message, "status": status}})

        def authed(self):
            h = self.headers.get("Authorization", "")
            ok = h.startswith("Bearer ") and h[7:] in state["tokens"]
            if not ok:
                state["unauthorized"] += 1
                self.error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
            return ok

        def do_GET(self):
            u = urllib.parse.urlparse(self.path)
            q = dict(urllib.parse.parse_qsl(u.query))
            with lock:
                if u.path == "/o/oauth2/v2/auth":
                    need = ["client_id", "redirect_uri", "response_type", "scope", "code_challenge", "code_challenge_method", "state"]
                    if any(k not in q for k in need) or q["response_type"] != "code" or q["code_challenge_method"] != "S256" \
                            or "photospicker.mediaitems.readonly" not in q["scope"] or not q["redirect_uri"].startswith("http://127.0.0.1:"):
                        return self.error(400, "INVALID_ARGUMENT", "bad authorization request")
                    code = "code-%d" % len(state["challenges"])
                    state["challenges"][code] = (q["code_challenge"], q["redirect_uri"], q["client_id"])
                    self.send_response(302)
                    self.send_header("Location", q["redirect_uri"] + "/?" + urllib.parse.urlencode({"state": q["state"], "code": code, "scope": q["scope"]}))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if u.path == "/test/stats":
                    return self.send_json(200, {"downloads": state["downloads"], "deleted": state["deleted"], "polls": state["polls"],
                                                "unauthorized": state["unauthorized"], "generation": state["generation"],
                                                "token_grants": state["token_grants"]})
                if u.path.startswith("/v1/sessions/"):
                    if not self.authed():
                        return
                    sid = u.path.rsplit("/", 1)[1]
                    s = state["sessions"].get(sid)
                    if not s:
                        return self.error(404, "NOT_FOUND", "Requested entity was not found.")
                    state["polls"] += 1
                    s["polls"] += 1
                    if s["polls"] >= 2:
                        s["mediaItemsSet"] = True
                    return self.send_json(200, {k: v for k, v in s.items() if k != "polls"})
                if u.path == "/v1/mediaItems":
                    if not self.authed():
                        return
                    s = state["sessions"].get(q.get("sessionId", ""))
                    if not s:
                        return self.error(404, "NOT_FOUND", "Requested entity was not found.")
                    if not s["mediaItemsSet"]:
                        return self.error(400, "FAILED_PRECONDITION", "The user has not finished picking.")
                    if state["flaky"]:
                        state["flaky"] = False
                        return self.error(429, "RESOURCE_EXHAUSTED", "Quota exceeded.")
                    size = int(q.get("pageSize", "50"))
                    if size < 0:
                        return self.error(400, "INVALID_ARGUMENT", "pageSize")
                    size = min(size or 50, 100, a.page_size)
                    start = int(q.get("pageToken") or 0)
                    if q.get("pageToken") is None or start == 0:
                        # a fresh listing: new URLs
                        if start == 0 and state["since_listing"] > 0:
                            state["generation"] += 1
                        state["since_listing"] = 0
                    host = "http://127.0.0.1:%d" % self.server.server_address[1]
                    page = []
                    for it in items[start:start + size]:
                        page.append({"id": it["id"], "createTime": it["time"], "type": it["type"],
                                     "mediaFile": {"baseUrl": "%s/lh3/%d/%s" % (host, state["generation"], it["id"]),
                                                   "mimeType": it["mime"], "filename": os.path.basename(it["path"]),
                                                   "mediaFileMetadata": {"width": 640, "height": 480, "cameraMake": "Pixel Maker",
                                                                         "cameraModel": "Pixel 9",
                                                                         ("videoMetadata" if it["type"] == "VIDEO" else "photoMetadata"): {}}}})
                    out = {"mediaItems": page}
                    if start + size < len(items):
                        out["nextPageToken"] = str(start + size)
                    return self.send_json(200, out)
                if u.path.startswith("/lh3/"):
                    if not self.authed():
                        return
                    _, _, gen, rest = u.path.split("/", 3)
                    iid, _, param = rest.partition("=")
                    it = next((x for x in items if x["id"] == iid), None)
                    if not it:
                        return self.error(404, "NOT_FOUND", "no such media")
                    want = "dv" if it["type"] == "VIDEO" else "d"
                    if param != want:
                        return self.error(400, "INVALID_ARGUMENT", "use =%s for a %s" % (want, it["type"]))
                    if int(gen) != state["generation"] or (a.expire_after and state["since_listing"] >= a.expire_after):
                        return self.error(403, "PERMISSION_DENIED", "The URL has expired.")
                    state["since_listing"] += 1
                    slow = it["id"] == a.slow and state["downloads"].get(iid, 0) == 0
                    state["downloads"][iid] = state["downloads"].get(iid, 0) + 1
                data = open(it["path"], "rb").read()
            self.send_response(200)
            self.send_header("Content-Type", it["mime"])
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if slow:
                self.wfile.write(data[:100])
                self.wfile.flush()
                time.sleep(5)
            self.wfile.write(data)

        def do_POST(self):
            u = urllib.parse.urlparse(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0)).decode()
            with lock:
                if u.path == "/token":
                    if self.headers.get("Content-Type") != "application/x-www-form-urlencoded":
                        return self.send_json(400, {"error": "invalid_request"})
                    f = dict(urllib.parse.parse_qsl(body))
                    state["token_grants"].append(f.get("grant_type"))
                    if f.get("grant_type") == "authorization_code":
                        ch = state["challenges"].pop(f.get("code", ""), None)
                        if not ch:
                            return self.send_json(400, {"error": "invalid_grant", "error_description": "Bad code"})
                        challenge, redirect, client = ch
                        digest = base64.urlsafe_b64encode(hashlib.sha256(f.get("code_verifier", "").encode()).digest()).rstrip(b"=").decode()
                        if digest != challenge or f.get("redirect_uri") != redirect or f.get("client_id") != client or not f.get("client_secret"):
                            return self.send_json(400, {"error": "invalid_grant", "error_description": "PKCE or client mismatch"})
                    elif f.get("grant_type") == "refresh_token":
                        if f.get("refresh_token") not in state["refresh"]:
                            return self.send_json(400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."})
                    else:
                        return self.send_json(400, {"error": "unsupported_grant_type"})
                    tok = "at-%d" % (len(state["tokens"]) + 1)
                    state["tokens"].add(tok)
                    state["refresh"].add("rt-1")
                    return self.send_json(200, {"access_token": tok, "expires_in": 3599, "refresh_token": "rt-1",
                                                "scope": "https://www.googleapis.com/auth/photospicker.mediaitems.readonly",
                                                "token_type": "Bearer"})
                if u.path == "/v1/sessions":
                    if not self.authed():
                        return
                    sid = "session-%d" % (len(state["sessions"]) + 1)
                    state["sessions"][sid] = {"id": sid, "pickerUri": "https://photos.google.com/picker/" + sid,
                                              "pollingConfig": {"pollInterval": "0.2s", "timeoutIn": "60s"},
                                              "expireTime": "2099-01-01T00:00:00Z", "mediaItemsSet": False, "polls": 0}
                    return self.send_json(200, {k: v for k, v in state["sessions"][sid].items() if k != "polls"})
            self.send_json(404, {"error": "not found"})

        def do_DELETE(self):
            u = urllib.parse.urlparse(self.path)
            with lock:
                if u.path.startswith("/v1/sessions/"):
                    if not self.authed():
                        return
                    sid = u.path.rsplit("/", 1)[1]
                    if state["sessions"].pop(sid, None) is None:
                        return self.error(404, "NOT_FOUND", "Requested entity was not found.")
                    state["deleted"].append(sid)
                    return self.send_json(200, {})
            self.send_json(404, {"error": "not found"})

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    with open(a.port_file, "w") as f:
        f.write(str(srv.server_address[1]))
    srv.serve_forever()

if __name__ == "__main__":
    main()
