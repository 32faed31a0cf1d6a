"""The host's IPC server: the sidecar connects here, authenticates, then both sides talk JSON-RPC.

See docs/ipc-protocol.md. One authenticated connection per server; every other connection gets
a clear error and is dropped. Each accepted connection runs on its own thread (the hello, then the
read loop), so a silent peer never delays the real sidecar.
"""

import errno
import hmac
import itertools
import logging
import os
import select
import shutil
import socket
import tempfile
import threading
import time

from . import _jsonrpc as rpc
from . import _protocol as proto
from ._errors import ConnectionLostError, SidecarError
from ._version import __version__

log = logging.getLogger("mcp_sidecar.ipc")

HOST_NAME = "mcp_sidecar-python/" + __version__
DEFAULT_HELLO_TIMEOUT = 5.0
# Unauthenticated connections handled at once; more are dropped on accept.
MAX_PENDING_HELLOS = 64
# AF_UNIX paths are capped at 104 (macOS) / 108 (Linux) bytes, terminator included.
_MAX_UNIX_PATH = 100


def default_transport():
    return "tcp" if os.name == "nt" or not hasattr(socket, "AF_UNIX") else "unix"


class _DeadlineSocket(object):
    """recv() that fails once an absolute deadline passes, however slowly the peer trickles."""

    def __init__(self, sock, deadline):
        self._sock = sock
        self._deadline = deadline

    def recv(self, size):
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout("hello timeout")
        self._sock.settimeout(remaining)
        return self._sock.recv(size)


class Reply(object):
    """Answers one request exactly once; later answers are ignored."""

    def __init__(self, connection, id):
        self._connection = connection
        self.id = id
        self._lock = threading.Lock()
        self._done = False

    @property
    def done(self):
        return self._done

    @property
    def connection_open(self):
        return not self._connection.closed

    def result(self, value):
        """Send a result; raises ValueError (incl. MessageTooLarge) if it cannot be encoded."""
        line = rpc.encode(rpc.response(self.id, value))
        self._send(line)

    def error(self, error):
        self._send(rpc.encode(rpc.error_response(self.id, error)))

    def _send(self, line):
        with self._lock:
            if self._done:
                return
            self._done = True
        self._connection.send_line(line, quiet=True)


class Connection(object):
    """One authenticated peer: routes its requests to a handler, its responses to our callers."""

    def __init__(self, sock, reader, on_request, on_notification, on_close):
        self._sock = sock
        self._reader = reader
        self._on_request = on_request
        self._on_notification = on_notification
        self._on_close = on_close
        self._send_lock = threading.Lock()
        self._pending = {}
        self._pending_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._closed = threading.Event()
        self.close_reason = None
        self.peer = {}  # auth.hello params (pid, version, protocol)

    @property
    def closed(self):
        return self._closed.is_set()

    # --- sending -----------------------------------------------------------------------------

    def send_line(self, line, quiet=False):
        if self.closed:
            if quiet:
                return False
            raise ConnectionLostError("IPC connection closed: {}".format(self.close_reason))
        try:
            with self._send_lock:
                self._sock.sendall(line)
            return True
        except OSError as exc:
            self.close("send failed: {}".format(exc))
            if quiet:
                return False
            raise ConnectionLostError("IPC connection closed: {}".format(self.close_reason))

    def send(self, message, quiet=False):
        return self.send_line(rpc.encode(message), quiet=quiet)

    def notify(self, method, params=None):
        return self.send(rpc.notification(method, {} if params is None else params))

    def request(self, method, params=None, timeout=None):
        """Send a request and wait for its answer; fails fast when the connection drops."""
        id = next(self._ids)
        waiter = _Pending()
        with self._pending_lock:
            if self.closed:
                raise ConnectionLostError("IPC connection closed: {}".format(self.close_reason))
            self._pending[id] = waiter
        try:
            self.send(rpc.request(id, method, {} if params is None else params))
            if not waiter.event.wait(timeout):
                raise SidecarError("no answer to {} within {:g} s".format(method, timeout))
        finally:
            with self._pending_lock:
                self._pending.pop(id, None)
        if waiter.lost is not None:
            raise ConnectionLostError("IPC connection closed: {}".format(waiter.lost))
        if waiter.error is not None:
            raise waiter.error
        return waiter.result

    # --- receiving ---------------------------------------------------------------------------

    def run(self):
        """The read loop; returns when the connection ends (EOF, error, or close())."""
        reason = "peer closed the connection"
        try:
            while True:
                try:
                    line = self._reader.readline()
                except rpc.LineTooLong as exc:
                    reason = "line over the {} byte cap".format(exc.args[0])
                    self._send_error_quietly(None, rpc.INVALID_REQUEST, _too_long_message(exc))
                    break
                except OSError as exc:
                    reason = "read failed: {}".format(exc) if not self.closed else self.close_reason
                    break
                if line is None:
                    break
                if not line.strip():
                    continue
                try:
                    message = rpc.decode(line)
                except ValueError as exc:
                    reason = "invalid JSON from peer"
                    self._send_error_quietly(None, rpc.PARSE_ERROR, "parse error: {}".format(exc))
                    break
                self._dispatch(message)
        finally:
            self.close(reason)
            try:
                self._sock.close()
            except OSError:
                pass

    def _dispatch(self, message):
        if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
            id = message.get("id") if isinstance(message, dict) else None
            self._send_error_quietly(
                _valid_id(id), rpc.INVALID_REQUEST, "invalid request: not a JSON-RPC 2.0 object"
            )
            return
        method = message.get("method")
        if method is None:
            self._route_response(message)
            return
        params = message.get("params", {})
        if not isinstance(method, str) or not isinstance(params, (dict, list)):
            self._send_error_quietly(
                _valid_id(message.get("id")),
                rpc.INVALID_REQUEST,
                "invalid request: method must be a string and params an object",
            )
            return
        if "id" not in message:
            try:
                self._on_notification(method, params)
            except Exception:
                log.exception("notification %s handler failed", method)
            return
        id = message["id"]
        if _valid_id(id) is None:
            self._send_error_quietly(
                None, rpc.INVALID_REQUEST, "invalid request id: {!r}".format(id)
            )
            return
        reply = Reply(self, id)
        try:
            self._on_request(method, params, reply)
        except rpc.RpcError as exc:
            reply.error(exc)
        except Exception as exc:
            log.exception("request %s handler failed", method)
            reply.error(rpc.RpcError(rpc.INTERNAL_ERROR, "{}: {}".format(type(exc).__name__, exc)))

    def _route_response(self, message):
        id = message.get("id")
        with self._pending_lock:
            waiter = self._pending.pop(id, None) if _valid_id(id) is not None else None
        if waiter is None:
            log.debug("dropping response to unknown request id %r", id)
            return
        if "error" in message:
            waiter.error = rpc.RpcError.from_json(message["error"])
        else:
            waiter.result = message.get("result")
        waiter.event.set()

    def _send_error_quietly(self, id, code, text):
        try:
            self.send(rpc.error_response(id, rpc.RpcError(code, text)), quiet=True)
        except ValueError:
            pass

    # --- closing -----------------------------------------------------------------------------

    def close(self, reason="closed by host"):
        """Idempotent. Wakes the read loop and fails every pending request at once."""
        with self._pending_lock:
            if self._closed.is_set():
                return
            self.close_reason = reason
            self._closed.set()
            pending = list(self._pending.values())
            self._pending.clear()
        for waiter in pending:
            waiter.lost = reason
            waiter.event.set()
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self._on_close(reason)
        except Exception:
            log.exception("connection close callback failed")


class _Pending(object):
    __slots__ = ("event", "result", "error", "lost")

    def __init__(self):
        self.event = threading.Event()
        self.result = None
        self.error = None
        self.lost = None


def _valid_id(id):
    # JSON-RPC ids are strings or numbers (bool is not a number here).
    if isinstance(id, bool) or not isinstance(id, (str, int, float)):
        return None
    return id


def _too_long_message(exc):
    return "message line exceeds the {} byte cap".format(exc.args[0])


class IpcServer(object):
    """Listens for the sidecar, checks its auth.hello, and serves one authenticated connection.

    ``on_request(method, params, reply)`` runs on the read thread and must not block: answer
    through ``reply`` now or later from another thread. ``on_close(reason)`` runs once when the
    authenticated connection ends.
    """

    def __init__(
        self,
        token,
        on_request,
        on_notification=None,
        on_close=None,
        transport=None,
        hello_timeout=DEFAULT_HELLO_TIMEOUT,
    ):
        transport = transport or default_transport()
        if transport not in ("unix", "tcp"):
            raise ValueError("ipc must be 'unix' or 'tcp', not {!r}".format(transport))
        if transport == "unix" and not hasattr(socket, "AF_UNIX"):
            raise ValueError("ipc='unix' is not available on this platform; use 'tcp'")
        self.transport = transport
        self._token = token.encode("utf-8")
        self._on_request = on_request
        self._on_notification = on_notification or (lambda method, params: None)
        self._on_close = on_close or (lambda reason: None)
        self.hello_timeout = hello_timeout
        self.endpoint = None
        self._listener = None
        self._wake_r = None
        self._wake_w = None
        self._socket_dir = None
        self._lock = threading.Lock()
        self._connected = threading.Condition(self._lock)
        self._connection = None
        self._claimed = False  # one sidecar per server, claimed at its successful hello
        self._threads = set()
        self._open_sockets = set()  # accepted sockets still in their hello
        self._closing = False

    @property
    def connection(self):
        return self._connection

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self):
        try:
            if self.transport == "unix":
                self._listener = self._listen_unix()
            else:
                self._listener = self._listen_tcp()
            self._wake_r, self._wake_w = socket.socketpair()
        except BaseException:
            self.close()
            raise
        self._spawn(self._accept_loop, "mcp-sidecar-ipc-accept")
        return self.endpoint

    def _listen_unix(self):
        directory = tempfile.mkdtemp(prefix="mcp-sidecar-")
        path = os.path.join(directory, "ipc.sock")
        if len(path.encode("utf-8")) > _MAX_UNIX_PATH and os.path.isdir("/tmp"):
            # A long $TMPDIR (macOS) would overflow sun_path; /tmp is short and the dir is 0700.
            os.rmdir(directory)
            directory = tempfile.mkdtemp(prefix="mcp-sidecar-", dir="/tmp")
            path = os.path.join(directory, "ipc.sock")
        self._socket_dir = directory
        os.chmod(directory, 0o700)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(path)
            listener.listen(16)
        except BaseException:
            listener.close()
            raise
        self.endpoint = "unix:" + path
        return listener

    def _listen_tcp(self):
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            if os.name == "nt":
                # Nobody else may bind our port while we listen on it.
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
            listener.bind(("127.0.0.1", 0))
            listener.listen(16)
        except BaseException:
            listener.close()
            raise
        self.endpoint = "tcp:127.0.0.1:{}".format(listener.getsockname()[1])
        return listener

    def wait_connected(self, timeout=None):
        """The authenticated connection, or None if none arrived within ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._connected:
            while self._connection is None and not self._closing:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    break
                self._connected.wait(remaining)
            return self._connection

    def close(self, timeout=2.0):
        """Stops accepting, closes every connection, joins threads, removes the socket dir."""
        with self._lock:
            self._closing = True
            self._connected.notify_all()
            connection = self._connection
            hellos = list(self._open_sockets)
        if self._wake_w is not None:
            try:
                self._wake_w.send(b"x")
            except OSError:
                pass
        if connection is not None:
            connection.close("host closed the IPC server")
        for sock in hellos:
            _shutdown(sock)
        deadline = time.monotonic() + timeout
        current = threading.current_thread()
        for thread in list(self._threads):
            if thread is not current:
                thread.join(max(0.0, deadline - time.monotonic()))
        for sock in (self._listener, self._wake_r, self._wake_w):
            if sock is not None:
                sock.close()
        self._listener = self._wake_r = self._wake_w = None
        self._remove_socket_dir()

    def _remove_socket_dir(self):
        with self._lock:
            directory, self._socket_dir = self._socket_dir, None
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)

    # --- accepting ---------------------------------------------------------------------------

    def _spawn(self, target, name, *args):
        thread = threading.Thread(target=self._run_tracked, args=(target,) + args, name=name)
        thread.daemon = True
        with self._lock:
            self._threads.add(thread)
        thread.start()
        return thread

    def _run_tracked(self, target, *args):
        try:
            target(*args)
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())

    def _accept_loop(self):
        listener, wake = self._listener, self._wake_r
        while True:
            try:
                readable, _, _ = select.select([listener, wake], [], [])
            except (OSError, ValueError):
                return
            if wake in readable or self._closing:
                return
            try:
                sock, _ = listener.accept()
            except OSError as exc:
                if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK, errno.ECONNABORTED, errno.EINTR):
                    continue
                return
            self._admit(sock)

    def _admit(self, sock):
        with self._lock:
            refusal = None
            if self._closing:
                refusal = "the host is shutting down"
            elif self._claimed:
                refusal = "a sidecar is already connected to this host"
            elif len(self._open_sockets) >= MAX_PENDING_HELLOS:
                refusal = "too many unauthenticated connections"
            else:
                self._open_sockets.add(sock)
        if refusal is not None:
            log.warning("dropping IPC connection: %s", refusal)
            _refuse(sock, None, refusal)
            return
        self._spawn(self._serve, "mcp-sidecar-ipc-conn", sock)

    def _serve(self, sock):
        connection = None
        try:
            connection = self._hello(sock)
        finally:
            with self._lock:
                self._open_sockets.discard(sock)
        if connection is not None:
            connection.run()

    def _hello(self, sock):
        """Runs the handshake; returns the authenticated Connection or None (socket closed)."""
        deadline = time.monotonic() + self.hello_timeout
        reader = rpc.LineReader(_DeadlineSocket(sock, deadline), max_line=rpc.MAX_HELLO_LINE)
        try:
            line = reader.readline()
            while line is not None and not line.strip():
                line = reader.readline()
        except socket.timeout:
            return self._drop(sock, None, "no auth.hello within {:g} s".format(self.hello_timeout))
        except rpc.LineTooLong as exc:
            return self._drop(sock, None, _too_long_message(exc), rpc.INVALID_REQUEST)
        except OSError as exc:
            return self._drop(sock, None, "read failed: {}".format(exc), quiet=True)
        if line is None:
            return self._drop(sock, None, "closed before auth.hello", quiet=True)
        try:
            message = rpc.decode(line)
        except ValueError as exc:
            return self._drop(sock, None, "parse error: {}".format(exc), rpc.PARSE_ERROR)
        id = _valid_id(message.get("id")) if isinstance(message, dict) else None
        if (
            not isinstance(message, dict)
            or message.get("method") != proto.AUTH_HELLO
            or "id" not in message
        ):
            return self._drop(
                sock, id, "unauthorized: the first message must be the auth.hello request"
            )
        params = message.get("params")
        token = params.get("token") if isinstance(params, dict) else None
        if not isinstance(token, str) or not hmac.compare_digest(
            token.encode("utf-8"), self._token
        ):
            return self._drop(sock, id, "unauthorized: bad token")
        with self._lock:
            refusal = None
            if self._claimed or self._closing:
                refusal = "a sidecar is already connected to this host"
            else:
                self._claimed = True
        if refusal is not None:
            return self._drop(sock, id, refusal)
        sock.settimeout(None)
        reader.rebind(sock, rpc.MAX_LINE)  # keeps whatever the peer pipelined after the hello
        connection = Connection(
            sock, reader, self._on_request, self._on_notification, self._on_close
        )
        connection.peer = dict(params)
        connection.peer.pop("token", None)
        # Nobody else may connect now: unlinking the socket makes that so, and leaves nothing in
        # the temp dir even if this process is killed without a chance to clean up.
        self._remove_socket_dir()
        # Answer before publishing the connection: nothing (tools.changed) may overtake the hello.
        connection.send(
            rpc.response(id, {"protocol": rpc.PROTOCOL_VERSION, "host": HOST_NAME}), quiet=True
        )
        with self._connected:
            self._connection = connection
            closing = self._closing
            self._connected.notify_all()
        if closing:
            connection.close("host closed the IPC server")
        log.debug("sidecar authenticated: %s", connection.peer)
        return connection

    def _drop(self, sock, id, text, code=rpc.UNAUTHORIZED, quiet=False):
        log.warning("dropping IPC connection: %s", text)
        _refuse(sock, id, None if quiet else text, code)
        return None


def _refuse(sock, id, text, code=rpc.UNAUTHORIZED):
    """Best effort: tell the peer why, then close."""
    if text is not None:
        try:
            sock.settimeout(1.0)
            sock.sendall(rpc.encode(rpc.error_response(id, rpc.RpcError(code, text))))
        except (OSError, ValueError):
            pass
    _shutdown(sock)
    sock.close()


def _shutdown(sock):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
