"""A minimal MCP Streamable HTTP client (standard library only; not part of the package).

For the pytest suite, smoke tests and benchmarks of a running sidecar: initialize, ping,
tools/list, tools/call. One client is one MCP session; each thread that uses it gets its own
keep-alive HTTP connection, so concurrent calls on one session are fine.
"""

import http.client
import itertools
import json
import threading
from urllib.parse import urlsplit

__all__ = ["McpClient", "McpError", "HttpStatusError", "NoAnswer", "PROTOCOL_VERSION"]

# The protocol revision we ask for; the server's answer to initialize decides.
PROTOCOL_VERSION = "2025-06-18"


class McpError(Exception):
    """A JSON-RPC error answer from the server."""

    def __init__(self, code, message, data=None):
        Exception.__init__(self, "JSON-RPC error {}: {}".format(code, message))
        self.code = code
        self.message = message
        self.data = data


class HttpStatusError(Exception):
    """A 4xx/5xx HTTP answer (403 for a foreign Origin, 401 without the bearer token, ...)."""

    def __init__(self, status, body):
        Exception.__init__(self, "HTTP {}: {}".format(status, body[:300]))
        self.status = status
        self.body = body


class NoAnswer(ConnectionError):
    """The response ended without the answer (the server went away mid-request)."""


class McpClient(object):
    def __init__(self, url, token=None, timeout=30.0, origin=None):
        parts = urlsplit(url)
        self.url = url
        self.host, self.port, self.path = parts.hostname, parts.port, parts.path or "/mcp"
        self.timeout = timeout
        self.token = token
        self.origin = origin
        self.session_id = None
        self.protocol_version = None
        self._ids = itertools.count(1)
        self._local = threading.local()  # one HTTP connection per calling thread

    # -- MCP methods -------------------------------------------------------------------------

    def initialize(self, name="mcp-sidecar-client"):
        result = self.request(
            "initialize",
            {
                "protocolVersion": PROTOCOL_VERSION,
                "capabilities": {},
                "clientInfo": {"name": name, "version": "1"},
            },
        )
        if not self.session_id:
            raise NoAnswer("initialize was answered without an Mcp-Session-Id header")
        self.protocol_version = result.get("protocolVersion", PROTOCOL_VERSION)
        self.notify("notifications/initialized")
        return result

    def ping(self):
        return self.request("ping")

    def list_tools(self):
        return self.request("tools/list")["tools"]

    def call_tool(self, name, arguments=None):
        """The CallToolResult dict; raises McpError on a protocol error (unknown tool, bad arguments)."""
        return self.request("tools/call", {"name": name, "arguments": arguments or {}})

    def close(self):
        """Ends the MCP session (DELETE, best effort) and the HTTP connection."""
        if self.session_id is not None:
            try:
                self._send("DELETE", None, self.headers())[0].read()
            except (OSError, http.client.HTTPException):
                pass
        self._drop_connection()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    # -- JSON-RPC over HTTP ------------------------------------------------------------------

    def request(self, method, params=None):
        message = {"jsonrpc": "2.0", "id": next(self._ids), "method": method}
        if params is not None:
            message["params"] = params
        _, _, answer = self.post(message)
        if answer is None:
            raise NoAnswer("the response to {} ended without an answer".format(method))
        if "error" in answer:
            error = answer["error"]
            raise McpError(error.get("code"), error.get("message"), error.get("data"))
        return answer["result"]

    def notify(self, method, params=None):
        message = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        status, _, _ = self.post(message)
        return status

    def headers(self):
        """The headers every request carries, as the spec requires once a session exists."""
        headers = {
            "Accept": "application/json, text/event-stream",
            "Content-Type": "application/json",
        }
        if self.session_id:
            headers["Mcp-Session-Id"] = self.session_id
        if self.protocol_version:
            headers["MCP-Protocol-Version"] = self.protocol_version
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        if self.origin:
            headers["Origin"] = self.origin
        return headers

    def post(self, message, headers=None):
        """POSTs one message; returns (status, lower-cased headers, answer or None). Raises on >= 400."""
        body = json.dumps(message).encode("utf-8")
        response, response_headers = self._send("POST", body, headers or self.headers())
        try:
            if response.status >= 400:
                raise HttpStatusError(response.status, response.read().decode("utf-8", "replace"))
            if "mcp-session-id" in response_headers:
                self.session_id = response_headers["mcp-session-id"]
            want = message.get("id")
            answer = None
            if want is not None:
                if response_headers.get("content-type", "").startswith("text/event-stream"):
                    answer = _answer_from_sse(response, want)
                else:
                    text = response.read().decode("utf-8")
                    answer = json.loads(text) if text.strip() else None
            response.read()  # drain, so the keep-alive connection can carry the next request
            return response.status, response_headers, answer
        except BaseException:
            self._drop_connection()
            raise

    def _send(self, method, body, headers):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self._local.conn = conn
        try:
            conn.request(method, self.path, body=body, headers=headers)
            response = conn.getresponse()
        except BaseException:
            self._drop_connection()
            raise
        return response, {k.lower(): v for k, v in response.getheaders()}

    def _drop_connection(self):
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def _answer_from_sse(response, want):
    """Reads SSE events until the JSON-RPC answer with id ``want``; None at end of stream."""
    data = []
    while True:
        raw = response.readline()
        if not raw:
            return None
        line = raw.decode("utf-8").rstrip("\r\n")
        if line == "":
            if data:
                payload = "\n".join(data)
                data = []
                try:
                    message = json.loads(payload)
                except ValueError:
                    continue
                if isinstance(message, dict) and message.get("id") == want and "method" not in message:
                    return message
            continue
        if line.startswith(":"):  # keep-alive comment
            continue
        field, _, value = line.partition(":")
        if field == "data":
            data.append(value[1:] if value.startswith(" ") else value)
