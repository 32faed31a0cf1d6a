"""The host's IPC server: the sidecar connects here, authenticates, then both sides talk JSON-RPC.

See docs/ipc-protocol.md. One authenticated connection per server; every other connection gets
a clear error and is dropped. Peers still in their hello are cheap and bounded: on sockets one
thread reads all of them (non-blocking, a 64 KiB line cap each); on a named pipe each has a
thread. When the pending set is full the oldest is evicted, never the newcomer, so connections
opened before the sidecar cannot keep it out. The authenticated connection gets its own thread.
"""

import collections
import errno
import hmac
import itertools
import logging
import os
import selectors
import shutil
import socket
import tempfile
import threading
import time

from . import _jsonrpc as rpc
from . import _protocol as proto
from . import _winpipe
from ._errors import ConnectionLostError, SidecarError
from ._version import __version__

log = logging.getLogger("mcp_sidecar.ipc")

HOST_NAME = "mcp_sidecar-python/" + __version__
# The sidecar writes its hello the moment it connects; 2 s is ample even under wine.
DEFAULT_HELLO_TIMEOUT = 2.0
# Unauthenticated peers held at once; the next one evicts the oldest (they never refuse it).
MAX_PENDING_HELLOS = 128
# Connections accepted per turn of the socket loop, fewer than the cap: a peer accepted in one
# turn has its hello read in the next, before newer connections can have evicted it.
_ACCEPTS_PER_TURN = 32
# Refusals remembered for the start error (the newest; a flood must not grow this).
_REFUSALS_KEPT = 3
# Refusals logged as warnings per server; the rest at debug level, so a flood cannot fill logs.
_REFUSALS_WARNED = 5
# AF_UNIX paths are capped at 104 (macOS) / 108 (Linux) bytes, terminator included.
_MAX_UNIX_PATH = 100

TRANSPORTS = ("unix", "tcp", "pipe")


def default_transport(os_name=None):
    """``pipe`` on Windows, ``unix`` elsewhere (``tcp`` where there is no AF_UNIX)."""
    if (os.name if os_name is None else os_name) == "nt":
        return "pipe"
    return "unix" if hasattr(socket, "AF_UNIX") else "tcp"


def check_transport(transport):
    """Raises ValueError unless ``transport`` names an IPC transport this platform has."""
    if transport not in TRANSPORTS:
        raise ValueError("ipc must be 'unix', 'tcp' or 'pipe', not {!r}".format(transport))
    if transport == "unix" and not hasattr(socket, "AF_UNIX"):
        raise ValueError("ipc='unix' is not available on this platform; use 'pipe' or 'tcp'")
    if transport == "pipe" and os.name != "nt":
        raise ValueError("ipc='pipe' (a Windows named pipe) is only available on Windows")


class _DeadlineStream(object):
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
        except Exception as exc:  # a bug here must not leave the peer hanging on a dead reader
            log.exception("IPC read loop failed")
            reason = "internal error in the host's IPC reader: {}: {}".format(
                type(exc).__name__, exc
            )
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


class _Candidate(object):
    """A connected peer that has not authenticated yet (its bytes so far, its deadline)."""

    __slots__ = ("stream", "reader", "deadline")

    def __init__(self, stream, reader, deadline):
        self.stream = stream
        self.reader = reader
        self.deadline = deadline


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
        capabilities=None,
    ):
        transport = transport or default_transport()
        self._capabilities = capabilities  # what the host serves besides tools (auth.hello)
        check_transport(transport)
        self.transport = transport
        self._token = _token_bytes(token)
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
        self._pipe_candidates = collections.OrderedDict()  # stream -> None, oldest first
        self._pipe_dismissed = {}  # stream -> why it was shut down while still pending
        self._closing = False
        self._accepted = 0
        self._refused = 0
        self._refusals = collections.deque(maxlen=_REFUSALS_KEPT)

    @property
    def connection(self):
        return self._connection

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self):
        try:
            if self.transport == "pipe":
                self._listener = _winpipe.PipeListener(_winpipe.new_pipe_name())
                self.endpoint = "pipe:" + self._listener.name
                loop = self._pipe_loop
            else:
                if self.transport == "unix":
                    self._listener = self._listen_unix()
                else:
                    self._listener = self._listen_tcp()
                self._listener.setblocking(False)
                self._wake_r, self._wake_w = socket.socketpair()
                loop = self._socket_loop
        except BaseException:
            self.close()
            raise
        self._spawn(loop, "mcp-sidecar-ipc-accept")
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
            listener.listen(socket.SOMAXCONN)
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
            listener.listen(socket.SOMAXCONN)
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

    def admissions(self):
        """One line on what reached the endpoint so far, for a start error."""
        with self._lock:
            connection, accepted = self._connection, self._accepted
            refused, refusals = self._refused, list(self._refusals)
        if connection is not None:
            return "the sidecar (pid {}) authenticated over IPC".format(connection.peer.get("pid"))
        if accepted == 0:
            return "nothing connected to the IPC endpoint {}".format(self.endpoint)
        text = "{} connection(s) to the IPC endpoint, none authenticated".format(accepted)
        if refused:
            text += "; {} refused, the last: {}".format(refused, " | ".join(refusals))
        return text

    def close(self, timeout=2.0):
        """Stops accepting, closes every connection, joins threads, removes the socket dir."""
        with self._lock:
            self._closing = True
            self._connected.notify_all()
            connection = self._connection
            self._dismiss_pending_pipes("the host is shutting down")
        self._wake()
        if connection is not None:
            connection.close("host closed the IPC server")
        deadline = time.monotonic() + timeout
        current = threading.current_thread()
        for thread in list(self._threads):
            if thread is not current:
                thread.join(max(0.0, deadline - time.monotonic()))
        for closable in (self._listener, self._wake_r, self._wake_w):
            if closable is not None:
                closable.close()
        self._listener = self._wake_r = self._wake_w = None
        self._stop_listening()

    def _wake(self):
        """Makes the accept loop return."""
        if self._wake_w is not None:
            try:
                self._wake_w.send(b"x")
            except OSError:
                pass
        if self.transport == "pipe" and self._listener is not None:
            self._listener.stop()

    def _stop_listening(self):
        """Once a sidecar is in, nobody else may connect: the socket file or pipe goes away."""
        with self._lock:
            directory, self._socket_dir = self._socket_dir, None
        if directory is not None:
            # Also leaves nothing in the temp dir if this process is killed later.
            shutil.rmtree(directory, ignore_errors=True)
        if self.transport == "pipe" and self._listener is not None:
            self._listener.stop()

    # --- threads -----------------------------------------------------------------------------

    def _spawn(self, target, name, *args):
        thread = threading.Thread(target=self._run_tracked, args=(target,) + args, name=name)
        thread.daemon = True
        with self._lock:  # started under the lock: close() never sees an unstarted thread
            self._threads.add(thread)
            thread.start()
        return thread

    def _run_tracked(self, target, *args):
        try:
            target(*args)
        except Exception:
            log.exception("IPC thread %s failed", threading.current_thread().name)
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())

    # --- sockets: one thread accepts and reads every pending hello ---------------------------

    def _socket_loop(self):
        selector = selectors.DefaultSelector()
        candidates = collections.OrderedDict()  # socket -> _Candidate, oldest first
        try:
            selector.register(self._listener, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while not self._closing:
                events = selector.select(_time_left(candidates))
                accept = False
                for key, _ in events:
                    if key.fileobj is self._wake_r:
                        return
                    if key.fileobj is self._listener:
                        accept = True
                    elif key.fileobj in candidates:
                        self._guarded(self._read_hello, candidates, selector, key.fileobj)
                self._expire(candidates, selector)
                if self._claimed:
                    self._drop_all(candidates, selector, "a sidecar is already connected to this host")
                if accept:
                    self._guarded(self._accept_some, candidates, selector)
        finally:
            self._drop_all(candidates, selector, None)
            selector.close()

    def _guarded(self, step, candidates, selector, sock=None):
        """Runs one step of the loop; a bug in it costs at most that peer, never the loop."""
        try:
            step(candidates, selector, *(() if sock is None else (sock,)))
        except Exception:
            log.exception("IPC accept loop step failed")
            if sock is not None and candidates.pop(sock, None) is not None:
                try:
                    selector.unregister(sock)
                except (KeyError, ValueError):
                    pass
                _refuse(sock, None, None)

    def _accept_some(self, candidates, selector):
        for _ in range(_ACCEPTS_PER_TURN):
            try:
                sock, _ = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno == errno.ECONNABORTED:
                    continue
                # Out of descriptors (EMFILE...): free the oldest pending one and retry next turn.
                log.warning("IPC accept failed: %s", exc)
                if candidates:
                    self._evict(candidates, selector)
                else:
                    time.sleep(0.05)  # nothing of ours to free: do not spin on a full table
                return
            with self._lock:
                self._accepted += 1
                refusal = _late_refusal(self._claimed, self._closing)
            if refusal is not None:
                self._drop(sock, None, refusal)
                continue
            try:
                if self.transport == "tcp":
                    # Small request/answer lines: Nagle + delayed ACK would add ~40 ms to each.
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.setblocking(False)
            except OSError as exc:
                self._drop(sock, None, "socket setup failed: {}".format(exc), quiet=True)
                continue
            while len(candidates) >= MAX_PENDING_HELLOS:
                self._evict(candidates, selector)
            reader = rpc.LineReader(sock, max_line=rpc.MAX_HELLO_LINE)
            deadline = time.monotonic() + self.hello_timeout
            candidates[sock] = _Candidate(sock, reader, deadline)
            selector.register(sock, selectors.EVENT_READ)

    def _read_hello(self, candidates, selector, sock):
        candidate = candidates[sock]
        try:
            line = _first_line(candidate.reader)
        except (BlockingIOError, InterruptedError):
            return  # the rest of the line is still on its way
        except rpc.LineTooLong as exc:
            line, failure = None, (_too_long_message(exc), rpc.INVALID_REQUEST, False)
        except OSError as exc:
            line, failure = None, ("read failed: {}".format(exc), rpc.UNAUTHORIZED, True)
        else:
            failure = None if line is not None else ("closed before auth.hello", None, True)
        del candidates[sock]
        selector.unregister(sock)
        if failure is not None:
            text, code, quiet = failure
            self._drop(sock, None, text, code or rpc.UNAUTHORIZED, quiet=quiet)
            return
        connection = self._judge_guarded(sock, candidate.reader, line)
        if connection is not None:
            self._spawn(connection.run, "mcp-sidecar-ipc-conn")

    def _expire(self, candidates, selector):
        now = time.monotonic()
        while candidates:
            sock, candidate = next(iter(candidates.items()))
            if candidate.deadline > now:
                return
            del candidates[sock]
            selector.unregister(sock)
            self._drop(sock, None, "no auth.hello within {:g} s".format(self.hello_timeout))

    def _evict(self, candidates, selector):
        sock, _ = candidates.popitem(last=False)
        selector.unregister(sock)
        self._drop(sock, None, _EVICTED)

    def _drop_all(self, candidates, selector, text):
        while candidates:
            sock, _ = candidates.popitem(last=False)
            try:
                selector.unregister(sock)
            except (KeyError, ValueError):
                pass
            if text is None:
                _refuse(sock, None, None)
            else:
                self._drop(sock, None, text)

    # --- named pipe (Windows): an accept thread, one thread per pending peer -----------------

    def _pipe_loop(self):
        while True:
            stream = self._listener.accept()
            if stream is None:
                return
            with self._lock:
                self._accepted += 1
                refusal = _late_refusal(self._claimed, self._closing)
                if refusal is None:
                    while len(self._pipe_candidates) >= MAX_PENDING_HELLOS:
                        oldest, _ = self._pipe_candidates.popitem(last=False)
                        self._dismiss_pipe(oldest, _EVICTED)
                    self._pipe_candidates[stream] = None
            if refusal is not None:
                self._drop(stream, None, refusal)
                continue
            self._spawn(self._serve_pipe, "mcp-sidecar-ipc-conn", stream)

    def _serve_pipe(self, stream):
        deadline = time.monotonic() + self.hello_timeout
        reader = rpc.LineReader(_DeadlineStream(stream, deadline), max_line=rpc.MAX_HELLO_LINE)
        connection = None
        try:
            try:
                line = _first_line(reader)
            except socket.timeout:
                return self._drop(stream, None, "no auth.hello within {:g} s".format(self.hello_timeout))
            except rpc.LineTooLong as exc:
                return self._drop(stream, None, _too_long_message(exc), rpc.INVALID_REQUEST)
            except OSError as exc:
                line, failure = None, "read failed: {}".format(exc)
            except Exception as exc:
                log.exception("IPC hello read failed")
                return self._drop(stream, None, "internal error: {}".format(type(exc).__name__))
            else:
                failure = "closed before auth.hello"
            if line is None:
                with self._lock:
                    dismissed = self._pipe_dismissed.pop(stream, None)
                if dismissed is not None:  # we shut it down: say why
                    return self._drop(stream, None, dismissed)
                return self._drop(stream, None, failure, quiet=True)
            connection = self._judge_guarded(stream, reader, line)
        finally:
            with self._lock:
                self._pipe_candidates.pop(stream, None)
                self._pipe_dismissed.pop(stream, None)
        if connection is not None:
            connection.run()

    def _dismiss_pipe(self, stream, reason):
        """(Lock held.) Wakes a pending pipe peer's thread, which drops it saying ``reason``."""
        self._pipe_dismissed[stream] = reason
        _shutdown(stream)

    def _dismiss_pending_pipes(self, reason, keep=None):
        """(Lock held.)"""
        while self._pipe_candidates:
            stream, _ = self._pipe_candidates.popitem(last=False)
            if stream is not keep:
                self._dismiss_pipe(stream, reason)

    # --- the hello itself (every transport) --------------------------------------------------

    def _judge_guarded(self, stream, reader, line):
        try:
            return self._judge(stream, reader, line)
        except Exception as exc:
            log.exception("IPC hello handling failed")
            return self._drop(stream, None, "internal error: {}".format(type(exc).__name__))

    def _judge(self, stream, reader, line):
        """Checks the first line; returns the authenticated Connection or None (peer dropped)."""
        try:
            message = rpc.decode(line)
        except ValueError as exc:
            return self._drop(stream, None, "parse error: {}".format(exc), rpc.PARSE_ERROR)
        id = _valid_id(message.get("id")) if isinstance(message, dict) else None
        if (
            not isinstance(message, dict)
            or message.get("method") != proto.AUTH_HELLO
            or "id" not in message
        ):
            return self._drop(
                stream, id, "unauthorized: the first message must be the auth.hello request"
            )
        params = message.get("params")
        token = params.get("token") if isinstance(params, dict) else None
        if not isinstance(token, str) or not hmac.compare_digest(_token_bytes(token), self._token):
            return self._drop(stream, id, "unauthorized: bad token")
        with self._lock:
            refusal = _late_refusal(self._claimed, self._closing)
            if refusal is None:
                self._claimed = True
                self._dismiss_pending_pipes(_late_refusal(True, False), keep=stream)
        if refusal is not None:
            return self._drop(stream, id, refusal)
        stream.settimeout(None)
        reader.rebind(stream, rpc.MAX_LINE)  # keeps whatever the peer pipelined after the hello
        connection = Connection(
            stream, reader, self._on_request, self._on_notification, self._on_close
        )
        connection.peer = dict(params)
        connection.peer.pop("token", None)
        self._stop_listening()
        # Answer before publishing the connection: nothing (tools.changed) may overtake the hello.
        welcome = {"protocol": rpc.PROTOCOL_VERSION, "host": HOST_NAME}
        if self._capabilities is not None:
            welcome["capabilities"] = self._capabilities
        connection.send(rpc.response(id, welcome), quiet=True)
        with self._connected:
            self._connection = connection
            closing = self._closing
            self._connected.notify_all()
        if closing:
            connection.close("host closed the IPC server")
        log.debug("sidecar authenticated: %s", connection.peer)
        return connection

    def _drop(self, stream, id, text, code=rpc.UNAUTHORIZED, quiet=False):
        with self._lock:
            self._refused += 1
            self._refusals.append(text)
            refused = self._refused
        if refused <= _REFUSALS_WARNED:
            log.warning("dropping IPC connection: %s", text)
            if refused == _REFUSALS_WARNED:
                log.warning("further dropped IPC connections are logged at debug level")
        else:
            log.debug("dropping IPC connection: %s", text)
        _refuse(stream, id, None if quiet else text, code)
        return None


_EVICTED = "evicted before its auth.hello: newer connections are waiting"


def _token_bytes(token):
    # A lone surrogate ("\ud800") cannot be UTF-8; surrogatepass gives bytes that never match.
    return token.encode("utf-8", "surrogatepass")


def _first_line(reader):
    """The first non-blank line (None at EOF); blank keep-alive lines before it are skipped."""
    line = reader.readline()
    while line is not None and not line.strip():
        line = reader.readline()
    return line


def _late_refusal(claimed, closing):
    if closing:
        return "the host is shutting down"
    if claimed:
        return "a sidecar is already connected to this host"
    return None


def _time_left(candidates):
    """Seconds until the oldest pending hello expires (None: nothing pending)."""
    if not candidates:
        return None
    oldest = next(iter(candidates.values()))
    return max(0.0, oldest.deadline - time.monotonic())


def _refuse(stream, id, text, code=rpc.UNAUTHORIZED):
    """Best effort and never blocking: tell the peer why, then close."""
    if text is not None:
        try:
            stream.settimeout(0)
            stream.sendall(rpc.encode(rpc.error_response(id, rpc.RpcError(code, text))))
        except (OSError, ValueError):
            pass
    _shutdown(stream)
    try:
        stream.close()
    except OSError:
        pass


def _shutdown(stream):
    try:
        stream.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
