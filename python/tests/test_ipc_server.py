"""The host's IPC server against fake sidecars (sockets driven by the test).

Every transport: on Windows the named pipe and TCP; elsewhere the Unix socket, TCP, and the
host's pipe server code over an emulated listener (tests/pipe_emulation.py).
"""

import json
import os
import re
import socket
import stat
import threading
import time

import pytest

import ipcpeer
import pipe_emulation
from mcp_sidecar import _jsonrpc as rpc
from mcp_sidecar import _protocol as proto
from mcp_sidecar._errors import ConnectionLostError
from mcp_sidecar._ipc import IpcServer

TOKEN = "s3cret-token"
TRANSPORTS = ["pipe", "tcp"] if os.name == "nt" else ["unix", "tcp", "pipe"]
SOCKET_TRANSPORTS = [t for t in TRANSPORTS if t != "pipe"]
# Where the endpoint disappears once a sidecar is in (TCP keeps listening to refuse others).
PRIVATE = ("unix", "pipe")


@pytest.fixture(autouse=True)
def pipes_everywhere(monkeypatch):
    if os.name != "nt":
        pipe_emulation.install(monkeypatch)


class Host(object):
    """An IpcServer with a few test methods; records notifications and closes."""

    def __init__(self, transport, hello_timeout=2.0):
        self.notifications = []
        self.closed = threading.Event()
        self.close_reasons = []
        self.server = IpcServer(
            TOKEN,
            on_request=self.on_request,
            on_notification=lambda method, params: self.notifications.append((method, params)),
            on_close=self.on_close,
            transport=transport,
            hello_timeout=hello_timeout,
        )
        self.endpoint = self.server.start()

    def on_close(self, reason):
        self.close_reasons.append(reason)
        self.closed.set()

    def on_request(self, method, params, reply):
        if method == proto.TOOL_LIST:
            reply.result({"tools": []})
        elif method == "echo":
            reply.result(params)
        elif method == "later":
            timer = threading.Timer(params["delay"], reply.result, args=({"later": params["n"]},))
            timer.daemon = True
            timer.start()
        elif method == "boom":
            raise ValueError("kaput")
        else:
            raise rpc.RpcError(rpc.METHOD_NOT_FOUND, "method not found: {}".format(method))

    def peer(self):
        return ipcpeer.connect(self.endpoint)

    def good_peer(self):
        peer = self.peer()
        answer = peer.hello(TOKEN)
        assert answer["result"]["protocol"] == 1, answer
        assert answer["result"]["host"].startswith("mcp_sidecar-python/")
        return peer


@pytest.fixture(params=TRANSPORTS)
def host(request):
    host = Host(request.param)
    yield host
    host.server.close()


def assert_served_afterwards(host):
    peer = host.good_peer()
    peer.request(1, proto.TOOL_LIST)
    assert peer.read() == {"jsonrpc": "2.0", "id": 1, "result": {"tools": []}}
    peer.close()


def assert_error_then_dropped(peer, code, text):
    messages = peer.read_until_eof()
    assert len(messages) == 1, messages
    error = messages[0]["error"]
    assert error["code"] == code, error
    assert text in error["message"], error
    return messages[0]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_endpoint_shape_and_private_socket_dir(transport):
    host = Host(transport)
    try:
        kind, _, address = host.endpoint.partition(":")
        assert kind == transport
        if transport == "unix":
            directory = os.path.dirname(address)
            assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
            assert os.path.basename(address) == "ipc.sock"
        elif transport == "pipe":
            assert re.match(r"^\\\\\.\\pipe\\mcp-sidecar-[0-9a-f]{32}$", address), address
        else:
            assert address.startswith("127.0.0.1:") and int(address.rsplit(":", 1)[1]) > 0
    finally:
        host.server.close()
    if transport == "unix":
        assert not os.path.exists(os.path.dirname(address)), "socket dir left behind"


def test_good_hello_then_requests_and_notifications(host):
    peer = host.good_peer()
    peer.request(7, "echo", {"x": [1, "ü"]})
    assert peer.read() == {"jsonrpc": "2.0", "id": 7, "result": {"x": [1, "ü"]}}
    peer.send({"jsonrpc": "2.0", "method": proto.LIFECYCLE_READY, "params": {"port": 5, "url": "u"}})
    peer.request(8, "boom")
    error = peer.read()["error"]
    assert error["code"] == rpc.INTERNAL_ERROR and "ValueError: kaput" in error["message"]
    assert host.notifications == [(proto.LIFECYCLE_READY, {"port": 5, "url": "u"})]
    peer.send_raw(b'{"jsonrpc":"2.0","id":9,"method":"echo","params":{}}\r\n')  # CRLF tolerated
    assert peer.read()["id"] == 9


def test_wrong_token(host):
    peer = host.peer()
    peer.send(
        {"jsonrpc": "2.0", "id": 0, "method": proto.AUTH_HELLO, "params": {"token": "nope", "pid": 1}}
    )
    message = assert_error_then_dropped(peer, rpc.UNAUTHORIZED, "bad token")
    assert message["id"] == 0
    assert message["error"]["data"] == {"kind": "unauthorized"}
    assert_served_afterwards(host)


def test_non_ascii_token_is_just_wrong(host):
    peer = host.peer()
    peer.hello("\u00fc" * 20)
    assert peer.is_closed_by_peer()
    assert_served_afterwards(host)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_silent_peers_are_dropped_after_the_hello_timeout(transport):
    host = Host(transport, hello_timeout=1.0)
    try:
        started = time.monotonic()
        silent = host.peer()
        trickle = host.peer()  # dribbling bytes does not extend the deadline

        def dribble():
            for _ in range(30):
                try:
                    trickle.send_raw(b" ")
                except OSError:
                    return
                time.sleep(0.1)

        dribbler = threading.Thread(target=dribble)
        dribbler.start()
        assert_error_then_dropped(silent, rpc.UNAUTHORIZED, "no auth.hello within 1 s")
        assert trickle.is_closed_by_peer(timeout=3.0)
        assert 0.9 < time.monotonic() - started < 2.5
        dribbler.join()
        assert_served_afterwards(host)
    finally:
        host.server.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_silent_peers_never_hold_up_the_sidecar_and_go_when_it_is_in(transport):
    host = Host(transport, hello_timeout=5.0)
    try:
        silent = [host.peer() for _ in range(3)]
        started = time.monotonic()
        assert_served_afterwards(host)
        for peer in silent:  # at once, not after their 5 s
            assert_error_then_dropped(peer, rpc.UNAUTHORIZED, "already connected")
        assert time.monotonic() - started < 1.0
    finally:
        host.server.close()


def test_unknown_method_before_hello(host):
    peer = host.peer()
    peer.request(3, proto.TOOL_CALL, {"name": "x", "arguments": {}})
    message = assert_error_then_dropped(peer, rpc.UNAUTHORIZED, "first message must be")
    assert message["id"] == 3
    assert_served_afterwards(host)


def test_unknown_method_after_hello_keeps_the_connection(host):
    peer = host.good_peer()
    peer.request(4, "no.such.method")
    error = peer.read()
    assert error["id"] == 4 and error["error"]["code"] == rpc.METHOD_NOT_FOUND
    assert "no.such.method" in error["error"]["message"]
    peer.request(5, "echo", {"still": "open"})
    assert peer.read()["result"] == {"still": "open"}


def test_invalid_json_before_hello(host):
    peer = host.peer()
    peer.send_raw(b"{this is not json\n")
    message = assert_error_then_dropped(peer, rpc.PARSE_ERROR, "parse error")
    assert message["id"] is None
    assert_served_afterwards(host)


def test_invalid_json_after_hello(host):
    peer = host.good_peer()
    peer.send_raw(b'{"jsonrpc": "2.0", \xff\n')
    assert_error_then_dropped(peer, rpc.PARSE_ERROR, "parse error")
    assert host.closed.wait(2.0)


def test_invalid_requests_after_hello_get_minus_32600(host):
    peer = host.good_peer()
    for bad in (
        b"[1,2]\n",
        b'{"id":1,"method":"echo"}\n',
        b'{"jsonrpc":"2.0","id":1,"method":5}\n',
    ):
        peer.send_raw(bad)
        assert peer.read()["error"]["code"] == rpc.INVALID_REQUEST
    peer.request(2, "echo", {"ok": True})
    assert peer.read()["result"] == {"ok": True}


def test_oversized_hello_line(host):
    peer = host.peer()
    try:
        peer.send_raw(b"x" * (rpc.MAX_HELLO_LINE + 10))
    except OSError:
        pass
    assert_error_then_dropped(peer, rpc.INVALID_REQUEST, "cap")
    assert_served_afterwards(host)


def test_oversized_line_after_hello_is_refused_without_buffering(host):
    peer = host.good_peer()
    chunk = b"y" * (1 << 20)

    def flood():
        try:
            for _ in range(rpc.MAX_LINE // len(chunk) + 4):
                peer.send_raw(chunk)
        except OSError:
            pass  # the host closed on us mid-line, as it should

    sender = threading.Thread(target=flood)
    sender.start()
    assert_error_then_dropped(peer, rpc.INVALID_REQUEST, "16777216 byte cap")
    sender.join(10)
    assert host.closed.wait(2.0)
    assert "cap" in host.close_reasons[0]


def test_the_reader_never_buffers_past_its_cap():
    class Endless(object):
        asked = []

        def recv(self, size):
            self.asked.append(size)
            return b"x" * size

    reader = rpc.LineReader(Endless(), max_line=1000)
    with pytest.raises(rpc.LineTooLong):
        reader.readline()
    assert sum(Endless.asked) <= 1002, Endless.asked


def test_line_of_exactly_the_cap_is_accepted():
    class FakeSocket(object):
        def __init__(self, data):
            self.data = data

        def recv(self, size):
            chunk, self.data = self.data[:size], self.data[size:]
            return chunk

    line = b"z" * 1000
    reader = rpc.LineReader(FakeSocket(line + b"\r\n" + line + b"z\n"), max_line=1000)
    assert reader.readline() == line
    with pytest.raises(rpc.LineTooLong):
        reader.readline()


def test_second_sidecar_is_refused(host):
    first = host.good_peer()
    if host.server.transport in PRIVATE:
        # Authenticated: the socket file / listening pipe is gone, so nobody else can connect.
        if host.server.transport == "unix":
            assert not os.path.exists(os.path.dirname(host.endpoint[len("unix:") :]))
        with pytest.raises(OSError):
            ipcpeer.connect(host.endpoint, timeout=1.0)
    else:
        second = host.peer()
        assert_error_then_dropped(second, rpc.UNAUTHORIZED, "already connected")
    first.request(1, "echo", {"first": "still served"})
    assert first.read()["result"] == {"first": "still served"}


def test_host_requests_are_routed_by_id_and_fail_fast_on_close(host):
    peer = host.good_peer()
    connection = host.server.wait_connected(2.0)
    assert connection is not None
    results = {}

    def ask(n):
        try:
            results[n] = connection.request("probe", {"n": n}, timeout=5.0)
        except Exception as exc:  # noqa: BLE001 - recorded for the assertion below
            results[n] = exc

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(5)]
    for thread in threads:
        thread.start()
    requests = [peer.read() for _ in range(5)]
    assert sorted(r["params"]["n"] for r in requests) == list(range(5))
    # Answer all but the last, in reverse order, with a host-bound request in between.
    peer.request(99, "echo", {"interleaved": True})
    for req in reversed(requests[:4]):
        peer.send({"jsonrpc": "2.0", "id": req["id"], "result": {"echo": req["params"]["n"]}})
    assert peer.read()["id"] == 99
    deadline = time.monotonic() + 2
    while len(results) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    for req in requests[:4]:
        n = req["params"]["n"]
        assert results[n] == {"echo": n}
    started = time.monotonic()
    peer.close()  # the fifth is still pending: it must fail now, not after its 5 s timeout
    for thread in threads:
        thread.join(2.0)
    last = requests[4]["params"]["n"]
    assert isinstance(results[last], ConnectionLostError), results
    assert time.monotonic() - started < 1.0
    with pytest.raises(ConnectionLostError):
        connection.request("probe", {}, timeout=1.0)


def test_error_answers_to_host_requests_raise_rpc_error(host):
    peer = host.good_peer()
    connection = host.server.wait_connected(2.0)
    outcome = []
    thread = threading.Thread(
        target=lambda: outcome.append(_capture(connection.request, "probe", {}, timeout=5.0))
    )
    thread.start()
    request = peer.read()
    peer.send({"jsonrpc": "2.0", "id": request["id"], "error": {"code": -32601, "message": "nah"}})
    thread.join(2.0)
    assert isinstance(outcome[0], rpc.RpcError) and outcome[0].code == -32601


def _capture(function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001
        return exc


def test_late_replies_are_answered_from_other_threads(host):
    peer = host.good_peer()
    for n in range(3):
        peer.request(n + 1, "later", {"delay": 0.2 - n * 0.05, "n": n})
    answers = [peer.read() for _ in range(3)]
    assert sorted(a["id"] for a in answers) == [1, 2, 3]
    assert all(a["result"]["later"] == a["id"] - 1 for a in answers)  # each to its own id


def test_close_drops_everything_and_joins(host):
    before = threading.active_count()
    pending = host.peer()  # still in its hello
    good = host.good_peer()
    # The authenticated peer has a read thread; the pending one was dropped when it came in
    # (it costs no thread on sockets anyway); a pipe stops listening then, so its accept
    # thread is gone as well.
    expected = before + (0 if host.server.transport == "pipe" else 1)
    deadline = time.monotonic() + 2
    while threading.active_count() != expected and time.monotonic() < deadline:
        time.sleep(0.01)
    assert threading.active_count() == expected, [t.name for t in threading.enumerate()]
    host.server.close()
    assert good.is_closed_by_peer() and pending.is_closed_by_peer()
    assert threading.active_count() <= before - 1  # the accept thread is gone as well
    with pytest.raises(OSError):
        ipcpeer.connect(host.endpoint, timeout=1.0).hello(TOKEN)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_full_pending_set_evicts_its_oldest_never_the_newcomer(monkeypatch, transport):
    from mcp_sidecar import _ipc

    monkeypatch.setattr(_ipc, "MAX_PENDING_HELLOS", 2)
    host = Host(transport, hello_timeout=5.0)
    try:
        first, second = host.peer(), host.peer()
        time.sleep(0.1)
        third = host.peer()
        assert_error_then_dropped(first, rpc.UNAUTHORIZED, "evicted before its auth.hello")
        assert_served_afterwards(host)  # evicts `second`, then authenticates
        assert_error_then_dropped(second, rpc.UNAUTHORIZED, "evicted")
        assert_error_then_dropped(third, rpc.UNAUTHORIZED, "already connected")
    finally:
        host.server.close()


@pytest.mark.parametrize("transport", SOCKET_TRANSPORTS)
def test_socket_is_not_inherited(transport):
    host = Host(transport)
    try:
        assert not host.server._listener.get_inheritable()
    finally:
        host.server.close()


def test_tcp_listens_on_loopback_only():
    host = Host("tcp")
    try:
        port = int(host.endpoint.rsplit(":", 1)[1])
        assert host.server._listener.getsockname()[0] == "127.0.0.1"
        probe = socket.socket()
        try:
            probe.settimeout(0.5)
            for address in _non_loopback_addresses():
                assert probe.connect_ex((address, port)) != 0
        finally:
            probe.close()
    finally:
        host.server.close()


def _non_loopback_addresses():
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    except OSError:
        return []
    return sorted({info[4][0] for info in infos if not info[4][0].startswith("127.")})


def test_requests_pipelined_behind_the_hello_are_kept(host):
    peer = host.peer()
    hello = {"jsonrpc": "2.0", "id": 0, "method": proto.AUTH_HELLO, "params": {"token": TOKEN}}
    echo = {"jsonrpc": "2.0", "id": 1, "method": "echo", "params": {"pipelined": True}}
    peer.send_raw((json.dumps(hello) + "\n" + json.dumps(echo) + "\n").encode("utf-8"))
    assert peer.read()["id"] == 0
    assert peer.read() == {"jsonrpc": "2.0", "id": 1, "result": {"pipelined": True}}


def test_lone_surrogate_token_is_just_a_bad_token(host, caplog):
    peer = host.peer()
    peer.send_raw(b'{"jsonrpc":"2.0","id":0,"method":"auth.hello","params":{"token":"\\ud800"}}\n')
    assert_error_then_dropped(peer, rpc.UNAUTHORIZED, "bad token")
    assert [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")] == []
    assert_served_afterwards(host)


def test_lone_surrogates_after_the_hello_are_answered(host, caplog):
    peer = host.good_peer()
    peer.send_raw(b'{"jsonrpc":"2.0","id":1,"method":"\\udfff","params":{}}\n')
    error = peer.read()["error"]  # "method not found: \udfff", escaped since UTF-8 cannot hold it
    assert error["code"] == rpc.METHOD_NOT_FOUND and error["message"].endswith("\udfff")
    peer.request(2, "echo", {"s": "\ud800"})
    assert peer.read()["result"] == {"s": "\ud800"}
    assert [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")] == []


def test_a_failing_read_loop_is_logged_and_closes_the_connection_at_once(
    host, monkeypatch, caplog
):
    from mcp_sidecar import _ipc

    def broken(self, message):
        raise RuntimeError("injected")

    peer = host.good_peer()
    monkeypatch.setattr(_ipc.Connection, "_dispatch", broken)
    started = time.monotonic()
    peer.request(1, "echo", {})
    assert peer.is_closed_by_peer(timeout=2.0)
    assert time.monotonic() - started < 1.0
    assert host.closed.wait(1.0)
    assert "RuntimeError: injected" in host.close_reasons[0]
    assert any("IPC read loop failed" in r.getMessage() for r in caplog.records)


def test_a_failing_hello_check_is_logged_and_closes_only_that_peer(host, monkeypatch, caplog):
    from mcp_sidecar import _ipc

    real = _ipc.IpcServer._judge
    calls = []

    def broken_once(self, stream, reader, line):
        calls.append(line)
        if len(calls) == 1:
            raise RuntimeError("injected")
        return real(self, stream, reader, line)

    monkeypatch.setattr(_ipc.IpcServer, "_judge", broken_once)
    peer = host.peer()
    peer.hello(TOKEN)
    assert peer.is_closed_by_peer(timeout=2.0)
    assert any("IPC hello handling failed" in r.getMessage() for r in caplog.records)
    assert_served_afterwards(host)  # the accept loop lives on


def test_a_failing_hello_read_is_logged_and_closes_only_that_peer(host, monkeypatch, caplog):
    from mcp_sidecar import _ipc

    real = _ipc._first_line
    calls = []

    def broken_once(reader):
        calls.append(reader)
        if len(calls) == 1:
            raise RuntimeError("injected")
        return real(reader)

    monkeypatch.setattr(_ipc, "_first_line", broken_once)
    peer = host.peer()
    peer.hello(TOKEN)
    assert peer.is_closed_by_peer(timeout=2.0)
    assert any("failed" in r.getMessage() and r.exc_info for r in caplog.records)
    assert_served_afterwards(host)  # the loop lives on
