"""A tool's inputSchema: derived from the handler's signature, and a minimal validator.

Validation covers what the protocol promises (required keys, top-level JSON types,
``additionalProperties: false``); anything deeper is the handler's business.
"""

import inspect

_JSON_TYPE_OF_ANNOTATION = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    list: "array",
    tuple: "array",
    dict: "object",
}
# Handlers written with `from __future__ import annotations` carry strings.
_JSON_TYPE_OF_ANNOTATION.update({t.__name__: j for t, j in list(_JSON_TYPE_OF_ANNOTATION.items())})


class SchemaError(ValueError):
    """Arguments do not match the schema; the message says which argument and why."""


def schema_from_signature(handler):
    """``{"type": "object", ...}`` with a property per parameter; required = no default."""
    try:
        signature = inspect.signature(handler)
    except (TypeError, ValueError):
        return {"type": "object"}
    properties = {}
    required = []
    open_ended = False
    for parameter in signature.parameters.values():
        if parameter.kind == parameter.VAR_KEYWORD:
            open_ended = True
            continue
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.POSITIONAL_ONLY):
            continue
        prop = {}
        json_type = _JSON_TYPE_OF_ANNOTATION.get(parameter.annotation)
        if json_type is not None:
            prop["type"] = json_type
        properties[parameter.name] = prop
        if parameter.default is parameter.empty:
            required.append(parameter.name)
    schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    if not open_ended:
        schema["additionalProperties"] = False
    return schema


def normalize_schema(schema):
    """A copy of a user-supplied inputSchema; MCP requires a top-level object schema."""
    if not isinstance(schema, dict):
        raise TypeError("input_schema must be a dict, not {}".format(type(schema).__name__))
    schema = dict(schema)
    kind = schema.setdefault("type", "object")
    if kind != "object":
        raise ValueError('input_schema must have "type": "object", not {!r}'.format(kind))
    return schema


def json_type_name(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _matches(value, json_type):
    actual = json_type_name(value)
    if json_type == "number":
        return actual in ("integer", "number")
    if json_type == "integer":
        # JSON Schema: 1.0 is an integer.
        return actual == "integer" or (actual == "number" and float(value).is_integer())
    return actual == json_type


def validate(schema, arguments):
    """Checks ``arguments`` against ``schema``; returns them (integral floats made int)."""
    if not isinstance(arguments, dict):
        raise SchemaError("arguments must be an object, got {}".format(json_type_name(arguments)))
    for name in schema.get("required", ()):
        if name not in arguments:
            raise SchemaError("missing required argument '{}'".format(name))
    properties = schema.get("properties") or {}
    if schema.get("additionalProperties") is False:
        for name in arguments:
            if name not in properties:
                raise SchemaError("unexpected argument '{}'".format(name))
    checked = dict(arguments)
    for name, value in arguments.items():
        prop = properties.get(name)
        if not isinstance(prop, dict) or "type" not in prop:
            continue
        types = prop["type"] if isinstance(prop["type"], list) else [prop["type"]]
        matched = [t for t in types if _matches(value, t)]
        if not matched:
            raise SchemaError(
                "argument '{}' must be {}, got {}".format(
                    name, " or ".join(str(t) for t in types), json_type_name(value)
                )
            )
        if "integer" in matched and "number" not in matched and isinstance(value, float):
            checked[name] = int(value)
    return checked
