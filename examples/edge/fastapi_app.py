"""A FastAPI edge app: routing, path and query parameters, a request body
validated by pydantic v2 (a 422 with the errors for a bad one), a response
model, and JSON errors.

    cargo xtask component --variant pydantic   # pydantic-core, linked into a core
    pycomponent build examples/edge/fastapi_app.py -r examples/edge/fastapi-requirements.txt -o app.wasm
    pycomponent serve app.wasm

`fastapi_expected.json` lists its requests and responses.
"""

from typing import Annotated

from fastapi import FastAPI, HTTPException, Query
from pydantic import BaseModel, Field

app = FastAPI(title="pycomponent + FastAPI")


class Item(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=40)]
    price: Annotated[float, Field(gt=0)]
    tags: list[str] = []


class StoredItem(Item):
    id: int


# The store lives in the instance: each request starts from this state.
ITEMS = {
    1: StoredItem(id=1, name="Teapot", price=18.5, tags=["kitchen"]),
    2: StoredItem(id=2, name="Lamp", price=42.0),
}


@app.get("/")
async def home():
    return {"message": "Hello from FastAPI in a WebAssembly component"}


@app.get("/items")
async def list_items(max_price: Annotated[float | None, Query(gt=0)] = None) -> list[StoredItem]:
    return [item for item in ITEMS.values() if max_price is None or item.price <= max_price]


@app.get("/items/{item_id}")
def get_item(item_id: int) -> StoredItem:
    if item_id not in ITEMS:
        raise HTTPException(status_code=404, detail=f"no item {item_id}")
    return ITEMS[item_id]


@app.post("/items", status_code=201)
async def create_item(item: Item) -> StoredItem:
    return StoredItem(id=max(ITEMS) + 1, **item.model_dump())
