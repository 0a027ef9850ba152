"""Integer math: a prime sieve, modular exponentiation, gcds and a big factorial."""

import math


def sieve(limit):
    flags = bytearray([1]) * (limit + 1)
    flags[0] = flags[1] = 0
    for n in range(2, math.isqrt(limit) + 1):
        if flags[n]:
            flags[n * n :: n] = bytes(len(range(n * n, limit + 1, n)))
    return [n for n in range(limit + 1) if flags[n]]


def bench():
    primes = sieve(300_000)
    mod = (1 << 61) - 1
    acc = 0
    for p in primes[:20000]:
        acc = (acc * 31 + pow(p, p + 7, mod)) % mod
    g = 0
    for a in range(1, 40000):
        g += math.gcd(a * 7919, 1_000_003 * a % 65536 + 1)
    digits = math.factorial(2000).bit_length()
    return (len(primes), acc, g, digits)
