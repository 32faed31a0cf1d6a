"""Process lifetime: repeated start/stop without leaks, and every way the two sides can die."""

import gc
import http.client
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from conftest import PYTHON_DIR
from mcp_sidecar import McpSidecar
from mcp_sidecar import _protocol as proto
from mcp_sidecar._errors import ConnectionLostError
from mcp_sidecar._ipc import default_transport
from mcphttp import McpHttpClient

# The default (Unix socket; named pipe on Windows) and loopback TCP.
IPC = pytest.mark.parametrize("ipc", [None, "tcp"])
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inspects /proc")
posix_only = pytest.mark.skipif(os.name == "nt", reason="POSIX signals")


def process_state(pid):
    """The /proc state letter of ``pid`` ('Z' zombie, 'R', 'S', ...) or None if it is gone."""
    try:
        with open("/proc/{}/stat".format(pid)) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def children_of(pid):
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/{}/stat".format(entry)) as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append((int(entry), fields[0]))
    return found


def open_fds():
    """{fd: what it points at}; a socket's target names its inode, so reuse cannot hide a leak."""
    fds = {}
    for fd in os.listdir("/proc/self/fd"):
        try:
            fds[fd] = os.readlink("/proc/self/fd/" + fd)
        except OSError:
            pass  # the listdir handle itself
    return fds


def our_threads():
    return sorted(t.name for t in threading.enumerate() if t.name.startswith("mcp-sidecar"))


def wait_until(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


@IPC
def test_hundred_start_stop_cycles_leak_nothing(sidecar_binary, ipc):
    on_linux = sys.platform.startswith("linux")

    def cycle():
        sidecar = McpSidecar(tools={"echo": lambda text: text}, binary=sidecar_binary, ipc=ipc)
        sidecar.start(timeout=10)
        assert sidecar.is_alive()
        assert sidecar.ipc_endpoint.startswith((ipc or default_transport()) + ":")
        assert sidecar.stop(timeout=5) == 0
        return sidecar

    cycle()  # warm-up: lazy imports, logging setup
    gc.collect()  # earlier tests' garbage must not close its fds in the middle of the count
    threads, ours = threading.active_count(), our_threads()
    fds = open_fds() if on_linux else None
    failures = []
    for n in range(100):
        try:
            cycle()
        except Exception as exc:  # noqa: BLE001 - counted, then reported
            failures.append("cycle {}: {!r}".format(n, exc))
    assert failures == []
    assert our_threads() == ours
    assert threading.active_count() <= threads, [t.name for t in threading.enumerate()]
    if on_linux:
        assert children_of(os.getpid()) == [], "child processes left behind"
        after = open_fds()
        leaked = {fd: target for fd, target in after.items() if fds.get(fd) != target}
        assert leaked == {}, "file descriptors leaked"


HOST_SCRIPT = textwrap.dedent("""
    import json, sys, time
    from mcp_sidecar import McpSidecar
    ipc = sys.argv[3] if len(sys.argv) > 3 else None
    sidecar = McpSidecar(tools={"echo": lambda text: text}, binary=sys.argv[1], ipc=ipc)
    sidecar.start(timeout=10)
    print(json.dumps({"pid": sidecar.pid, "url": sidecar.url}), flush=True)
    if sys.argv[2] == "sleep":
        time.sleep(60)
    # "exit": leave without stop(); the atexit safety net must stop the sidecar.
    """)


def run_host(binary, mode, ipc=None):
    env = dict(os.environ, PYTHONPATH=PYTHON_DIR)
    host = subprocess.Popen(
        [sys.executable, "-c", HOST_SCRIPT, binary, mode] + ([ipc] if ipc else []),
        stdout=subprocess.PIPE,
        env=env,
    )
    line = host.stdout.readline()
    assert line, "host did not report its sidecar"
    return host, json.loads(line.decode("utf-8"))


def gone(pid):
    # Reparented to PID 1, it may linger as a zombie until reaped: it is not running either way.
    return process_state(pid) in (None, "Z", "X")


@IPC
@linux_only
@posix_only
def test_sidecar_exits_within_a_second_of_the_host_being_killed(sidecar_binary, ipc):
    host, info = run_host(sidecar_binary, "sleep", ipc)
    try:
        assert not gone(info["pid"])
        host.kill()  # SIGKILL: no atexit, no cleanup in the host at all
        host.wait(5)
        killed_at = time.monotonic()
        assert wait_until(lambda: gone(info["pid"]), 1.0), "sidecar outlived its host by > 1 s"
        assert time.monotonic() - killed_at <= 1.0
    finally:
        host.kill()
        host.wait()
        host.stdout.close()


@linux_only
def test_atexit_stops_a_forgotten_sidecar(sidecar_binary):
    host, info = run_host(sidecar_binary, "exit")
    try:
        assert host.wait(10) == 0
        assert wait_until(lambda: gone(info["pid"]), 1.0)
    finally:
        host.stdout.close()


@posix_only
def test_sidecar_killed_makes_everything_fail_fast(make_sidecar):
    entered, release = threading.Event(), threading.Event()

    def hang():
        entered.set()
        release.wait(10)
        return "late"

    sidecar = make_sidecar(tools={"hang": hang}, tool_timeout=10)
    sidecar.start(timeout=10)
    client = McpHttpClient(sidecar.url, timeout=10)
    client.initialize()
    outcome = {}

    def call():
        started = time.monotonic()
        try:
            outcome["result"] = client.call_tool("hang")
        except Exception as exc:  # noqa: BLE001
            outcome["error"] = exc
        outcome["took"] = time.monotonic() - started

    caller = threading.Thread(target=call)
    caller.start()
    assert entered.wait(5)
    connection = sidecar._server.connection
    killed_at = time.monotonic()
    os.kill(sidecar.pid, signal.SIGKILL)

    assert wait_until(lambda: not sidecar.is_alive(), 1.0)
    # The MCP client's in-flight call fails now, not after the 10 s tool timeout.
    caller.join(2.0)
    assert isinstance(outcome.get("error"), (OSError, http.client.HTTPException)), outcome
    assert time.monotonic() - killed_at < 1.5
    # The read thread sees the EOF at once (the process exit can be noticed a moment earlier);
    # then host → sidecar requests fail at once with a clear error (pending: test_ipc_server).
    assert wait_until(lambda: connection.closed, 1.0)
    with pytest.raises(ConnectionLostError) as info:
        connection.request(proto.LIFECYCLE_SHUTDOWN, {}, timeout=10)
    assert "IPC connection closed: peer closed the connection" in str(info.value)
    release.set()  # the handler finishes; its answer has nowhere to go and is dropped
    started = time.monotonic()
    assert sidecar.stop(timeout=5) == -signal.SIGKILL
    assert time.monotonic() - started < 1.0


def _capture(function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001
        return exc


def test_main_mode_drops_calls_of_a_dead_sidecar(make_sidecar):
    ran = []
    sidecar = make_sidecar(tools={"t": lambda: ran.append(1)}, call_mode="main", tool_timeout=10)
    sidecar.start(timeout=10)
    client = McpHttpClient(sidecar.url, timeout=5)
    client.initialize()
    caller = threading.Thread(target=lambda: _capture(client.call_tool, "t"))
    caller.start()
    assert wait_until(lambda: sidecar._executor._queue.qsize() == 1, 5)
    sidecar._process.proc.kill()
    assert wait_until(lambda: not sidecar.is_alive(), 1.0)
    assert sidecar.process_pending(timeout=0.1) == 0
    assert ran == []
    caller.join(5)


@posix_only
def test_stop_escalates_to_kill_when_the_sidecar_ignores_everything(fake_sidecar_command):
    sidecar = McpSidecar(binary=fake_sidecar_command, env={"FAKE_MODE": "stubborn"})
    sidecar.start(timeout=10)
    started = time.monotonic()
    try:
        code = sidecar.stop(timeout=0.2)
    finally:
        sidecar.stop()
    assert code == -signal.SIGKILL
    assert time.monotonic() - started < 4.0
    assert not sidecar.is_alive()


def test_start_twice_is_refused_but_restart_after_stop_works(make_sidecar):
    from mcp_sidecar import SidecarError

    sidecar = make_sidecar(tools={"echo": lambda text: text})
    sidecar.start(timeout=10)
    with pytest.raises(SidecarError):
        sidecar.start()
    first = sidecar.pid
    sidecar.stop()
    sidecar.start(timeout=10)
    assert sidecar.pid != first and sidecar.is_alive()
    client = McpHttpClient(sidecar.url)
    client.initialize()
    assert client.call_tool("echo", {"text": "again"})["content"][0]["text"] == "again"


def test_sidecar_exits_3_when_the_ipc_connection_closes(make_sidecar):
    sidecar = make_sidecar(tools={"echo": lambda text: text})
    sidecar.start(timeout=10)
    sidecar._server.connection.close("test closes the IPC connection")
    closed_at = time.monotonic()
    assert sidecar.wait(timeout=2.0) == 3
    assert time.monotonic() - closed_at <= 1.0
    assert not sidecar.is_alive()


def test_process_pending_forever_wakes_up_when_the_sidecar_dies(make_sidecar):
    sidecar = make_sidecar(tools={"t": lambda: 1}, call_mode="main")
    sidecar.start(timeout=10)
    timer = threading.Timer(0.2, sidecar._process.proc.kill)
    timer.start()
    started = time.monotonic()
    assert sidecar.process_pending(timeout=None) == 0
    assert time.monotonic() - started < 2.0
    timer.join()


@posix_only
def test_serve_demo_until_ctrl_c(sidecar_binary):
    env = dict(os.environ, PYTHONPATH=PYTHON_DIR, MCP_SIDECAR_BINARY=sidecar_binary)
    serve = subprocess.Popen(
        [sys.executable, "-m", "mcp_sidecar", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        env=env,
        universal_newlines=True,
    )
    try:
        first = serve.stdout.readline()
        assert first.startswith("MCP server: http://127.0.0.1:"), first
        url = first.split(": ", 1)[1].strip()
        assert "echo, add, sleep" in serve.stdout.readline()
        client = McpHttpClient(url)
        client.initialize()
        assert client.call_tool("add", {"a": 1, "b": 2})["structuredContent"] == {"sum": 3}
        sidecar_pids = [pid for pid, _ in children_of(serve.pid)]
        assert len(sidecar_pids) == 1
        serve.send_signal(signal.SIGINT)  # Ctrl-C reaches the host, which stops the sidecar
        assert serve.wait(10) == 0
        assert all(gone(pid) for pid in sidecar_pids)
    finally:
        serve.kill()
        serve.wait()
        serve.stdout.close()
