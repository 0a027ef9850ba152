"""A Starlette (ASGI) edge app: routing, path parameters, JSON, a form, a
synchronous endpoint and an outgoing HTTP call, with data that its lifespan
startup prepared while the component was built.

    pycomponent build examples/edge/starlette_app.py -r examples/edge/starlette-requirements.txt -o app.wasm
    pycomponent serve app.wasm --allow-http https://api.example.com

`starlette_expected.json` lists its requests and responses; `{upstream}`
stands for the base URL of an upstream the tests start.
"""

import contextlib
import statistics
import urllib.request

from starlette.applications import Starlette
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse
from starlette.routing import Route

CITIES = [
    ("Oslo", "Norway", 709000),
    ("Lisbon", "Portugal", 545000),
    ("Bergen", "Norway", 286000),
    ("Porto", "Portugal", 232000),
    ("Tromsø", "Norway", 78000),
]


@contextlib.asynccontextmanager
async def lifespan(app):
    # Runs once, while `pycomponent build` makes the snapshot: every request
    # starts with the index built.
    index = {name.lower(): {"name": name, "country": country, "population": people} for name, country, people in CITIES}
    yield {"cities": index}


async def home(request):
    return HTMLResponse("<h1>pycomponent + Starlette</h1><p>Try /cities?country=Norway</p>")


async def cities(request):
    country = request.query_params.get("country")
    found = [c for c in request.state.cities.values() if country in (None, c["country"])]
    return JSONResponse({"country": country, "cities": sorted(found, key=lambda c: -c["population"])})


async def city(request):
    entry = request.state.cities.get(request.path_params["name"].lower())
    if entry is None:
        return JSONResponse({"error": "no such city"}, status_code=404)
    return JSONResponse(entry)


async def signup(request):
    form = await request.form()
    name = form.get("name", "").strip()
    if not name:
        return PlainTextResponse("name is required", status_code=422)
    return JSONResponse({"welcome": name, "newsletter": form.get("newsletter") == "on"}, status_code=201)


def stats(request):
    # A synchronous endpoint: Starlette would run it in a thread; here it runs inline.
    values = [int(v) for v in request.query_params.get("values", "").split(",") if v]
    return JSONResponse({"count": len(values), "mean": statistics.fmean(values) if values else None})


def relay(request):
    # An outgoing call with the standard library, allowed by the host's
    # grants (`--allow-http`); synchronous, so it runs inline too.
    with urllib.request.urlopen(request.query_params["url"], timeout=10) as response:
        return JSONResponse({"status": response.status, "body": response.read().decode()})


app = Starlette(
    routes=[
        Route("/", home),
        Route("/cities", cities),
        Route("/cities/{name}", city),
        Route("/signup", signup, methods=["POST"]),
        Route("/stats", stats),
        Route("/relay", relay),
    ],
    lifespan=lifespan,
)
