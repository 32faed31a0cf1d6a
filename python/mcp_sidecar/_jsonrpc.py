"""JSON-RPC 2.0 over newline-delimited UTF-8 JSON, as docs/ipc-protocol.md specifies.

Only framing, codes and message shapes live here; sockets and threads live in ``_ipc``.
"""

import json

PROTOCOL_VERSION = 1

# A line longer than this (newline excluded) is refused without buffering it whole.
MAX_LINE = 16 * 1024 * 1024
# auth.hello is tiny: an unauthenticated peer may not make the host buffer 16 MiB.
MAX_HELLO_LINE = 64 * 1024

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603

TOOL_NOT_FOUND = -32001
INVALID_ARGUMENTS = -32002
TIMEOUT = -32003
UNAUTHORIZED = -32004
HANDLER_ERROR = -32005
RESOURCE_NOT_FOUND = -32006
PROMPT_NOT_FOUND = -32007
CAPABILITY_MISSING = -32008

# The protocol's own error codes carry data {"kind": name}.
KIND_BY_CODE = {
    TOOL_NOT_FOUND: "tool_not_found",
    INVALID_ARGUMENTS: "invalid_arguments",
    TIMEOUT: "timeout",
    UNAUTHORIZED: "unauthorized",
    HANDLER_ERROR: "handler_error",
    RESOURCE_NOT_FOUND: "resource_not_found",
    PROMPT_NOT_FOUND: "prompt_not_found",
    CAPABILITY_MISSING: "capability_missing",
}


class RpcError(Exception):
    """A JSON-RPC error object, raised by a handler or received from the peer."""

    def __init__(self, code, message, data=None):
        super(RpcError, self).__init__(message)
        self.code = code
        self.message = message
        if data is None and code in KIND_BY_CODE:
            data = {"kind": KIND_BY_CODE[code]}
        self.data = data

    @property
    def kind(self):
        if isinstance(self.data, dict):
            return self.data.get("kind")
        return None

    def to_json(self):
        error = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error

    @classmethod
    def from_json(cls, error):
        if not isinstance(error, dict):
            return cls(INTERNAL_ERROR, "malformed error object: {!r}".format(error))
        return cls(
            error.get("code", INTERNAL_ERROR), str(error.get("message", "")), error.get("data")
        )

    def __repr__(self):
        return "RpcError({!r}, {!r})".format(self.code, self.message)


class LineTooLong(Exception):
    """The peer sent a line over the cap; the connection must be closed."""


class MessageTooLarge(ValueError):
    """An outgoing message would exceed the cap the peer enforces."""


def request(id, method, params):
    return {"jsonrpc": "2.0", "id": id, "method": method, "params": params}


def notification(method, params):
    return {"jsonrpc": "2.0", "method": method, "params": params}


def response(id, result):
    return {"jsonrpc": "2.0", "id": id, "result": result}


def error_response(id, error):
    return {"jsonrpc": "2.0", "id": id, "error": error.to_json()}


def encode(message, max_line=MAX_LINE):
    """One message as one line of bytes; strict JSON (no NaN), never a raw newline inside."""
    data = json.dumps(message, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    try:
        line = data.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from the peer: only a \u escape can carry it
        line = json.dumps(
            message, ensure_ascii=True, separators=(",", ":"), allow_nan=False
        ).encode("ascii")
    if len(line) > max_line:
        raise MessageTooLarge(
            "message is {} bytes; the IPC line cap is {} bytes".format(len(line), max_line)
        )
    return line + b"\n"


def decode(line):
    """Bytes of one line (newline stripped) → a Python value; ValueError if not JSON."""
    return json.loads(line.decode("utf-8"))


class LineReader(object):
    """Reads newline-terminated lines from a socket, never holding more than the cap."""

    _CHUNK = 65536

    def __init__(self, sock, max_line=MAX_LINE):
        self._sock = sock
        self.max_line = max_line
        self._buffer = bytearray()
        self._scanned = 0  # bytes of the buffer already known to hold no newline

    def rebind(self, sock, max_line):
        """Reads from ``sock`` with a new cap from now on; buffered bytes are kept."""
        self._sock = sock
        self.max_line = max_line

    def readline(self):
        """The next line without its terminator, or None at end of stream.

        Raises LineTooLong as soon as more than ``max_line`` bytes arrive without a newline.
        Socket errors (including timeouts) propagate.
        """
        while True:
            index = self._buffer.find(b"\n", self._scanned)
            if index >= 0:
                line = bytes(self._buffer[:index])
                del self._buffer[: index + 1]
                self._scanned = 0
                if line.endswith(b"\r"):
                    line = line[:-1]
                if len(line) > self.max_line:
                    raise LineTooLong(self.max_line)
                return line
            self._scanned = len(self._buffer)
            if self._scanned > self.max_line + 1:  # +1: a tolerated trailing \r
                raise LineTooLong(self.max_line)
            # Never past the cap (+ \r\n): a pending hello holds at most 64 KiB, not a chunk more.
            chunk = self._sock.recv(min(self._CHUNK, self.max_line + 2 - len(self._buffer)))
            if not chunk:
                return None
            self._buffer += chunk
