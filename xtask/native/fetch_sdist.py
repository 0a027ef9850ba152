"""Downloads one file of a project from pip's package index and checks its SHA-256.

Usage: fetch_sdist.py PROJECT FILENAME SHA256 DEST

The index is pip's (``PIP_INDEX_URL`` or ``pip config``'s ``global.index-url``,
else pip's default); the file is written to DEST only when its digest matches.
"""

import hashlib
import html.parser
import os
import subprocess
import sys
import urllib.parse
import urllib.request


def index_url():
    url = os.environ.get("PIP_INDEX_URL")
    if url:
        return url
    configured = subprocess.run(
        [sys.executable, "-m", "pip", "config", "get", "global.index-url"],
        capture_output=True,
        text=True,
    )
    if configured.returncode == 0 and configured.stdout.strip():
        return configured.stdout.strip()
    from pip._internal.models.index import PyPI

    return PyPI.simple_url


class Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs.extend(value for name, value in attrs if name == "href" and value)


def main(project, filename, sha256, dest):
    page = urllib.parse.urljoin(index_url().rstrip("/") + "/", project + "/")
    request = urllib.request.Request(page, headers={"Accept": "text/html"})
    with urllib.request.urlopen(request, timeout=120) as response:
        links = Links()
        links.feed(response.read().decode())
    for href in links.hrefs:
        if urllib.parse.urlsplit(href).path.rsplit("/", 1)[-1] == filename:
            with urllib.request.urlopen(urllib.parse.urljoin(page, href), timeout=600) as response:
                data = response.read()
            digest = hashlib.sha256(data).hexdigest()
            if digest != sha256:
                sys.exit(f"{filename} has SHA-256 {digest}; the recipe pins {sha256}")
            with open(dest + ".tmp", "wb") as out:
                out.write(data)
            os.replace(dest + ".tmp", dest)
            return
    sys.exit(f"{filename} is not among the files of {project} on {page}")


if __name__ == "__main__":
    main(*sys.argv[1:])
