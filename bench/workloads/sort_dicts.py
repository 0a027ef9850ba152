"""Sorting and dicts: sort 40k records several ways, count and group with dicts."""

import random


def bench():
    rng = random.Random(42)
    records = [(rng.randrange(1000), rng.random(), f"k{rng.randrange(50000)}") for _ in range(40_000)]
    by_first = sorted(records)
    by_key = sorted(records, key=lambda r: (r[2], -r[0]))
    counts = {}
    for a, _, key in records:
        counts[key] = counts.get(key, 0) + a
    groups = {}
    for a, b, _ in records:
        groups.setdefault(a % 97, []).append(b)
    top = sorted(counts.items(), key=lambda kv: kv[1], reverse=True)[:10]
    merged = dict(sorted(counts.items())[:5000])
    merged.update({k: v * 2 for k, v in list(counts.items())[:5000]})
    return (by_first[0], by_key[-1][2], len(counts), len(groups), top[0], len(merged))
