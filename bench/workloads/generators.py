"""Generators and comprehensions: lazy pipelines, nested comprehensions, itertools."""

import itertools


def numbers(limit):
    n = 0
    while n < limit:
        yield n
        n += 1


def windows(iterable, size):
    it = iter(iterable)
    window = list(itertools.islice(it, size))
    if len(window) == size:
        yield tuple(window)
    for item in it:
        window = window[1:] + [item]
        yield tuple(window)


def bench():
    evens = sum(x * x for x in numbers(200_000) if x % 2 == 0)
    grid = [[(x * y) % 7 for x in range(300)] for y in range(300)]
    flat = sum(v for row in grid for v in row if v > 3)
    squares = {x: x * x for x in range(50000)}
    unique = len({v % 1000 for v in squares.values()})
    moving = max(sum(w) for w in windows(numbers(50000), 5))
    chained = sum(1 for _ in itertools.chain.from_iterable(itertools.repeat(range(100), 500)))
    return (evens, flat, unique, moving, chained)
