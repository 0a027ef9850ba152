"""The demo program: real work with the standard library inside python.wasm."""

import hashlib
import json
import sqlite3
import sys
import zlib
from decimal import Decimal, getcontext

print(f"Python {sys.version.split()[0]} on {sys.platform}")

db = sqlite3.connect(":memory:")
db.execute("create table langs (name text, year integer)")
db.executemany("insert into langs values (?, ?)", [("Python", 1991), ("Rust", 2015), ("WebAssembly", 2017)])
newest = db.execute("select name, year from langs order by year desc limit 1").fetchone()
print(f"sqlite3: newest is {newest[0]} ({newest[1]})")

payload = json.dumps({"primes": [p for p in range(2, 3000) if all(p % d for d in range(2, int(p**0.5) + 1))]}).encode()
packed = zlib.compress(payload, 9)
assert zlib.decompress(packed) == payload
print(f"zlib: {len(payload)} bytes of JSON -> {len(packed)} bytes")

getcontext().prec = 30
print(f"decimal: 1/7 = {Decimal(1) / Decimal(7)}")
print(f"sha256('pycomponent') = {hashlib.sha256(b'pycomponent').hexdigest()[:16]}...")
