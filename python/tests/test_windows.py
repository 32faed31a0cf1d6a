"""The Windows transport (named pipe) and the kill-on-close job. The naming, SDDL and transport
choice are portable and tested everywhere; what needs Windows is skipped elsewhere, by name."""

import json
import os
import re
import subprocess
import sys
import textwrap
import time

import pytest

from conftest import PYTHON_DIR, TESTS_DIR
from mcp_sidecar import McpSidecar
from mcp_sidecar import _ipc, _winpipe
from mcphttp import McpHttpClient, text_of



def windows_only(what):
    return pytest.mark.skipif(os.name != "nt", reason="Windows only: " + what)


posix_only = pytest.mark.skipif(os.name == "nt", reason="checks the refusal off Windows")


# --- portable -------------------------------------------------------------------------------


def test_pipe_names_carry_a_fresh_128_bit_nonce():
    names = {_winpipe.new_pipe_name() for _ in range(100)}
    assert len(names) == 100
    for name in names:
        assert re.match(r"^\\\\\.\\pipe\\mcp-sidecar-[0-9a-f]{32}$", name), name
        assert _winpipe.is_pipe_name(name)
    for bad in (
        r"\\.\pipe\mcp-sidecar-",
        r"\\.\pipe\mcp-sidecar-" + "0" * 31,
        r"\\.\pipe\mcp-sidecar-" + "G" * 32,
        r"\\server\pipe\mcp-sidecar-" + "0" * 32,
        r"\\.\pipe\other-" + "0" * 32,
    ):
        assert not _winpipe.is_pipe_name(bad), bad


def test_the_pipe_dacl_names_only_the_user():
    sid = "S-1-5-21-1004336348-1177238915-682003330-512"
    # Protected (P): no inherited entries; one allow entry, generic all, for that SID alone.
    assert _winpipe.user_only_sddl(sid) == "D:P(A;;GA;;;{})".format(sid)
    for bad in ("", "WD", "S-1-1-0)(A;;GA;;;WD", "BA"):
        with pytest.raises(ValueError):
            _winpipe.user_only_sddl(bad)


def test_windows_defaults_to_the_pipe_and_posix_to_the_unix_socket():
    assert _ipc.default_transport("nt") == "pipe"
    assert _ipc.default_transport("posix") == "unix"
    assert _ipc.default_transport() == ("pipe" if os.name == "nt" else "unix")


def test_unknown_transports_are_refused():
    for bad in ("fifo", "", "PIPE", "udp"):
        with pytest.raises(ValueError) as info:
            McpSidecar(ipc=bad)
        assert "'unix', 'tcp' or 'pipe'" in str(info.value)


@posix_only
def test_the_pipe_is_refused_off_windows():
    with pytest.raises(ValueError) as info:
        McpSidecar(ipc="pipe")
    assert "only available on Windows" in str(info.value)


# --- Windows ----------------------------------------------------------------------------------


@windows_only("the named pipe end to end (the default transport there)")
def test_the_default_transport_is_a_private_pipe_end_to_end(make_sidecar):
    sidecar = make_sidecar(tools={"echo": lambda text: text})
    sidecar.start(timeout=20)
    kind, _, name = sidecar.ipc_endpoint.partition(":")
    assert kind == "pipe" and _winpipe.is_pipe_name(name)
    client = McpHttpClient(sidecar.url)
    client.initialize()
    assert text_of(client.call_tool("echo", {"text": "over the pipe"})) == "over the pipe"
    with pytest.raises(OSError):  # the sidecar is in: nobody else may open the pipe
        _winpipe.connect(name, timeout=0.5)
    assert sidecar.stop() == 0


@windows_only("a second first instance of a named pipe")
def test_a_second_host_cannot_take_a_pipe_name_already_in_use():
    listener = _winpipe.PipeListener(_winpipe.new_pipe_name())
    try:
        with pytest.raises(OSError):  # FILE_FLAG_FIRST_PIPE_INSTANCE
            _winpipe.PipeListener(listener.name)
    finally:
        listener.close()


HOST_SCRIPT = textwrap.dedent("""
    import json, sys, time
    from mcp_sidecar import McpSidecar
    sidecar = McpSidecar(binary=[sys.executable, sys.argv[1]], env={"FAKE_MODE": "stubborn"})
    sidecar.start(timeout=20)
    print(json.dumps({"pid": sidecar.pid, "job": sidecar._process._job.handle is not None}),
          flush=True)
    time.sleep(60)
    """)


def _exits_within(pid, seconds):
    import _winapi

    try:
        handle = _winapi.OpenProcess(0x00100000, False, pid)  # SYNCHRONIZE
    except OSError:
        return True  # already gone
    try:
        return _winapi.WaitForSingleObject(handle, int(seconds * 1000)) == _winapi.WAIT_OBJECT_0
    finally:
        _winapi.CloseHandle(handle)


@windows_only("the kill-on-close job object")
def test_the_job_kills_the_sidecar_when_the_host_is_killed_hard():
    # The stubborn fake ignores the IPC connection's end and has no parent watch on Windows:
    # only the job can end it.
    env = dict(os.environ, PYTHONPATH=PYTHON_DIR)
    host = subprocess.Popen(
        [sys.executable, "-c", HOST_SCRIPT, os.path.join(TESTS_DIR, "fake_sidecar.py")],
        stdout=subprocess.PIPE,
        env=env,
    )
    try:
        line = host.stdout.readline()
        assert line, "host did not report its sidecar"
        info = json.loads(line.decode("utf-8"))
        assert info["job"], "the sidecar was not placed in a kill-on-close job"
        assert not _exits_within(info["pid"], 0.2)
        host.kill()  # TerminateProcess: no atexit, no cleanup in the host at all
        host.wait(5)
        assert _exits_within(info["pid"], 2.0), "sidecar outlived its hard-killed host"
    finally:
        host.kill()
        host.wait()
        host.stdout.close()
