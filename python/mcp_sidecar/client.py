"""A minimal MCP Streamable HTTP client (standard library only).

For smoke tests, benchmarks and frozen-app checks of a running sidecar: initialize, ping,
tools/list, tools/call. One client holds one HTTP connection and one MCP session and is not
thread-safe: give each thread its own.
"""

import http.client
import json
import itertools
from urllib.parse import urlsplit

__all__ = ["McpClient", "McpError", "HttpError"]

# The newest protocol revision we speak; the server's answer to initialize decides.
PROTOCOL_VERSION = "2025-06-18"


class McpError(Exception):
    """A JSON-RPC error answer from the server."""

    def __init__(self, code, message, data=None):
        Exception.__init__(self, "MCP error {}: {}".format(code, message))
        self.code = code
        self.message = message
        self.data = data


class HttpError(Exception):
    """A non-2xx HTTP answer (403 for a foreign Origin, 401 without the bearer token, ...)."""

    def __init__(self, status, body):
        Exception.__init__(self, "HTTP {}: {}".format(status, body[:200]))
        self.status = status
        self.body = body


class McpClient(object):
    def __init__(self, url, token=None, timeout=30.0, headers=None):
        parts = urlsplit(url)
        self.url = url
        self._path = parts.path or "/mcp"
        self._conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        self._token = token
        self._extra_headers = dict(headers or {})
        self._ids = itertools.count(1)
        self.session_id = None
        self.protocol_version = None
        self.server_info = None

    # -- MCP methods -------------------------------------------------------------------------

    def initialize(self, client_name="mcp-sidecar-client"):
        result = self.request(
            "initialize",
            {
                "protocolVersion": PROTOCOL_VERSION,
                "capabilities": {},
                "clientInfo": {"name": client_name, "version": "1"},
            },
        )
        self.protocol_version = result.get("protocolVersion", PROTOCOL_VERSION)
        self.server_info = result
        self.notify("notifications/initialized")
        return result

    def ping(self):
        return self.request("ping")

    def list_tools(self):
        return self.request("tools/list").get("tools", [])

    def call_tool(self, name, arguments=None):
        """Returns the CallToolResult dict; raises McpError on a protocol error."""
        return self.request("tools/call", {"name": name, "arguments": arguments or {}})

    def close(self):
        """Ends the MCP session (DELETE) and the HTTP connection."""
        try:
            if self.session_id is not None:
                self.post_raw(None, method="DELETE")
        except (OSError, http.client.HTTPException, HttpError):
            pass
        finally:
            self._conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- JSON-RPC over HTTP ------------------------------------------------------------------

    def request(self, method, params=None):
        msg_id = next(self._ids)
        message = {"jsonrpc": "2.0", "id": msg_id, "method": method}
        if params is not None:
            message["params"] = params
        status, headers, body = self.post_raw(message)
        answer = _find_answer(headers.get("content-type", ""), body, msg_id)
        if answer is None:
            raise McpError(-32603, "no answer to request {} in HTTP {} body".format(msg_id, status))
        if "error" in answer:
            err = answer["error"]
            raise McpError(err.get("code"), err.get("message"), err.get("data"))
        return answer.get("result", {})

    def notify(self, method, params=None):
        message = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        self.post_raw(message)

    def post_raw(self, message, method="POST", extra_headers=None):
        """Sends one HTTP request; returns (status, lower-cased headers, body text)."""
        headers = {"Accept": "application/json, text/event-stream"}
        if message is not None:
            headers["Content-Type"] = "application/json"
        if self.session_id is not None:
            headers["Mcp-Session-Id"] = self.session_id
        if self.protocol_version is not None:
            headers["MCP-Protocol-Version"] = self.protocol_version
        if self._token is not None:
            headers["Authorization"] = "Bearer " + self._token
        headers.update(self._extra_headers)
        headers.update(extra_headers or {})
        body = None if message is None else json.dumps(message).encode("utf-8")
        self._conn.request(method, self._path, body=body, headers=headers)
        response = self._conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        lowered = {k.lower(): v for k, v in response.getheaders()}
        if response.status >= 300:
            raise HttpError(response.status, text)
        if "mcp-session-id" in lowered:
            self.session_id = lowered["mcp-session-id"]
        return response.status, lowered, text


def _find_answer(content_type, body, msg_id):
    """The JSON-RPC response with `msg_id` from a JSON or SSE body (SSE may carry others first)."""
    if "text/event-stream" in content_type:
        candidates = []
        data_lines = []
        for line in body.splitlines() + [""]:
            if line.startswith("data:"):
                data_lines.append(line[5:].lstrip(" "))
            elif line == "" and data_lines:
                candidates.append("\n".join(data_lines))
                data_lines = []
        messages = []
        for chunk in candidates:
            try:
                messages.append(json.loads(chunk))
            except ValueError:
                continue
    elif body.strip():
        parsed = json.loads(body)
        messages = parsed if isinstance(parsed, list) else [parsed]
    else:
        messages = []
    for message in messages:
        if isinstance(message, dict) and message.get("id") == msg_id and "method" not in message:
            return message
    return None
