"""decimal: 60-digit arithmetic (series for e and pi, compound interest)."""

from decimal import Decimal, getcontext, localcontext


def e_series(terms):
    total, term = Decimal(1), Decimal(1)
    for n in range(1, terms):
        term /= n
        total += term
    return total


def arctan_inverse(x, digits):
    # arctan(1/x) by its Taylor series.
    x = Decimal(x)
    power = 1 / x
    total, n, sign = power, 1, 1
    eps = Decimal(10) ** -(digits + 2)
    while power > eps:
        power /= x * x
        n += 2
        sign = -sign
        total += sign * power / n
    return total


def bench():
    with localcontext() as ctx:
        ctx.prec = 60
        e = e_series(60)
        pi = 4 * (4 * arctan_inverse(5, 60) - arctan_inverse(239, 60))
        balance = Decimal("1000.00")
        for _ in range(3000):
            balance = (balance * (1 + Decimal("0.0375") / 12)).quantize(Decimal("0.000001"))
        amounts = sum(Decimal(i) / 7 for i in range(1, 20000))
    return (str(e)[:50], str(pi)[:50], str(balance), str(amounts)[:40], getcontext().prec)
