"""McpSidecar's process handling and call modes, against tests/fake_sidecar.py."""

import json
import os
import sys
import threading
import time

import pytest

from mcp_sidecar import McpSidecar, SidecarError, SidecarStartError
from mcp_sidecar import _jsonrpc as rpc
from mcp_sidecar import _protocol as proto


def read_events(path, count, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            with open(path) as handle:
                events = [json.loads(line) for line in handle if line.strip()]
            if len(events) >= count:
                return events
        time.sleep(0.02)
    raise AssertionError("fewer than {} events in {}".format(count, path))


@pytest.fixture
def fake(fake_sidecar_command, tmp_path):
    made = []
    out = str(tmp_path / "events.jsonl")

    def make(mode="ok", calls=(), **kwargs):
        env = {"FAKE_MODE": mode, "FAKE_CALLS": json.dumps(list(calls)), "FAKE_OUT": out}
        sidecar = McpSidecar(binary=fake_sidecar_command, env=env, **kwargs)
        made.append(sidecar)
        return sidecar

    make.out = out
    yield make
    for sidecar in made:
        sidecar.stop(timeout=2.0)


def test_start_stop_with_fake(fake):
    sidecar = fake(tools={"echo": lambda text: text})
    assert sidecar.url is None and not sidecar.is_alive()
    assert sidecar.start(timeout=10) == 1
    assert sidecar.url == "http://127.0.0.1:1/mcp"
    assert sidecar.is_alive()
    assert len(sidecar.token) >= 40
    endpoint = sidecar.ipc_endpoint
    tool_list = read_events(fake.out, 1)[0]["answer"]["result"]["tools"]
    assert [t["name"] for t in tool_list] == ["echo"]
    assert sidecar.stop() == 0
    assert not sidecar.is_alive()
    assert sidecar.stop() == 0  # idempotent
    if endpoint.startswith("unix:"):
        assert not os.path.exists(os.path.dirname(endpoint[5:]))


def test_sidecar_that_exits_early(fake):
    sidecar = fake(mode="exit")
    with pytest.raises(SidecarStartError) as info:
        sidecar.start(timeout=10)
    message = str(info.value)
    assert "exited before it was ready (exit code 1" in message
    assert "fake sidecar: refusing to start (mode=exit)" in message  # the stderr tail
    assert "--ipc" in message and sidecar.token not in message
    assert not sidecar.is_alive() and sidecar.returncode == 1


def test_sidecar_that_never_gets_ready(fake):
    sidecar = fake(mode="silent")
    started = time.monotonic()
    with pytest.raises(SidecarStartError) as info:
        sidecar.start(timeout=1.0)
    assert "did not print READY within 1 s" in str(info.value)
    assert time.monotonic() - started < 4.0
    assert sidecar.returncode is not None  # killed and reaped


def test_refused_token_is_reported(fake):
    sidecar = fake(mode="badtoken")
    with pytest.raises(SidecarStartError) as info:
        sidecar.start(timeout=10)
    assert "exit code 2: authentication refused or no token" in str(info.value)
    assert "hello refused" in str(info.value)


def test_log_file_receives_stderr_and_feeds_the_error(fake, tmp_path):
    log_file = tmp_path / "sidecar.log"
    sidecar = fake(mode="exit", log_file=str(log_file))
    with pytest.raises(SidecarStartError) as info:
        sidecar.start(timeout=10)
    assert "refusing to start" in log_file.read_text()
    assert "refusing to start" in str(info.value)


def test_unrunnable_binary(tmp_path):
    not_executable = tmp_path / "mcp-sidecar"
    not_executable.write_text("nothing")
    with pytest.raises(SidecarStartError) as info:
        McpSidecar(binary=str(not_executable)).start(timeout=2)
    assert "could not run" in str(info.value)


def test_missing_binary_raises_binary_not_found(monkeypatch, tmp_path):
    monkeypatch.setenv("MCP_SIDECAR_BINARY", str(tmp_path / "absent"))
    with pytest.raises(FileNotFoundError) as info:
        McpSidecar().start()
    assert "absent" in str(info.value)


def test_bad_constructor_arguments():
    with pytest.raises(ValueError):
        McpSidecar(call_mode="fiber")
    with pytest.raises(ValueError):
        McpSidecar(ipc="fifo")
    with pytest.raises(ValueError):
        McpSidecar(tool_timeout=0)


def test_register_after_start_sends_tools_changed(fake):
    sidecar = fake(tools={"a": lambda: 1})
    sidecar.start(timeout=10)

    @sidecar.tool(description="second")
    def b():
        return 2

    @sidecar.tool
    def c():
        return 3

    assert sidecar.tool_names == ["a", "b", "c"]
    events = read_events(fake.out, 3)
    assert events[1:] == [{"event": "tools.changed"}] * 2
    assert sidecar.unregister_tool("a") and not sidecar.unregister_tool("a")
    assert read_events(fake.out, 4)[3] == {"event": "tools.changed"}


def call(n, name, arguments):
    return [proto.TOOL_CALL, {"name": name, "arguments": arguments, "n": n}]


def test_main_mode_runs_handlers_only_in_process_pending(fake):
    ran_on = []

    def record(value):
        ran_on.append(threading.current_thread().name)
        return value * 2

    calls = [call(n, "double", {"value": n}) for n in range(3)] + [call(9, "nope", {})]
    sidecar = fake(tools={"double": record}, call_mode="main", calls=calls)
    sidecar.start(timeout=10)
    # The unknown tool is answered at once (no handler to run); the others wait.
    events = read_events(fake.out, 2)
    assert events[1]["answer"]["error"]["code"] == rpc.TOOL_NOT_FOUND
    time.sleep(0.2)
    assert ran_on == [] and len(read_events(fake.out, 2)) == 2
    assert sidecar.process_pending(timeout=1.0, max_calls=2) == 2
    assert sidecar.process_pending(timeout=1.0) == 1
    assert sidecar.process_pending(timeout=0.05) == 0
    assert ran_on == [threading.current_thread().name] * 3
    answers = [e["answer"] for e in read_events(fake.out, 5)[2:]]
    assert [a["result"]["content"][0]["text"] for a in answers] == ["0", "2", "4"]


def test_main_mode_drops_calls_older_than_the_tool_timeout(fake):
    ran = []
    sidecar = fake(
        tools={"t": lambda: ran.append(1)},
        call_mode="main",
        tool_timeout=0.2,
        calls=[call(0, "t", {})],
    )
    sidecar.start(timeout=10)
    time.sleep(0.5)
    assert sidecar.process_pending() == 0
    assert ran == []
    error = read_events(fake.out, 2)[1]["answer"]["error"]
    assert error["code"] == rpc.TIMEOUT


def test_process_pending_is_for_main_mode_only(fake):
    with pytest.raises(SidecarError):
        fake().process_pending()


def test_thread_mode_runs_calls_concurrently(fake):
    release = threading.Event()

    def hang():
        release.wait(5)
        return "released"

    calls = [call(0, "hang", {}), call(1, "quick", {})]
    sidecar = fake(tools={"hang": hang, "quick": lambda: "quick"}, calls=calls)
    sidecar.start(timeout=10)
    events = read_events(fake.out, 2)
    assert events[1]["answer"]["result"]["content"][0]["text"] == "quick"
    release.set()
    events = read_events(fake.out, 3)
    assert events[2]["answer"]["result"]["content"][0]["text"] == "released"


def test_context_manager(fake):
    with fake(tools={"x": lambda: 0}) as sidecar:
        assert sidecar.is_alive()
        pid = sidecar.pid
    assert not sidecar.is_alive()
    assert sidecar.returncode == 0
    if sys.platform.startswith("linux"):
        assert not os.path.exists("/proc/{}".format(pid))
