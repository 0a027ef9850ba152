"""sqlite3: an in-memory database: create, insert 20k rows, index, aggregate and join."""

import sqlite3


def bench():
    db = sqlite3.connect(":memory:")
    db.execute("create table orders (id integer primary key, customer integer, amount real, item text)")
    db.execute("create table customers (id integer primary key, name text, region text)")
    db.executemany("insert into customers values (?, ?, ?)", ((i, f"c{i}", "nesw"[i % 4]) for i in range(500)))
    db.executemany(
        "insert into orders (customer, amount, item) values (?, ?, ?)",
        ((i % 500, (i * 37 % 1000) / 10, f"item{i % 40}") for i in range(20000)),
    )
    db.execute("create index orders_customer on orders (customer)")
    totals = db.execute(
        "select c.region, count(*), round(sum(o.amount), 2) from orders o join customers c on c.id = o.customer"
        " group by c.region order by c.region"
    ).fetchall()
    top = db.execute("select item, sum(amount) s from orders group by item order by s desc limit 3").fetchall()
    lookups = sum(db.execute("select count(*) from orders where customer = ?", (i,)).fetchone()[0] for i in range(0, 500, 5))
    db.close()
    return (totals, top, lookups)
