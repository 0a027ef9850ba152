"""json: dump and load 20k small records."""

import json


def bench():
    records = [
        {"id": i, "name": f"user{i}", "score": i * 0.25, "tags": ["a", "b", str(i % 10)], "active": i % 2 == 0, "parent": None}
        for i in range(20000)
    ]
    text = json.dumps(records)
    back = json.loads(text)
    pretty = json.dumps(back[:2000], indent=2, sort_keys=True)
    return (len(text), sum(r["score"] for r in back), len(pretty))
