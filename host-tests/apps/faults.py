"""An app that misbehaves on purpose, one route per fault (host-tests/tests/all/http.rs)."""

import os
import sys
import time

from pycomponent.http import Response


def handle(request):
    path = request.path
    if path == "/ok":
        return "ok"
    if path == "/echo":
        return Response(request.body, headers={"x-length": str(len(request.body))}, content_type="application/octet-stream")
    if path == "/big":
        return "x" * (int(request.args.get("mib", "3")) << 20)
    if path == "/raise":
        raise ValueError("the app failed on purpose")
    if path == "/exit":
        sys.exit(3)
    if path == "/spin":
        while True:
            pass
    if path == "/memory":
        return str(len(bytearray(1_900_000_000)))
    if path == "/sleep":
        time.sleep(float(request.args.get("seconds", "1")))
        return "slept"
    if path == "/print":
        print("printed by the app")
        return "printed"
    if path == "/sandbox":
        seen = {"env": sorted(os.environ)}
        try:
            open("/etc/passwd").read()
            seen["passwd"] = "read"
        except OSError as error:
            seen["passwd"] = type(error).__name__
        return seen
    if path == "/state":
        # A fresh instance per request: the counter never goes past 1.
        global COUNTER
        COUNTER += 1
        return {"counter": COUNTER}
    if path == "/headers":
        return Response("", status=204, headers=[("x-one", "1"), ("connection", "close-me"), ("x-two", "2")])
    return Response("not found\n", status=404)


COUNTER = 0
