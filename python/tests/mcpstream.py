"""An MCP session that sees what the server pushes: the SSE messages of a request's answer
stream (progress, server requests such as sampling) and of the session's GET stream (logs,
list_changed, resources/updated). Server requests are answered by a callback."""

import http.client
import json
import socket
import threading
import time

from mcphttp import McpHttpClient


def _sse_messages(response):
    """Yields each JSON message of an SSE response until it ends."""
    data = []
    while True:
        raw = response.readline()
        if not raw:
            return
        line = raw.decode("utf-8").rstrip("\r\n")
        if line == "":
            if data:
                try:
                    yield json.loads("\n".join(data))
                except ValueError:
                    pass
                data = []
            continue
        field, _, value = line.partition(":")
        if field == "data":
            data.append(value[1:] if value.startswith(" ") else value)


class StreamingSession(object):
    def __init__(self, url, capabilities=None, on_request=None):
        self.client = McpHttpClient(url)
        self.capabilities = capabilities or {}
        self.on_request = on_request or (lambda message: {})
        self.pushed = []  # every notification seen, on either stream, in arrival order
        self._lock = threading.Lock()
        self._get = None
        self._ids = iter(range(1000, 10 ** 9))

    def initialize(self):
        result = self.client.request(
            "initialize",
            {
                "protocolVersion": "2025-11-25",
                "capabilities": self.capabilities,
                "clientInfo": {"name": "stream-test", "version": "1"},
            },
        )
        self.client.protocol_version = result["protocolVersion"]
        self.client.notify("notifications/initialized")
        return result

    def open_get_stream(self):
        """Starts reading the session's standalone GET stream on a thread."""
        conn = http.client.HTTPConnection(self.client.host, self.client.port, timeout=30)
        headers = dict(self.client.headers())
        headers["Accept"] = "text/event-stream"
        del headers["Content-Type"]
        conn.request("GET", self.client.path, headers=headers)
        response = conn.getresponse()
        assert response.status == 200, response.status
        self._get = conn

        def read():
            try:
                for message in _sse_messages(response):
                    self._record(message)
            except (OSError, ValueError, AttributeError, http.client.HTTPException):
                pass  # close() shut the stream (AttributeError: http.client's closed fp)

        threading.Thread(target=read, daemon=True).start()

    def _record(self, message):
        with self._lock:
            self.pushed.append(message)

    def notifications(self, method):
        with self._lock:
            return [m.get("params") for m in self.pushed if m.get("method") == method]

    def wait_for(self, method, count=1, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.notifications(method)
            if len(found) >= count:
                return found
            time.sleep(0.005)
        return self.notifications(method)

    def request(self, method, params=None, progress_token=None):
        """POSTs a request, answering server requests on its stream; returns the response."""
        id = next(self._ids)
        params = dict(params or {})
        if progress_token is not None:
            params["_meta"] = {"progressToken": progress_token}
        conn = http.client.HTTPConnection(self.client.host, self.client.port, timeout=30)
        try:
            body = json.dumps({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
            conn.request("POST", self.client.path, body=body, headers=self.client.headers())
            response = conn.getresponse()
            assert response.status == 200, (response.status, response.read())
            if not response.getheader("content-type", "").startswith("text/event-stream"):
                return json.loads(response.read().decode("utf-8"))
            for message in _sse_messages(response):
                if message.get("id") == id and "method" not in message:
                    return message
                if "method" in message and "id" in message:
                    self._answer(message)
                elif "method" in message:
                    self._record(message)
            raise AssertionError("the stream ended without an answer to {}".format(method))
        finally:
            conn.close()

    def _answer(self, message):
        try:
            reply = {"jsonrpc": "2.0", "id": message["id"], "result": self.on_request(message)}
        except Exception as exc:
            reply = {"jsonrpc": "2.0", "id": message["id"], "error": {"code": -1, "message": str(exc)}}
        self.client.post(reply)

    def call_tool(self, name, arguments=None, progress_token=None):
        return self.request(
            "tools/call", {"name": name, "arguments": arguments or {}}, progress_token
        )

    def close(self):
        if self._get is not None:
            # shutdown, not just close: the reader thread's file object keeps the socket open.
            try:
                self._get.sock.shutdown(socket.SHUT_RDWR)
            except (OSError, AttributeError):
                pass
            self._get.close()
        self.client.close()
