"""pickle: dump and load nested objects, dataclasses and a large list."""

import pickle
from dataclasses import dataclass, field


@dataclass
class Point:
    x: float
    y: float
    label: str = ""
    tags: list = field(default_factory=list)


def bench():
    points = [Point(i * 0.5, -i, f"p{i}", [i % 3, "t"]) for i in range(6000)]
    nested = {"points": points, "index": {p.label: p for p in points[:2000]}, "matrix": [[i * j for j in range(50)] for i in range(200)]}
    total = 0
    for protocol in (2, 4, 5):
        data = pickle.dumps(nested, protocol=protocol)
        back = pickle.loads(data)
        total += len(data) + len(back["points"])
    return (total, back["index"]["p1999"].x, back["matrix"][199][49])
