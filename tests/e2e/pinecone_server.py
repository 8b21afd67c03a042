#!/usr/bin/env python3
"""A local stand-in for a Pinecone serverless index's data plane (API version 2025-04), checking every request
against Pinecone's documented shapes and answering as Pinecone does:

  GET  /describe_index_stats -> {"namespaces": {ns: {"vectorCount"}}, "dimension", "indexFullness",
       "totalVectorCount", "metric", "vectorType"}
  POST /vectors/upsert {"vectors": [{"id", "values", "metadata"}], "namespace"} -> {"upsertedCount"}
  POST /query {"vector", "topK", "includeMetadata", "includeValues", "namespace", "filter"}
       -> {"matches": [{"id", "score", "metadata"}], "namespace", "usage": {"readUnits"}}
  POST /vectors/delete {"ids", "namespace"} | {"deleteAll": true, "namespace"} -> {}
  GET  /vectors/list?prefix&limit&paginationToken&namespace -> {"vectors": [{"id"}], "pagination": {"next"},
       "namespace", "usage"}
  GET  /vectors/fetch?ids=..&namespace -> {"vectors": {id: {"id", "values", "metadata"}}, "namespace", "usage"}

Every request needs the Api-Key header (else 401) and X-Pinecone-API-Version: 2025-04 (else 400). Bodies must be
JSON objects with exactly the documented fields; photoseek's upserts must hold at most 100 vectors whose metadata
keys are path, year, month, day, type, taken_at, camera, lat, lon, place_city, place_region, place_country, place_cc,
with no nulls; filters must use Pinecone's operators as its metadata-filtering guide documents them: $eq, $ne (number,
string, boolean), $gt, $gte, $lt, $lte (numbers), $in, $nin (non-empty arrays of strings or numbers), $exists
(boolean), one operator per field object, and $and / $or over arrays of such filters; a record without the field
never matches a comparison.
A malformed request is 400 with {"code": 3, "message"}; the test sees it as a failed command. --throttle N answers
every Nth upsert and query with 429 first. GET /test/log returns every request made (for the tests' checks).
"""
import argparse, json, math, threading, urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

OPS = {"$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists"}
PHOTO_KEYS = {"path", "year", "month", "day", "type", "taken_at", "camera", "lat", "lon", "place_city", "place_region",
              "place_country", "place_cc"}
MODEL_KEYS = {"model", "dim", "dir"}


class Bad(Exception):
    pass


def is_number(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def check_filter(f):
    if not isinstance(f, dict) or not f:
        raise Bad("filter must be a non-empty object")
    for k, v in f.items():
        if k in ("$and", "$or"):
            if not isinstance(v, list) or not v:
                raise Bad(f"{k} takes a non-empty array")
            for x in v:
                check_filter(x)
        elif k.startswith("$"):
            raise Bad(f"unknown operator {k} at the top level")
        elif isinstance(v, dict):
            if len(v) != 1 or next(iter(v)) not in OPS:
                raise Bad(f"field {k}: one operator of {sorted(OPS)} expected, got {list(v)}")
            op, x = next(iter(v.items()))
            if op in ("$in", "$nin") and (not isinstance(x, list) or not x or
                                          not all(isinstance(y, (str, int, float)) and not isinstance(y, bool) for y in x)):
                raise Bad(f"{op} takes a non-empty array of strings or numbers")
            if op in ("$gt", "$gte", "$lt", "$lte") and not is_number(x):
                raise Bad(f"{op} takes a number")
            if op in ("$eq", "$ne") and not isinstance(x, (str, int, float, bool)):
                raise Bad(f"{op} takes a number, a string or a boolean")
            if op == "$exists" and not isinstance(x, bool):
                raise Bad("$exists takes a boolean")
        elif not isinstance(v, (str, int, float, bool)):
            raise Bad(f"field {k}: a value or an operator object expected")


def matches(f, md):
    for k, v in f.items():
        if k == "$and":
            if not all(matches(x, md) for x in v):
                return False
            continue
        if k == "$or":
            if not any(matches(x, md) for x in v):
                return False
            continue
        op, x = next(iter(v.items())) if isinstance(v, dict) else ("$eq", v)
        have = md.get(k)
        ok = {"$eq": lambda: have == x, "$ne": lambda: have != x, "$in": lambda: have in x,
              "$nin": lambda: have not in x, "$exists": lambda: (k in md) == x,
              "$gt": lambda: is_number(have) and have > x, "$gte": lambda: is_number(have) and have >= x,
              "$lt": lambda: is_number(have) and have < x, "$lte": lambda: is_number(have) and have <= x}[op]()
        if not ok:
            return False
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--dimension", type=int, required=True)
    ap.add_argument("--key", default="test-key")
    ap.add_argument("--throttle", type=int, default=0)
    a = ap.parse_args()
    data = {}  # namespace -> id -> (values, metadata)
    log = []
    counter = {"n": 0}
    lock = threading.Lock()

    class H(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def send(self, code, obj):
            body = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def handle_any(self, method):
            url = urllib.parse.urlsplit(self.path)
            q = urllib.parse.parse_qs(url.query)
            if url.path == "/test/log":
                return self.send(200, log)
            body = None
            if method == "POST":
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n)
                if self.headers.get("Content-Type", "").split(";")[0] != "application/json":
                    return self.send(400, {"code": 3, "message": "Content-Type must be application/json"})
                try:
                    body = json.loads(raw)
                except ValueError:
                    return self.send(400, {"code": 3, "message": "malformed JSON"})
            with lock:
                log.append({"method": method, "path": url.path, "query": q, "body": body})
            if self.headers.get("Api-Key") != a.key:
                return self.send(401, {"code": 16, "message": "Invalid API Key", "details": []})
            if self.headers.get("X-Pinecone-API-Version") != "2025-04":
                return self.send(400, {"code": 3, "message": "X-Pinecone-API-Version must be 2025-04"})
            if a.throttle and method == "POST" and url.path in ("/vectors/upsert", "/query"):
                with lock:
                    counter["n"] += 1
                    if counter["n"] % a.throttle == 0:
                        return self.send(429, {"code": 8, "message": "Request failed. You've reached your request limit."})
            try:
                with lock:
                    code, obj = route(method, url.path, q, body)
            except Bad as e:
                return self.send(400, {"code": 3, "message": str(e)})
            return self.send(code, obj)

        def do_GET(self):
            self.handle_any("GET")

        def do_POST(self):
            self.handle_any("POST")

    def only(body, allowed, required=()):
        if not isinstance(body, dict):
            raise Bad("the body must be a JSON object")
        extra = set(body) - set(allowed)
        if extra:
            raise Bad(f"unknown fields {sorted(extra)}")
        for r in required:
            if r not in body:
                raise Bad(f"missing field {r}")

    def values_ok(v):
        if not isinstance(v, list) or len(v) != a.dimension or not all(isinstance(x, (int, float)) for x in v):
            raise Bad(f"Vector dimension {len(v) if isinstance(v, list) else '?'} does not match the dimension of the index {a.dimension}")
        if not any(v):
            raise Bad("Dense vectors must contain at least one non-zero value")

    def route(method, path, q, body):
        if method == "GET" and path == "/describe_index_stats":
            ns = {k: {"vectorCount": len(v)} for k, v in data.items() if v}
            return 200, {"namespaces": ns, "dimension": a.dimension, "indexFullness": 0.0,
                         "totalVectorCount": sum(len(v) for v in data.values()), "metric": "cosine", "vectorType": "dense"}
        if method == "POST" and path == "/vectors/upsert":
            only(body, {"vectors", "namespace"}, ["vectors"])
            vecs, ns = body["vectors"], body.get("namespace", "")
            if not isinstance(vecs, list) or not 1 <= len(vecs) <= 100:
                raise Bad(f"upsert batches hold 1 to 100 vectors, not {len(vecs) if isinstance(vecs, list) else '?'}")
            for v in vecs:
                only(v, {"id", "values", "metadata"}, ["id", "values"])
                if not isinstance(v["id"], str) or not 1 <= len(v["id"]) <= 512:
                    raise Bad("ids are strings of 1 to 512 characters")
                values_ok(v["values"])
                md = v.get("metadata", {})
                keys = MODEL_KEYS if ns.endswith(".photoseek-model") else PHOTO_KEYS
                if not isinstance(md, dict) or set(md) - keys or "path" in keys and "path" not in md:
                    raise Bad(f"metadata keys must be among {sorted(keys)} (with path): {sorted(md)}")
                for k, x in md.items():
                    if x is None or not isinstance(x, (str, int, float, bool)):
                        raise Bad(f"metadata {k}: null or nested values are not allowed")
            for v in vecs:
                data.setdefault(ns, {})[v["id"]] = (v["values"], v.get("metadata", {}))
            return 200, {"upsertedCount": len(vecs)}
        if method == "POST" and path == "/query":
            only(body, {"vector", "topK", "includeMetadata", "includeValues", "namespace", "filter"}, ["vector", "topK"])
            values_ok(body["vector"])
            k = body["topK"]
            if not isinstance(k, int) or not 1 <= k <= 10000 or (body.get("includeMetadata") and k > 1000):
                raise Bad("topK must be 1 to 10000 (1000 with includeMetadata)")
            f = body.get("filter")
            if f is not None:
                check_filter(f)
            qv = body["vector"]
            qn = math.sqrt(sum(x * x for x in qv))
            out = []
            for id_, (vals, md) in data.get(body.get("namespace", ""), {}).items():
                if f is not None and not matches(f, md):
                    continue
                s = sum(x * y for x, y in zip(qv, vals)) / (qn * math.sqrt(sum(y * y for y in vals)))
                m = {"id": id_, "score": s, "values": []}
                if body.get("includeMetadata"):
                    m["metadata"] = md
                out.append(m)
            out.sort(key=lambda m: -m["score"])
            return 200, {"matches": out[:k], "namespace": body.get("namespace", ""), "usage": {"readUnits": 5}}
        if method == "POST" and path == "/vectors/delete":
            only(body, {"ids", "deleteAll", "namespace", "filter"})
            ns = data.get(body.get("namespace", ""), {})
            if body.get("deleteAll"):
                ns.clear()
            else:
                ids = body.get("ids")
                if not isinstance(ids, list) or len(ids) > 1000:
                    raise Bad("ids: an array of at most 1000")
                for i in ids:
                    ns.pop(i, None)
            return 200, {}
        if method == "GET" and path == "/vectors/list":
            prefix = q.get("prefix", [""])[0]
            limit = int(q.get("limit", ["100"])[0])
            start = int(q.get("paginationToken", ["0"])[0])
            ns = q.get("namespace", [""])[0]
            ids = sorted(i for i in data.get(ns, {}) if i.startswith(prefix))
            page = ids[start:start + limit]
            r = {"vectors": [{"id": i} for i in page], "namespace": ns, "usage": {"readUnits": 1}}
            if start + limit < len(ids):
                r["pagination"] = {"next": str(start + limit)}
            return 200, r
        if method == "GET" and path == "/vectors/fetch":
            ns = q.get("namespace", [""])[0]
            got = {i: {"id": i, "values": data[ns][i][0], "metadata": data[ns][i][1]}
                   for i in q.get("ids", []) if i in data.get(ns, {})}
            return 200, {"vectors": got, "namespace": ns, "usage": {"readUnits": 1}}
        return 404, {"code": 5, "message": f"Not Found: {method} {path}"}

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    with open(a.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.replace(a.port_file + ".tmp", a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
