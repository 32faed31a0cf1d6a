"""The token stays out of argv; Origin, bearer auth and loopback binding are enforced."""

import os
import sys

import pytest

import ipcpeer
from mcp_sidecar import SidecarStartError
from mcp_sidecar import _jsonrpc as rpc
from mcphttp import HttpStatusError, McpHttpClient, text_of


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_token_is_not_on_the_command_line(make_sidecar):
    sidecar = make_sidecar(tools={"echo": lambda text: text})
    sidecar.start(timeout=10)
    with open("/proc/{}/cmdline".format(sidecar.pid), "rb") as handle:
        cmdline = handle.read()
    assert sidecar.token.encode("ascii") not in cmdline
    assert b"--ipc" in cmdline and b"--parent-pid" in cmdline
    # It travels in the environment, which only the same user can read.
    with open("/proc/{}/environ".format(sidecar.pid), "rb") as handle:
        assert b"MCP_SIDECAR_TOKEN=" + sidecar.token.encode("ascii") in handle.read().split(b"\0")


def test_foreign_origin_is_forbidden(make_sidecar):
    sidecar = make_sidecar(
        tools={"echo": lambda text: text}, allowed_origins=["https://good.example"]
    )
    sidecar.start(timeout=10)
    with pytest.raises(HttpStatusError) as info:
        McpHttpClient(sidecar.url, origin="https://evil.example").initialize()
    assert info.value.status == 403
    good = McpHttpClient(sidecar.url, origin="https://good.example")
    good.initialize()
    local = McpHttpClient(sidecar.url, origin="http://127.0.0.1:{}".format(sidecar.bound_port))
    local.initialize()
    assert text_of(local.call_tool("echo", {"text": "ok"})) == "ok"


def test_require_auth(make_sidecar):
    sidecar = make_sidecar(tools={"echo": lambda text: text}, require_auth=True)
    sidecar.start(timeout=10)
    for token in (None, "wrong-token"):
        with pytest.raises(HttpStatusError) as info:
            McpHttpClient(sidecar.url, token=token).initialize()
        assert info.value.status == 401
    client = McpHttpClient(sidecar.url, token=sidecar.token)
    client.initialize()  # every request carries the bearer token and gets 200/202
    assert text_of(client.call_tool("echo", {"text": "authorized"})) == "authorized"


def test_non_loopback_host_is_refused(make_sidecar):
    sidecar = make_sidecar(host="0.0.0.0")
    with pytest.raises(SidecarStartError) as info:
        sidecar.start(timeout=10)
    message = str(info.value)
    assert "exited before it was ready (exit code 1" in message
    assert "refusing to bind non-loopback address" in message  # the sidecar's own words
    assert not sidecar.is_alive()


@pytest.mark.parametrize("ipc", [None, "tcp"])
def test_bad_ipc_peers_do_not_disturb_a_running_sidecar(make_sidecar, ipc):
    sidecar = make_sidecar(tools={"echo": lambda text: text}, ipc=ipc, hello_timeout=0.3)
    sidecar.start(timeout=10)
    client = McpHttpClient(sidecar.url)
    client.initialize()
    endpoint = sidecar.ipc_endpoint

    if endpoint.startswith(("unix:", "pipe:")):
        # Once the sidecar authenticated, the socket file / listening pipe is gone: nobody else
        # can connect.
        if endpoint.startswith("unix:"):
            assert not os.path.exists(os.path.dirname(endpoint[len("unix:") :]))
        with pytest.raises(OSError):
            ipcpeer.connect(endpoint, timeout=1.0)
    else:
        bad = ipcpeer.connect(endpoint)
        bad.hello(sidecar.token[::-1])
        assert bad.is_closed_by_peer()
        intruder = ipcpeer.connect(endpoint)  # even with the right token: one sidecar only
        answer = intruder.hello(sidecar.token)
        assert answer["error"]["code"] == rpc.UNAUTHORIZED
        assert "already connected" in answer["error"]["message"]
        assert intruder.is_closed_by_peer()
        for payload in (b"not json\n", b"x" * (rpc.MAX_HELLO_LINE + 1), b""):
            peer = ipcpeer.connect(endpoint)
            try:
                if payload:
                    peer.send_raw(payload)
            except OSError:
                pass
            assert peer.is_closed_by_peer()

    assert sidecar.is_alive()
    assert text_of(client.call_tool("echo", {"text": "unbothered"})) == "unbothered"


def test_foreign_host_header_is_forbidden(make_sidecar):
    """DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends its own Host."""
    import http.client
    import json

    sidecar = make_sidecar(tools={"echo": lambda text: text})
    sidecar.start(timeout=10)
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "0"},
            },
        }
    ).encode("utf-8")
    statuses = {}
    for host in ("evil.example", "localhost", "127.0.0.1"):
        conn = http.client.HTTPConnection("127.0.0.1", sidecar.bound_port, timeout=5)
        try:
            conn.putrequest("POST", "/mcp", skip_host=True)
            conn.putheader("Host", "{}:{}".format(host, sidecar.bound_port))
            conn.putheader("Content-Type", "application/json")
            conn.putheader("Accept", "application/json, text/event-stream")
            conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            statuses[host] = conn.getresponse().status
        finally:
            conn.close()
    assert statuses == {"evil.example": 403, "localhost": 200, "127.0.0.1": 200}
