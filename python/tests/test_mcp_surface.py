"""The whole MCP surface end to end, in both call modes: content types, ToolContext (log,
progress, sampling, elicitation, cancellation), resources and subscriptions, prompts,
completions, capabilities and the session DELETE."""

import base64
import threading
import time

import pytest

import mcp_sidecar
from mcp_sidecar import Audio, EmbeddedResource, Image, ResourceLink
from mcpstream import StreamingSession

PNG = b"\x89PNG\r\n\x1a\n fake"


class Pump(object):
    """In call_mode="main", a stand-in for the host's main loop running process_pending()."""

    def __init__(self, sidecar):
        self.sidecar = sidecar
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, name="host-main-loop", daemon=True)

    def run(self):
        while not self.stop.is_set():
            self.sidecar.process_pending(timeout=0.05)


def build(make_sidecar, call_mode):
    sidecar = make_sidecar(call_mode=call_mode, tool_timeout=5)
    ran_on = []
    cancelled = threading.Event()
    entered = threading.Event()

    @sidecar.tool
    def picture():
        return Image(PNG, "image/png")

    @sidecar.tool
    def mixed():
        return [
            "caption",
            Image(PNG, "image/png"),
            Audio(b"RIFF", "audio/wav"),
            EmbeddedResource("test://doc", "inline text", "text/plain"),
            EmbeddedResource("test://bin", b"\x00\x01"),
            ResourceLink("test://static-text", "static", "a link"),
        ]

    @sidecar.tool
    def logs(ctx):
        ran_on.append(threading.current_thread().name)
        ctx.log("debug", "hidden at warning")
        ctx.log("warning", "careful", logger="tests")
        return "logged"

    @sidecar.tool
    def steps(ctx, n: int = 3):
        for i in range(n):
            ctx.progress(i + 1, n, "step {}".format(i + 1))
        return "done"

    @sidecar.tool
    def ask(ctx, prompt: str):
        return "LLM said: " + ctx.sample(prompt, 50, system_prompt="be brief")

    @sidecar.tool
    def form(ctx):
        return ctx.elicit("Your name?", {"type": "object", "properties": {"name": {"type": "string"}}})

    @sidecar.tool
    def wait_cancel(ctx):
        entered.set()
        deadline = time.monotonic() + 4
        while not ctx.cancelled and time.monotonic() < deadline:
            time.sleep(0.01)
        if ctx.cancelled:
            cancelled.set()
        return "stopped"

    sidecar.register_resource("test://static-text", lambda: "hello", mime_type="text/plain")
    sidecar.register_resource("test://static-binary", lambda: PNG, name="bin", mime_type="image/png")

    @sidecar.resource("test://items/{id}", complete=lambda arg, value: [v for v in ("apple", "avocado", "pear") if v.startswith(value)])
    def item(id):
        return "item " + id

    @sidecar.prompt(arguments=[{"name": "topic", "required": True}], complete=lambda a, v: ["cats", "cars"])
    def greet(topic):
        """Greets about a topic."""
        return ["Hello about " + topic, Image(PNG, "image/png")]

    return sidecar, ran_on, cancelled, entered


@pytest.fixture(params=["thread", "main"])
def surface(request, make_sidecar):
    sidecar, ran_on, cancelled, entered = build(make_sidecar, request.param)
    pump = None
    sidecar.start(timeout=10)
    if request.param == "main":
        pump = Pump(sidecar)
        pump.thread.start()
    yield request.param, sidecar, ran_on, cancelled, entered
    if pump is not None:
        pump.stop.set()
        pump.thread.join(2)


def answer_client(message):
    if message["method"] == "sampling/createMessage":
        text = message["params"]["messages"][0]["content"]["text"]
        assert message["params"]["maxTokens"] == 50
        assert message["params"]["systemPrompt"] == "be brief"
        return {"role": "assistant", "content": {"type": "text", "text": "echo " + text}, "model": "m"}
    if message["method"] == "elicitation/create":
        assert message["params"]["message"] == "Your name?"
        return {"action": "accept", "content": {"name": "Ada"}}
    raise AssertionError(message)


def session(sidecar, capabilities=None):
    s = StreamingSession(sidecar.url, capabilities, answer_client)
    init = s.initialize()
    s.open_get_stream()
    return s, init


def test_capabilities_and_content(surface):
    mode, sidecar, ran_on, _, _ = surface
    s, init = session(sidecar)
    caps = init["result"]["capabilities"] if "result" in init else init["capabilities"]
    assert caps["resources"] == {"subscribe": True, "listChanged": True}
    assert "prompts" in caps and "completions" in caps and "logging" in caps
    tools = {t["name"]: t for t in s.request("tools/list")["result"]["tools"]}
    assert "ctx" not in tools["logs"]["inputSchema"]["properties"]
    assert tools["steps"]["inputSchema"]["properties"] == {"n": {"type": "integer"}}

    content = s.call_tool("picture")["result"]["content"]
    assert content == [{"type": "image", "data": base64.b64encode(PNG).decode(), "mimeType": "image/png"}]
    blocks = s.call_tool("mixed")["result"]["content"]
    assert [b["type"] for b in blocks] == ["text", "image", "audio", "resource", "resource", "resource_link"]
    assert blocks[3]["resource"] == {"uri": "test://doc", "text": "inline text", "mimeType": "text/plain"}
    assert blocks[4]["resource"]["blob"] == base64.b64encode(b"\x00\x01").decode()
    assert blocks[5]["name"] == "static" and blocks[5]["description"] == "a link"
    # ctx sent by a client is refused like any unknown argument.
    assert "error" in s.call_tool("logs", {"ctx": 1})
    s.close()


def test_log_progress_and_cancellation(surface):
    mode, sidecar, ran_on, cancelled, entered = surface
    s, _ = session(sidecar)
    assert s.request("logging/setLevel", {"level": "warning"})["result"] == {}
    assert s.call_tool("logs")["result"]["content"][0]["text"] == "logged"
    logs = s.wait_for("notifications/message")
    assert logs == [{"level": "warning", "logger": "tests", "data": "careful"}]
    if mode == "main":
        assert ran_on == ["host-main-loop"]  # inside process_pending(), on the host's loop
    else:
        assert ran_on == ["mcp-sidecar-call-tool logs"]
    result = s.call_tool("steps", {"n": 3}, progress_token="tok-1")
    assert result["result"]["content"][0]["text"] == "done"
    progress = s.notifications("notifications/progress")
    assert [p["progress"] for p in progress] == [1, 2, 3]
    assert {p["progressToken"] for p in progress} == {"tok-1"} and progress[0]["total"] == 3
    # Without a token, ctx.progress is a no-op.
    s.call_tool("steps", {"n": 2})
    assert len(s.notifications("notifications/progress")) == 3

    outcome = {}
    thread = threading.Thread(target=lambda: outcome.update(r=s.call_tool("wait_cancel")))
    thread.start()
    assert entered.wait(5)
    s.client.notify("notifications/cancelled", {"requestId": 1000 + 4, "reason": "test"})
    assert cancelled.wait(5), "ctx.cancelled never became true"
    thread.join(6)
    s.close()


def test_sampling_and_elicitation(surface):
    _, sidecar, _, _, _ = surface
    s, _ = session(sidecar, {"sampling": {}, "elicitation": {}})
    result = s.call_tool("ask", {"prompt": "hi"})["result"]
    assert result["content"][0]["text"] == "LLM said: echo hi"
    result = s.call_tool("form")["result"]
    assert result["structuredContent"] == {"action": "accept", "content": {"name": "Ada"}}
    s.close()
    # A client without the capabilities gets a clear tool error, not a hang.
    bare, _ = session(sidecar)
    result = bare.call_tool("ask", {"prompt": "hi"})["result"]
    assert result["isError"] and "did not declare the sampling capability" in result["content"][0]["text"]
    result = bare.call_tool("form")["result"]
    assert result["isError"] and "elicitation" in result["content"][0]["text"]
    bare.close()


def test_resources_prompts_completions(surface):
    _, sidecar, _, _, _ = surface
    s, _ = session(sidecar)
    listed = s.request("resources/list")["result"]["resources"]
    assert [r["uri"] for r in listed] == ["test://static-text", "test://static-binary"]
    templates = s.request("resources/templates/list")["result"]["resourceTemplates"]
    assert templates == [{"uriTemplate": "test://items/{id}", "name": "item"}]
    text = s.request("resources/read", {"uri": "test://static-text"})["result"]["contents"]
    assert text == [{"uri": "test://static-text", "mimeType": "text/plain", "text": "hello"}]
    blob = s.request("resources/read", {"uri": "test://static-binary"})["result"]["contents"][0]
    assert base64.b64decode(blob["blob"]) == PNG
    item = s.request("resources/read", {"uri": "test://items/a%20b"})["result"]["contents"][0]
    assert item["text"] == "item a b"
    missing = s.request("resources/read", {"uri": "test://nope"})
    assert missing["error"]["code"] == -32002

    prompts = s.request("prompts/list")["result"]["prompts"]
    assert prompts == [{"name": "greet", "description": "Greets about a topic.",
                        "arguments": [{"name": "topic", "required": True}]}]
    got = s.request("prompts/get", {"name": "greet", "arguments": {"topic": "owls"}})["result"]
    assert got["messages"][0] == {"role": "user", "content": {"type": "text", "text": "Hello about owls"}}
    assert got["messages"][1]["content"]["type"] == "image"
    assert s.request("prompts/get", {"name": "greet"})["error"]["code"] == -32602
    assert s.request("prompts/get", {"name": "nope"})["error"]["code"] == -32602

    done = s.request("completion/complete", {"ref": {"type": "ref/resource", "uri": "test://items/{id}"},
                                              "argument": {"name": "id", "value": "a"}})
    assert done["result"]["completion"]["values"] == ["apple", "avocado"]
    done = s.request("completion/complete", {"ref": {"type": "ref/prompt", "name": "greet"},
                                              "argument": {"name": "topic", "value": ""}})
    assert done["result"]["completion"]["values"] == ["cats", "cars"]
    s.close()


def test_subscriptions_reach_subscribers_only(surface):
    _, sidecar, _, _, _ = surface
    subscriber, _ = session(sidecar)
    other, _ = session(sidecar)
    assert subscriber.request("resources/subscribe", {"uri": "test://static-text"})["result"] == {}
    sidecar.notify_resource_updated("test://static-text")
    started = time.monotonic()
    got = subscriber.wait_for("notifications/resources/updated")
    assert got == [{"uri": "test://static-text"}]
    assert time.monotonic() - started < 1.0
    time.sleep(0.1)
    assert other.notifications("notifications/resources/updated") == []
    subscriber.request("resources/unsubscribe", {"uri": "test://static-text"})
    sidecar.notify_resource_updated("test://static-text")
    sidecar.register_resource("test://new", lambda: "new")
    assert subscriber.wait_for("notifications/resources/list_changed")
    assert other.wait_for("notifications/resources/list_changed")
    assert len(subscriber.notifications("notifications/resources/updated")) == 1
    assert sidecar.unregister_resource("test://new") is True
    sidecar.register_prompt("later", lambda: "x")
    assert other.wait_for("notifications/prompts/list_changed")
    subscriber.close()
    other.close()


def test_session_delete_is_200(make_sidecar):
    sidecar = make_sidecar(tools={"t": lambda: "ok"})
    sidecar.start(timeout=10)
    s = StreamingSession(sidecar.url)
    s.initialize()
    response, _ = s.client._send("DELETE", None, s.client.headers())
    response.read()
    assert response.status == 200


def test_public_names():
    for name in ("Image", "Audio", "EmbeddedResource", "ResourceLink", "ToolContext"):
        assert name in mcp_sidecar.__all__ and hasattr(mcp_sidecar, name)
