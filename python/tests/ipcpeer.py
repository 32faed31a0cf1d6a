"""A scriptable IPC peer (a fake sidecar's socket or pipe end) for tests against the host's server."""

import json
import socket
import time

from mcp_sidecar import _protocol as proto


def connect(endpoint, timeout=5.0):
    kind, _, address = endpoint.partition(":")
    if kind == "pipe":
        from mcp_sidecar import _winpipe

        sock = _winpipe.connect(address, timeout)
    elif kind == "unix":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        sock.connect(address)
    else:
        host, _, port = address.rpartition(":")
        sock = socket.create_connection((host, int(port)), timeout=timeout)
    sock.settimeout(timeout)
    return Peer(sock)


class Peer(object):
    def __init__(self, sock):
        self.sock = sock
        self.buffer = b""

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, message):
        self.send_raw(json.dumps(message).encode("utf-8") + b"\n")

    def hello(self, token, id=0):
        """Sends auth.hello; returns the answer (None if the host closed without one)."""
        try:
            self.send(
                {
                    "jsonrpc": "2.0",
                    "id": id,
                    "method": proto.AUTH_HELLO,
                    "params": {"token": token, "pid": 1, "version": "0.0.0", "protocol": 1},
                }
            )
        except (BrokenPipeError, ConnectionResetError):
            pass  # a host that refuses at once may close before we finish; its answer is queued
        return self.read()

    def request(self, id, method, params=None):
        self.send({"jsonrpc": "2.0", "id": id, "method": method, "params": params or {}})

    def read(self):
        """The next message, or None at EOF / reset."""
        while b"\n" not in self.buffer:
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                return None
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line.decode("utf-8"))

    def read_until_eof(self):
        """Every message left until the host closes; fails on timeout (connection kept open)."""
        messages = []
        while True:
            message = self.read()
            if message is None:
                return messages
            messages.append(message)

    def is_closed_by_peer(self, timeout=2.0):
        deadline = time.monotonic() + timeout
        self.sock.settimeout(timeout)
        try:
            while time.monotonic() < deadline:
                if self.read() is None:
                    return True
        except socket.timeout:
            return False
        return False

    def close(self):
        self.sock.close()
