"""Float math: a planetary n-body simulation (leapfrog steps over five bodies)."""

import math

SOLAR_MASS = 4 * math.pi * math.pi
DAYS_PER_YEAR = 365.24


def system():
    # (x, y, z, vx, vy, vz, mass) for the sun and the four outer planets.
    bodies = [
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, SOLAR_MASS],
        [4.84, -1.16, -0.10, 1.66e-03, 7.70e-03, -6.90e-05, 9.55e-04],
        [8.34, 4.12, -0.40, -2.77e-03, 5.00e-03, 2.30e-05, 2.86e-04],
        [12.89, -15.11, -0.22, 2.96e-03, 2.37e-03, -2.96e-05, 4.37e-05],
        [15.38, -25.92, 0.18, 2.68e-03, 1.63e-03, -9.51e-05, 5.15e-05],
    ]
    for body in bodies[1:]:
        for i in (3, 4, 5):
            body[i] *= DAYS_PER_YEAR
        body[6] *= SOLAR_MASS
    return bodies


def energy(bodies):
    e = 0.0
    for i, (x, y, z, vx, vy, vz, m) in enumerate(bodies):
        e += 0.5 * m * (vx * vx + vy * vy + vz * vz)
        for x2, y2, z2, _, _, _, m2 in bodies[i + 1 :]:
            e -= m * m2 / math.sqrt((x - x2) ** 2 + (y - y2) ** 2 + (z - z2) ** 2)
    return e


def advance(bodies, dt, steps):
    pairs = [(bodies[i], bodies[j]) for i in range(len(bodies)) for j in range(i + 1, len(bodies))]
    for _ in range(steps):
        for a, b in pairs:
            dx, dy, dz = a[0] - b[0], a[1] - b[1], a[2] - b[2]
            d2 = dx * dx + dy * dy + dz * dz
            mag = dt / (d2 * math.sqrt(d2))
            am, bm = a[6] * mag, b[6] * mag
            a[3] -= dx * bm
            a[4] -= dy * bm
            a[5] -= dz * bm
            b[3] += dx * am
            b[4] += dy * am
            b[5] += dz * am
        for body in bodies:
            body[0] += dt * body[3]
            body[1] += dt * body[4]
            body[2] += dt * body[5]


def bench():
    bodies = system()
    advance(bodies, 0.01, 10000)
    return round(energy(bodies), 9)
