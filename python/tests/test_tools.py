"""Tool registration, inputSchema derivation and validation, and result conversion."""

import math

import pytest

from mcp_sidecar import _jsonrpc as rpc
from mcp_sidecar._schema import SchemaError, schema_from_signature, validate
from mcp_sidecar._tools import Tool, ToolRegistry, run_tool, to_call_result


def typed(a: int, b: str = "x", c: float = 1.0, d: bool = False, e: list = (), f: dict = None):
    """First line of the docs.

    More text."""


def test_schema_from_signature():
    schema = schema_from_signature(typed)
    assert schema == {
        "type": "object",
        "properties": {
            "a": {"type": "integer"},
            "b": {"type": "string"},
            "c": {"type": "number"},
            "d": {"type": "boolean"},
            "e": {"type": "array"},
            "f": {"type": "object"},
        },
        "required": ["a"],
        "additionalProperties": False,
    }


def test_schema_with_var_keyword_is_open():
    def handler(x, *args, **kwargs):
        pass

    schema = schema_from_signature(handler)
    assert schema == {"type": "object", "properties": {"x": {}}, "required": ["x"]}


def test_schema_for_uninspectable_callable():
    assert schema_from_signature(print)["type"] == "object"


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({}, "missing required argument 'a'"),
        ({"a": "1"}, "argument 'a' must be integer, got string"),
        ({"a": True}, "argument 'a' must be integer, got boolean"),
        ({"a": 1.5}, "argument 'a' must be integer, got number"),
        ({"a": 1, "c": "x"}, "argument 'c' must be number, got string"),
        ({"a": 1, "zzz": 1}, "unexpected argument 'zzz'"),
        ([1], "arguments must be an object, got array"),
    ],
)
def test_validation_errors(arguments, message):
    with pytest.raises(SchemaError) as info:
        validate(schema_from_signature(typed), arguments)
    assert str(info.value) == message


def test_validation_accepts_and_normalizes():
    schema = schema_from_signature(typed)
    checked = validate(schema, {"a": 2.0, "c": 3, "d": True, "e": [], "f": {}})
    assert checked == {"a": 2, "c": 3, "d": True, "e": [], "f": {}}
    assert isinstance(checked["a"], int)
    assert validate(
        {"type": "object", "properties": {"n": {"type": ["integer", "null"]}}}, {"n": None}
    )


def test_tool_defaults_and_listing():
    tool = Tool("typed", typed)
    assert tool.description == "First line of the docs.\n\nMore text."
    assert tool.to_json()["inputSchema"]["required"] == ["a"]
    explicit = Tool("t2", typed, "desc", {"properties": {"a": {"type": "integer"}}})
    assert explicit.to_json() == {
        "name": "t2",
        "description": "desc",
        "inputSchema": {"type": "object", "properties": {"a": {"type": "integer"}}},
    }


@pytest.mark.parametrize("name", ["", "has space", "x" * 129, "ünïcode", None, "a/b"])
def test_bad_tool_names(name):
    with pytest.raises(ValueError):
        Tool(name, typed)


def test_bad_schema_and_handler():
    with pytest.raises(ValueError):
        Tool("t", typed, input_schema={"type": "array"})
    with pytest.raises(TypeError):
        Tool("t", typed, input_schema=[])
    with pytest.raises(TypeError):
        Tool("t", "not callable")


def test_registry_prepare_errors():
    registry = ToolRegistry()
    registry.add(Tool("typed", typed))
    registry.add(Tool("loose", lambda x: x, input_schema={"type": "object"}))
    cases = [
        ({"name": "missing", "arguments": {}}, rpc.TOOL_NOT_FOUND, "unknown tool: missing"),
        ({"name": "typed", "arguments": {"a": "x"}}, rpc.INVALID_ARGUMENTS, "must be integer"),
        ({"name": "typed", "arguments": []}, rpc.INVALID_ARGUMENTS, "must be an object"),
        # The schema allows it, the signature does not: still invalid_arguments, never a call.
        ({"name": "loose", "arguments": {"y": 1}}, rpc.INVALID_ARGUMENTS, "loose:"),
        ({"name": "typed"}, rpc.INVALID_ARGUMENTS, "typed: missing required argument 'a'"),
        ({"name": 5}, rpc.INVALID_PARAMS, "string 'name'"),
        ([], rpc.INVALID_PARAMS, "must be an object"),
    ]
    for params, code, text in cases:
        with pytest.raises(rpc.RpcError) as info:
            registry.prepare(params)
        assert info.value.code == code, params
        assert text in info.value.message, (params, info.value.message)


def test_registry_prepare_missing_arguments_mean_empty():
    registry = ToolRegistry()
    registry.add(Tool("noargs", lambda: "ok"))
    tool, arguments = registry.prepare({"name": "noargs"})
    assert arguments == {} and run_tool(tool, arguments)["content"][0]["text"] == "ok"


def test_handler_error_names_the_exception():
    def broken():
        raise KeyError("missing thing")

    with pytest.raises(rpc.RpcError) as info:
        run_tool(Tool("broken", broken), {})
    assert info.value.code == rpc.HANDLER_ERROR
    assert info.value.message == "KeyError: 'missing thing'"
    assert info.value.to_json()["data"] == {"kind": "handler_error"}


@pytest.mark.parametrize(
    "value, text, structured",
    [
        ("plain", "plain", None),
        ({"ü": [True, None]}, '{"ü": [true, null]}', {"ü": [True, None]}),
        ([1, 2], "[1, 2]", None),
        (3.5, "3.5", None),
        (7, "7", None),
        (False, "false", None),
        (None, "null", None),
        ((1, "x"), '[1, "x"]', None),
    ],
)
def test_result_conversion(value, text, structured):
    result = to_call_result("t", value)
    assert result["content"] == [{"type": "text", "text": text}]
    assert result["isError"] is False
    assert result.get("structuredContent") == structured


@pytest.mark.parametrize("value", [math.nan, {"x": math.inf}, object(), b"bytes", {1j: 1}])
def test_unconvertible_results_are_handler_errors(value):
    with pytest.raises(rpc.RpcError) as info:
        to_call_result("t", value)
    assert info.value.code == rpc.HANDLER_ERROR
    assert "tool t returned a value that is not JSON" in info.value.message


def test_wire_encoding_is_strict_and_capped():
    assert rpc.encode({"t": "line\nbreak\u2028"}).count(b"\n") == 1
    with pytest.raises(ValueError):
        rpc.encode({"x": math.nan})
    with pytest.raises(rpc.MessageTooLarge):
        rpc.encode({"x": "a" * 100}, max_line=50)
