"""Which of our distribution files a package index already holds, and whether the bytes match.

    python index_files.py [--auth] SIMPLE_URL PROJECT FILE...

Prints JSON {"page": URL, "files": {NAME: "new" | "same" | "different" | "present"}}:
"present" means the index lists the file but publishes no hash we can compare. Reads the
PEP 691 JSON simple API, falling back to the PEP 503 HTML page. With --auth it sends
TWINE_USERNAME/TWINE_PASSWORD from the environment as basic auth (never from argv).

`cargo xtask publish` runs this before twine: twine's own --skip-existing works only for PyPI,
and it would silently skip a file whose bytes differ from ours.
"""
import base64
import hashlib
import json
import os
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from html.parser import HTMLParser

ACCEPT = (
    "application/vnd.pypi.simple.v1+json, "
    "application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
)


class Links(HTMLParser):
    """Collects (file name, href) for every <a> on a PEP 503 page."""

    def __init__(self):
        HTMLParser.__init__(self)
        self.links = []
        self._href = None
        self._text = ""

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._href = dict(attrs).get("href") or ""
            self._text = ""

    def handle_data(self, data):
        if self._href is not None:
            self._text += data

    def handle_endtag(self, tag):
        if tag == "a" and self._href is not None:
            name = self._text.strip() or urllib.parse.urlsplit(self._href).path.rsplit("/", 1)[-1]
            self.links.append((name, self._href))
            self._href = None


def normalize(project):
    return re.sub(r"[-_.]+", "-", project).lower()


def fetch(url, auth):
    request = urllib.request.Request(url, headers={"Accept": ACCEPT})
    if auth:
        user = os.environ.get("TWINE_USERNAME", "__token__")
        password = os.environ.get("TWINE_PASSWORD", "")
        token = base64.b64encode("{}:{}".format(user, password).encode("utf-8")).decode("ascii")
        request.add_header("Authorization", "Basic " + token)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.headers.get("Content-Type", ""), response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None, None
        raise SystemExit("index check: GET {} answered {} {}".format(url, error.code, error.reason))


def published_hashes(content_type, body):
    """{file name: {algorithm: hex digest}} from either simple API flavour."""
    found = {}
    if "json" in content_type:
        for entry in json.loads(body).get("files", []):
            found[entry["filename"]] = entry.get("hashes") or {}
        return found
    parser = Links()
    parser.feed(body)
    for name, href in parser.links:
        fragment = urllib.parse.urlsplit(href).fragment
        algo, _, digest = fragment.partition("=")
        found[name] = {algo: digest} if digest else {}
    return found


def status(path, hashes):
    for algo, digest in sorted(hashes.items()):
        if algo in hashlib.algorithms_available:
            with open(path, "rb") as handle:
                actual = hashlib.new(algo, handle.read()).hexdigest()
            return "same" if actual == digest.lower() else "different"
    return "present"


def main(argv):
    auth = "--auth" in argv
    args = [a for a in argv if a != "--auth"]
    if len(args) < 3:
        raise SystemExit(__doc__)
    simple_url, project, files = args[0], args[1], args[2:]
    page = simple_url.rstrip("/") + "/" + normalize(project) + "/"
    content_type, body = fetch(page, auth)
    published = published_hashes(content_type, body) if body is not None else {}
    result = {}
    for path in files:
        name = os.path.basename(path)
        result[name] = status(path, published[name]) if name in published else "new"
    json.dump({"page": page, "files": result}, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
