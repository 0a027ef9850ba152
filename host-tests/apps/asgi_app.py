"""A plain ASGI app for the tests of streaming and lifespan (no framework):

- `/state`: what the lifespan startup stored, and how often it ran;
- `/stream?chunks=N`: N chunks of 64 KiB, sent as they are made;
- `/upload` (POST): the body read chunk by chunk: its size, the number of
  `http.request` messages and the sum of its bytes;
- `/raise`: raises before the response starts (500);
- `/cut`: raises after the first chunk of a streamed response;
- `/late-disconnect`: a task that waits on `receive` after the body gets
  `http.disconnect` once the response has ended;
- `/after?ms=N`: answers, then works on (sleeps N ms) before it returns;
- `/after-count`: how many `/after` requests finished their work in this
  instance (a host that keeps the instance between requests counts them all).
"""

import asyncio
import json
import urllib.parse

STARTUPS = []
AFTER_DONE = []


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        message = await receive()
        assert message["type"] == "lifespan.startup"
        STARTUPS.append(1)
        scope["state"]["greeting"] = "prepared at build time"
        await send({"type": "lifespan.startup.complete"})
        await receive()  # shutdown
        return
    path = scope["path"]
    query = urllib.parse.parse_qs(scope["query_string"].decode())
    if path == "/state":
        await reply(send, {"greeting": scope["state"].get("greeting"), "startups": len(STARTUPS), "spec": scope["asgi"]["spec_version"]})
    elif path == "/stream":
        chunks = int(query.get("chunks", ["4"])[0])
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/octet-stream")]})
        for i in range(chunks):
            await send({"type": "http.response.body", "body": bytes([65 + i % 26]) * 65536, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    elif path == "/upload":
        total, size, messages = 0, 0, 0
        while True:
            message = await receive()
            messages += 1
            total += sum(message["body"])
            size += len(message["body"])
            if not message.get("more_body"):
                break
        await reply(send, {"size": size, "messages": messages, "sum": total})
    elif path == "/raise":
        raise RuntimeError("the app failed before its response")
    elif path == "/cut":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"first part", "more_body": True})
        raise RuntimeError("the app failed in the middle of its response")
    elif path == "/late-disconnect":
        await receive()
        waiter = asyncio.ensure_future(receive())
        await reply(send, {"done": waiter.done()})
        print("after the response:", (await waiter)["type"])
    elif path == "/after":
        await reply(send, {"answered": True})
        await asyncio.sleep(int(query.get("ms", ["100"])[0]) / 1000)
        AFTER_DONE.append(1)
        print("finished after the response")
    elif path == "/after-count":
        await reply(send, {"finished": len(AFTER_DONE)})
    else:
        await reply(send, {"error": "not found"}, 404)


async def reply(send, data, status=200):
    body = json.dumps(data).encode()
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})
