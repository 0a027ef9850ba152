"""Outgoing requests with the client libraries apps list in their
requirements (host-tests/apps/clients-requirements.txt): `requests`,
`httpx` and `httpx.AsyncClient`, through the host's client.

`/CLIENT?url=URL` (CLIENT: requests, httpx, httpx-async) answers
`STATUS BODY` of the final response, after redirects; a denied URL is a 403
with the error, any other error of the library a 502.
"""

import httpx
import requests


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    client = scope["path"].strip("/")
    url = dict(pair.split("=", 1) for pair in scope["query_string"].decode().split("&") if "=" in pair)["url"]
    try:
        if client == "requests":
            with requests.Session() as session:
                response = session.get(url, timeout=10)
                status, text = response.status_code, response.text
        elif client == "httpx":
            with httpx.Client(follow_redirects=True, timeout=10) as session:
                response = session.get(url)
                status, text = response.status_code, response.text
        else:
            async with httpx.AsyncClient(follow_redirects=True, timeout=10) as session:
                response = await session.get(url)
                status, text = response.status_code, response.text
        answer, body = 200, f"{status} {text}"
    except PermissionError as error:
        answer, body = 403, f"{type(error).__name__}: {error}"
    except (requests.RequestException, httpx.HTTPError) as error:
        answer, body = 502, f"{type(error).__name__}: {error}"
    await send({"type": "http.response.start", "status": answer, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body.encode()})
