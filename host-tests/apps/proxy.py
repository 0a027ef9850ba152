"""An app that makes an outgoing request per incoming one (host-tests/tests/all/http.rs):
``/fetch?url=URL`` answers with the upstream's status and body, or with the
exception's type and message (403 for a denied URL, 502 for anything else)."""

import urllib.request

from pycomponent.http import Response


def handle(request):
    url = request.args.get("url", "")
    try:
        with urllib.request.urlopen(url, timeout=10) as upstream:
            return f"{upstream.status} {upstream.read().decode()}"
    except PermissionError as e:
        return Response(f"{type(e).__name__}: {e}", status=403)
    except OSError as e:
        return Response(f"{type(e).__name__}: {e}", status=502)
