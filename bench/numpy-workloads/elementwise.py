"""numpy: elementwise arithmetic and ufuncs over 100 000 doubles."""

import numpy as np

X = np.linspace(0.0, 1.0, 100_000)


def bench():
    y = np.sin(X) * 2.0 + X * X - np.sqrt(X + 1.0)
    return round(float(y.sum()), 6)
