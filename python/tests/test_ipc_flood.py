"""No local process can keep the real sidecar off the host's IPC endpoint, and start errors say
what really happened (issue 13). The floods start before the sidecar is even spawned."""

import os
import socket
import threading
import time

import pytest

import ipcpeer
from mcp_sidecar import SidecarStartError
from mcp_sidecar import _ipc
from mcp_sidecar import _sidecar
from mcphttp import McpHttpClient, text_of

TRANSPORTS = ["tcp"] if os.name == "nt" else ["unix", "tcp"]
# More than the host holds at once (MAX_PENDING_HELLOS), so the flood forces evictions.
FLOOD = 300


def open_raw(endpoint):
    """A plain connected socket (no Peer wrapper: the flood holds hundreds)."""
    kind, _, address = endpoint.partition(":")
    if kind == "unix":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(address)
    else:
        host, _, port = address.rpartition(":")
        sock = socket.create_connection((host, int(port)), timeout=5)
    return sock


WRONG_HELLO = (
    b'{"jsonrpc":"2.0","id":0,"method":"auth.hello","params":{"token":"not-the-token",'
    b'"pid":1,"version":"0","protocol":1}}\n'
)


class Flood(object):
    """Opens FLOOD connections before the sidecar starts, then keeps opening more meanwhile."""

    def __init__(self, kind):
        self.kind = kind  # "silent" or "wrong-token"
        self.held = []
        self.opened = 0
        self.errors = []
        self._stop = threading.Event()
        self._thread = None

    def one(self, endpoint):
        try:
            sock = open_raw(endpoint)
            if self.kind == "wrong-token":
                sock.sendall(WRONG_HELLO)
        except OSError as exc:  # the host closed it at once: fine, it is a flood
            self.errors.append(exc)
            return
        self.opened += 1
        self.held.append(sock)
        if len(self.held) > FLOOD:  # stay within our own descriptors
            self.held.pop(0).close()

    def begin(self, endpoint):
        for _ in range(FLOOD):
            self.one(endpoint)

        def keep_going():
            while not self._stop.is_set():
                self.one(endpoint)

        self._thread = threading.Thread(target=keep_going, daemon=True)
        self._thread.start()

    def end(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        for sock in self.held:
            sock.close()


@pytest.fixture
def flood_before_spawn(monkeypatch):
    """Runs a Flood against the endpoint once the host listens, before the sidecar exists."""
    floods = []

    def install(kind):
        flood = Flood(kind)
        floods.append(flood)
        real = _sidecar.SidecarProcess

        def spawn(argv, env, log_file=None):
            flood.begin(argv[argv.index("--ipc") + 1])
            return real(argv, env, log_file)

        monkeypatch.setattr(_sidecar, "SidecarProcess", spawn)
        return flood

    yield install
    for flood in floods:
        flood.end()


@pytest.mark.parametrize("kind", ["silent", "wrong-token"])
@pytest.mark.parametrize("ipc", TRANSPORTS)
def test_a_flood_started_before_the_sidecar_never_keeps_it_out(
    make_sidecar, flood_before_spawn, ipc, kind
):
    flood = flood_before_spawn(kind)
    sidecar = make_sidecar(tools={"echo": lambda text: text}, ipc=ipc)
    sidecar.start(timeout=20)
    assert flood.opened >= FLOOD  # the flood really was there first
    client = McpHttpClient(sidecar.url)
    client.initialize()
    assert text_of(client.call_tool("echo", {"text": "admitted"})) == "admitted"
    flood.end()
    assert sidecar.is_alive()


def test_the_flood_costs_the_host_no_thread_per_peer(flood_before_spawn, make_sidecar):
    flood = flood_before_spawn("silent")
    sidecar = make_sidecar(tools={"echo": lambda text: text}, ipc="tcp", hello_timeout=5.0)
    before = threading.active_count()
    sidecar.start(timeout=20)
    # Hundreds of pending peers; the host added only its usual handful of threads.
    assert threading.active_count() - before < 10, [t.name for t in threading.enumerate()]
    assert flood.opened >= FLOOD


def test_tcp_flood_peers_are_closed_once_the_sidecar_is_in(flood_before_spawn, make_sidecar):
    flood = flood_before_spawn("silent")
    sidecar = make_sidecar(tools={}, ipc="tcp", hello_timeout=30.0)
    sidecar.start(timeout=20)
    flood.end()  # stop opening; look at the ones that were pending
    late = ipcpeer.connect(sidecar.ipc_endpoint)
    assert "already connected" in late.hello(sidecar.token[::-1])["error"]["message"]
    assert late.is_closed_by_peer()


# --- the start error names the real cause, one test per cause ----------------------------------


@pytest.fixture
def fake(fake_sidecar_command):
    made = []

    def make(mode, **kwargs):
        sidecar = _sidecar.McpSidecar(
            binary=fake_sidecar_command, env={"FAKE_MODE": mode}, **kwargs
        )
        made.append(sidecar)
        return sidecar

    yield make
    for sidecar in made:
        sidecar.stop(timeout=2.0)


def start_error(sidecar, timeout=10.0):
    with pytest.raises(SidecarStartError) as info:
        sidecar.start(timeout=timeout)
    return str(info.value)


def test_cause_sidecar_exited(fake):
    message = start_error(fake("exit"))
    assert "exited before it was ready (exit code 1: internal error" in message
    assert "nothing connected to the IPC endpoint" in message
    assert "fake sidecar: refusing to start (mode=exit)" in message  # its stderr tail


def test_cause_auth_refused(fake):
    message = start_error(fake("badtoken"))
    assert "exit code 2: authentication refused" in message
    assert "none authenticated; 1 refused, the last: unauthorized: bad token" in message


def test_cause_hello_timed_out(fake):
    message = start_error(fake("nohello", hello_timeout=0.5))
    assert "exit code 3" in message
    assert "the last: no auth.hello within 0.5 s" in message
    assert "host closed the connection before auth.hello" in message  # its stderr, too


def test_cause_never_connected(fake):
    started = time.monotonic()
    message = start_error(fake("noconnect"), timeout=1.0)
    assert "did not print READY within 1 s; nothing connected to the IPC endpoint" in message
    assert time.monotonic() - started < 4.0


def test_cause_authenticated_but_never_ready(fake):
    message = start_error(fake("silent"), timeout=1.0)
    assert "did not print READY within 1 s; the sidecar (pid " in message
    assert "authenticated over IPC" in message


def test_the_admissions_line_and_the_log_stay_short_under_a_flood(caplog):
    server = _ipc.IpcServer("t", on_request=lambda *a: None, transport="tcp", hello_timeout=0.2)
    server.start()
    try:
        for _ in range(20):
            ipcpeer.connect(server.endpoint).send_raw(b"nope\n")
        deadline = time.monotonic() + 5
        while "20 refused" not in server.admissions() and time.monotonic() < deadline:
            time.sleep(0.02)
        line = server.admissions()
        assert line.startswith("20 connection(s) to the IPC endpoint, none authenticated")
        assert "20 refused" in line and line.count("parse error") == _ipc._REFUSALS_KEPT
        warnings = [r for r in caplog.records if r.levelname == "WARNING"]
        assert len(warnings) == _ipc._REFUSALS_WARNED + 1, [r.getMessage() for r in warnings]
    finally:
        server.close()
