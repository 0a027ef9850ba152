"""A small edge function: routes, a JSON API, a form post and a SQLite query.

Build and serve it:

    pycomponent build examples/edge/app.py -o app.wasm
    pycomponent serve app.wasm

`handle(request)` is called once per request, in a fresh instance whose
memory starts from the snapshot taken after this module was imported: the
database below is created at build time and every request starts from it.
"""

import json
import sqlite3

from pycomponent.http import Response

# Built once, while `pycomponent build` makes the snapshot.
DB = sqlite3.connect(":memory:")
DB.executescript(
    """
    CREATE TABLE cities (name TEXT PRIMARY KEY, country TEXT, population INTEGER);
    INSERT INTO cities VALUES
        ('Lisbon', 'Portugal', 545000),
        ('Porto', 'Portugal', 232000),
        ('Oslo', 'Norway', 709000),
        ('Bergen', 'Norway', 286000),
        ('Tromsø', 'Norway', 78000);
    """
)


def index(request):
    return Response("<h1>pycomponent edge</h1><p>Try /api/cities?country=Norway</p>\n", content_type="text/html; charset=utf-8")


def cities(request):
    country = request.args.get("country")
    query = "SELECT name, population FROM cities"
    params = ()
    if country:
        query += " WHERE country = ?"
        params = (country,)
    rows = DB.execute(query + " ORDER BY population DESC", params).fetchall()
    return {"country": country, "cities": [{"name": n, "population": p} for n, p in rows]}


def total(request):
    # POST a JSON list of numbers; answers their sum and mean.
    try:
        numbers = request.json()
    except ValueError:
        return Response({"error": "the body is not JSON"}, status=400)
    if not isinstance(numbers, list) or not all(isinstance(n, (int, float)) for n in numbers) or not numbers:
        return Response({"error": "expected a non-empty JSON list of numbers"}, status=422)
    return {"sum": sum(numbers), "mean": sum(numbers) / len(numbers)}


def greet(request):
    # A form post (application/x-www-form-urlencoded).
    name = request.form.get("name", "").strip() or "stranger"
    return Response(f"Hello, {name}!\n", headers={"x-greeted": name})


ROUTES = {
    ("GET", "/"): index,
    ("GET", "/api/cities"): cities,
    ("POST", "/api/total"): total,
    ("POST", "/greet"): greet,
}


def handle(request):
    route = ROUTES.get((request.method, request.path))
    if route is None:
        if any(path == request.path for _, path in ROUTES):
            return Response("Method Not Allowed\n", status=405)
        return Response(json.dumps({"error": f"no route for {request.path}"}), status=404, content_type="application/json")
    return route(request)
