"""numpy: a 200 x 200 matrix product (no BLAS in the component)."""

import numpy as np

A = (np.arange(200 * 200, dtype=np.float64) % 7).reshape(200, 200) / 7.0


def bench():
    return round(float((A @ A.T).sum()), 6)
