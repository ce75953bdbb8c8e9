#!/usr/bin/env python3
"""Seed corpora for the fuzz targets from ../shared/vectors (never hand-copied):
captured client requests (headers + body, paths, ANS-104 items, JSON bodies), httpsig and
structured vector cases. Writes fuzz/corpus/<target>/<name>."""
import base64, json, os, sys, hashlib

here = os.path.dirname(os.path.abspath(__file__))
vectors = os.environ.get("FERROBEAM_VECTORS", os.path.join(here, "..", "..", "shared", "vectors"))
corpus = os.path.join(here, "corpus")

def put(target, data):
    d = os.path.join(corpus, target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

def http_input(headers, body):
    head = "".join(f"{k}: {v}\n" for k, v in headers)
    return head.encode() + b"\n" + body

reqdir = os.path.join(vectors, "client-requests")
for name in sorted(os.listdir(reqdir)):
    v = json.load(open(os.path.join(reqdir, name)))
    req = v.get("request")
    if not req or "headers" not in req:
        continue
    body = base64.b64decode(req.get("body_b64") or "")
    headers = [(k.lower(), val) for k, val in req["headers"]]
    put("path_parse", req["path"].encode())
    if "ans104" in v:
        put("ans104_decode", body)
    else:
        put("httpsig_decode", http_input(headers, body))
        put("httpsig_verify", http_input(headers, body))
        put("httpsig_forms", http_input(req["headers"], body))
        for k, val in headers:
            if k == "ao-types":
                put("structured_decode", val.encode())
                put("structured_paths", val.encode())
        if body[:1] in (b"{", b"["):
            put("json_decode", body)

cases = json.load(open(os.path.join(vectors, "httpsig.json")))["cases"]
for c in cases:
    if c.get("kind") == "http_to_tabm" and isinstance(c.get("headers"), dict):
        body = base64.b64decode(c.get("body_b64") or "")
        put("httpsig_decode", http_input(c["headers"].items(), body))
    put("json_decode", json.dumps(c).encode())

for c in json.load(open(os.path.join(vectors, "structured.json")))["cases"]:
    put("json_decode", json.dumps(c).encode())
    for side in c.values():
        if isinstance(side, dict) and "ao-types" in side:
            t = side["ao-types"]
            if isinstance(t, dict) and "bin" in t:
                put("structured_decode", t["bin"].encode())
                put("structured_paths", t["bin"].encode())

for text in [b"a: 1\nb/c: 2\n", b"key: value\nnested/deep/x: y\n", b""]:
    put("flat_deserialize", text)

# The round-trip targets read their input as a stream of choices: any bytes will do to start.
for target in ["httpsig_roundtrip", "httpsig_joins"]:
    for seed in [b"", bytes(range(64)), hashlib.sha256(target.encode()).digest() * 4]:
        put(target, seed)

print("seeded", {t: len(os.listdir(os.path.join(corpus, t))) for t in sorted(os.listdir(corpus))})
