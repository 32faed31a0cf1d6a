"""End to end over real HTTP: MCP client → sidecar binary → IPC → this process's handlers."""

import threading
import time

import pytest

from mcp_sidecar import _protocol as proto
from mcphttp import McpHttpClient, RpcErrorAnswer, text_of


class Handlers(object):
    def __init__(self):
        self.release = threading.Event()
        self.entered = threading.Event()

    def echo(self, text: str) -> str:
        return text

    def add(self, a: float, b: float) -> dict:
        return {"sum": a + b}

    def boom(self, why: str = "bad input"):
        raise ValueError(why)

    def hang(self):
        self.entered.set()
        self.release.wait(10)
        return "too late"

    def tools(self):
        return {"echo": self.echo, "add": self.add, "boom": self.boom, "hang": self.hang}


@pytest.fixture
def handlers():
    handlers = Handlers()
    yield handlers
    handlers.release.set()


@pytest.mark.parametrize("ipc", [None, "tcp"])
def test_full_session(make_sidecar, handlers, ipc):
    sidecar = make_sidecar(tools=handlers.tools(), tool_timeout=0.5, ipc=ipc)
    notifications = []
    sidecar._on_notification = lambda method, params: notifications.append((method, params))
    port = sidecar.start(timeout=10)
    assert sidecar.url == "http://127.0.0.1:{}/mcp".format(port)
    # The sidecar also announces its endpoint over IPC (lifecycle.ready); that arrives on the IPC
    # read thread, which may run a moment after the stdout thread saw READY.
    deadline = time.monotonic() + 2
    while not notifications and time.monotonic() < deadline:
        time.sleep(0.005)
    assert notifications == [(proto.LIFECYCLE_READY, {"port": port, "url": sidecar.url})]
    if ipc == "tcp":
        assert sidecar.ipc_endpoint.startswith("tcp:127.0.0.1:")

    client = McpHttpClient(sidecar.url)
    init = client.initialize()
    assert init["serverInfo"]["name"] == "mcp-sidecar"
    assert "tools" in init["capabilities"]
    assert client.request("ping") == {}

    tools = {tool["name"]: tool for tool in client.list_tools()}
    assert sorted(tools) == ["add", "boom", "echo", "hang"]
    assert tools["add"]["inputSchema"]["required"] == ["a", "b"]

    result = client.call_tool("echo", {"text": "hello ü"})
    assert result["isError"] is False and text_of(result) == "hello ü"

    result = client.call_tool("add", {"a": 2, "b": 3.5})
    assert result["structuredContent"] == {"sum": 5.5}
    assert text_of(result) == '{"sum": 5.5}'

    result = client.call_tool("boom", {"why": "no good"})
    assert result["isError"] is True
    assert text_of(result) == "ValueError: no good"

    # A hung handler is cut off by the sidecar's timeout; a second call meanwhile succeeds.
    hung = {}

    def call_hang():
        started = time.monotonic()
        hung["result"] = client_b.call_tool("hang")
        hung["took"] = time.monotonic() - started

    client_b = McpHttpClient(sidecar.url)
    client_b.initialize()
    thread = threading.Thread(target=call_hang)
    thread.start()
    assert handlers.entered.wait(5)
    result = client.call_tool("echo", {"text": "still here"})
    assert text_of(result) == "still here"
    thread.join(5)
    assert hung["result"]["isError"] is True
    assert text_of(hung["result"]) == "tool hang timed out after 500 ms"
    assert 0.4 < hung["took"] < 3.0

    with pytest.raises(RpcErrorAnswer) as info:
        client.call_tool("nope", {})
    assert info.value.code == -32602 and "unknown tool: nope" in info.value.message

    with pytest.raises(RpcErrorAnswer) as info:
        client.call_tool("add", {"a": 1})
    assert info.value.code == -32602 and "missing required argument 'b'" in info.value.message

    with pytest.raises(RpcErrorAnswer) as info:
        client.call_tool("add", {"a": 1, "b": "two"})
    assert info.value.code == -32602 and "argument 'b' must be number" in info.value.message

    assert sidecar.stop() == 0
    assert not sidecar.is_alive()


def test_tools_registered_after_start_are_listed(make_sidecar):
    sidecar = make_sidecar(tools={"first": lambda: 1})
    sidecar.start(timeout=10)
    client = McpHttpClient(sidecar.url)
    client.initialize()
    assert [t["name"] for t in client.list_tools()] == ["first"]
    schema = {"type": "object", "properties": {"x": {"type": "integer"}}}
    sidecar.register_tool("second", lambda x: x * 2, "doubles x", schema)
    deadline = time.monotonic() + 5
    names = []
    while time.monotonic() < deadline:
        names = [t["name"] for t in client.list_tools()]
        if "second" in names:
            break
        time.sleep(0.02)
    assert names == ["first", "second"]
    assert text_of(client.call_tool("second", {"x": 21})) == "42"


def test_main_mode_over_http(make_sidecar):
    ran_on = []

    def where(tag: str) -> str:
        ran_on.append(threading.current_thread())
        return "ran " + tag

    sidecar = make_sidecar(tools={"where": where}, call_mode="main", tool_timeout=5)
    sidecar.start(timeout=10)
    client = McpHttpClient(sidecar.url)
    client.initialize()
    results = []
    callers = [
        threading.Thread(
            target=lambda n=n: results.append(client.call_tool("where", {"tag": str(n)}))
        )
        for n in range(3)
    ]
    for caller in callers:
        caller.start()
    processed = 0
    deadline = time.monotonic() + 5
    while processed < 3 and time.monotonic() < deadline:
        processed += sidecar.process_pending(timeout=0.1)
    for caller in callers:
        caller.join(5)
    assert processed == 3
    assert ran_on == [threading.current_thread()] * 3
    assert sorted(text_of(r) for r in results) == ["ran 0", "ran 1", "ran 2"]


def test_list_changed_notification_reaches_mcp_clients(make_sidecar):
    sidecar = make_sidecar(tools={"first": lambda: 1})
    sidecar.start(timeout=10)
    client = McpHttpClient(sidecar.url)
    client.initialize()
    import http.client

    headers = client.headers()
    del headers["Content-Type"]
    headers["Accept"] = "text/event-stream"
    stream = http.client.HTTPConnection(client.host, client.port, timeout=5)
    try:
        stream.request("GET", client.path, headers=headers)
        response = stream.getresponse()
        assert response.status == 200, response.read()
        sidecar.register_tool("second", lambda: 2)
        deadline = time.monotonic() + 5
        seen = []
        while time.monotonic() < deadline:
            line = response.readline().decode("utf-8").strip()
            if line.startswith("data:"):
                seen.append(line)
                if "notifications/tools/list_changed" in line:
                    break
        assert any("notifications/tools/list_changed" in line for line in seen), seen
    finally:
        stream.close()


def test_results_over_the_ipc_cap_become_handler_errors(make_sidecar):
    sidecar = make_sidecar(
        tools={"big": lambda: "x" * (16 * 1024 * 1024 + 1), "nan": lambda: float("nan")}
    )
    sidecar.start(timeout=10)
    client = McpHttpClient(sidecar.url)
    client.initialize()
    result = client.call_tool("big")
    assert result["isError"] is True
    assert text_of(result).startswith("MessageTooLarge: message is ")
    assert "the IPC line cap is 16777216 bytes" in text_of(result)
    result = client.call_tool("nan")
    assert result["isError"] is True and "not JSON" in text_of(result)
    assert sidecar.is_alive()  # the connection survived both
    assert client.call_tool("nan")["isError"] is True
