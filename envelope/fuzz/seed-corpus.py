#!/usr/bin/env python3
"""Writes every envelope in ../tests/vectors/*.json (good and broken) into corpus/<target>/."""
import base64, hashlib, json, pathlib

here = pathlib.Path(__file__).resolve().parent
for target in ("header", "open"):
    out = here / "corpus" / target
    out.mkdir(parents=True, exist_ok=True)
    for f in sorted((here.parent / "tests" / "vectors").glob("*.json")):
        v = json.loads(f.read_text())
        blobs = [v["envelope_b64"]] + [b["envelope_b64"] for b in v.get("broken", [])]
        for b64 in blobs:
            data = base64.b64decode(b64)
            (out / hashlib.sha256(data).hexdigest()[:16]).write_bytes(data)
    print(f"{out}: {len(list(out.iterdir()))} seeds")
