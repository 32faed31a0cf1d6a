"""Content conversion, resource templates, prompts and schema `$ref` validation, without a sidecar."""

import base64

import pytest

from mcp_sidecar import _jsonrpc as rpc
from mcp_sidecar import Audio, EmbeddedResource, Image, ResourceLink
from mcp_sidecar._content import to_call_result, to_prompt_messages
from mcp_sidecar._prompts import Prompt, PromptRegistry
from mcp_sidecar._resources import Resource, ResourceRegistry, ResourceTemplate
from mcp_sidecar._schema import SchemaError, validate
from mcp_sidecar._tools import Tool, run_tool


def test_each_content_type_on_the_wire():
    assert to_call_result("t", Image(b"\x01", "image/png"))["content"] == [
        {"type": "image", "data": "AQ==", "mimeType": "image/png"}
    ]
    assert to_call_result("t", Audio(b"\x02", "audio/wav"))["content"][0]["type"] == "audio"
    text = EmbeddedResource("a://x", "hi").to_json()
    assert text == {"type": "resource", "resource": {"uri": "a://x", "text": "hi"}}
    blob = EmbeddedResource("a://y", b"\xff", "application/x").to_json()["resource"]
    assert blob == {"uri": "a://y", "blob": base64.b64encode(b"\xff").decode(), "mimeType": "application/x"}
    assert ResourceLink("a://z", "z").to_json() == {"type": "resource_link", "uri": "a://z", "name": "z"}


def test_lists_mix_content_but_plain_lists_stay_json():
    mixed = to_call_result("t", ["a", Image(b"", "image/png"), {"k": 1}])["content"]
    assert [b["type"] for b in mixed] == ["text", "image", "text"]
    assert mixed[2]["text"] == '{"k": 1}'
    plain = to_call_result("t", [1, 2])
    assert plain["content"] == [{"type": "text", "text": "[1, 2]"}] and "structuredContent" not in plain
    with pytest.raises(TypeError):
        Image("not bytes", "image/png").to_json()


def test_prompt_messages():
    assert to_prompt_messages("p", "hi") == [{"role": "user", "content": {"type": "text", "text": "hi"}}]
    messages = to_prompt_messages("p", ["a", {"role": "assistant", "content": "b"}])
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert messages[1]["content"] == {"type": "text", "text": "b"}


def test_templates_match_one_segment_per_variable():
    template = ResourceTemplate("test://t/{id}/data", lambda id: id)
    assert template.match("test://t/42/data") == {"id": "42"}
    assert template.match("test://t/a%2Fb/data") == {"id": "a/b"}
    assert template.match("test://t/1/2/data") is None
    with pytest.raises(ValueError):
        ResourceTemplate("test://no-vars", lambda: "")


def test_registry_reads_static_then_templates_and_refuses_unknown():
    registry = ResourceRegistry()
    registry.add(Resource("test://s", lambda: "static"))
    registry.add(ResourceTemplate("test://{name}", lambda name: "tpl " + name))
    assert registry.prepare_read({"uri": "test://s"})()["contents"][0]["text"] == "static"
    assert registry.prepare_read({"uri": "test://x"})()["contents"][0]["text"] == "tpl x"
    with pytest.raises(rpc.RpcError) as info:
        registry.prepare_read({"uri": "other://x"})
    assert info.value.code == rpc.RESOURCE_NOT_FOUND and info.value.data["uri"] == "other://x"
    assert registry.remove("test://{name}") and not registry.remove("test://{name}")


def test_prompt_arguments_are_checked():
    registry = PromptRegistry()
    registry.add(Prompt("p", lambda who: "hi " + who, arguments=[{"name": "who", "required": True}]))
    assert registry.prepare_get({"name": "p", "arguments": {"who": "x"}})()["messages"][0]["content"]["text"] == "hi x"
    with pytest.raises(rpc.RpcError) as info:
        registry.prepare_get({"name": "p", "arguments": {}})
    assert info.value.code == rpc.INVALID_ARGUMENTS
    with pytest.raises(rpc.RpcError) as info:
        registry.prepare_get({"name": "q"})
    assert info.value.code == rpc.PROMPT_NOT_FOUND


SCHEMA_2020_12 = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "$defs": {"address": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
    "properties": {"name": {"type": "string"}, "address": {"$ref": "#/$defs/address"}},
    "additionalProperties": False,
}


def test_validation_follows_refs_into_defs():
    assert validate(SCHEMA_2020_12, {"address": {"city": "Oslo"}}) == {"address": {"city": "Oslo"}}
    with pytest.raises(SchemaError, match="address"):
        validate(SCHEMA_2020_12, {"address": "Oslo"})
    with pytest.raises(SchemaError, match="city"):
        validate(SCHEMA_2020_12, {"address": {}})
    with pytest.raises(SchemaError, match="unresolvable"):
        validate({"type": "object", "properties": {"a": {"$ref": "#/$defs/none"}}}, {"a": 1})


def test_given_schema_passes_through_without_ctx():
    def handler(ctx, name=None, address=None):
        return ctx

    schema = dict(SCHEMA_2020_12, properties=dict(SCHEMA_2020_12["properties"], ctx={}), required=["ctx"])
    tool = Tool("t", handler, input_schema=schema)
    assert "ctx" not in tool.input_schema["properties"] and tool.input_schema["required"] == []
    assert tool.input_schema["$defs"] == SCHEMA_2020_12["$defs"]
    assert tool.input_schema["$schema"] == SCHEMA_2020_12["$schema"]
    assert tool.wants_context
    assert run_tool(tool, tool.check_arguments({}), ctx="the ctx")["content"][0]["text"] == "the ctx"
