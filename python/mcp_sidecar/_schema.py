"""A tool's inputSchema: derived from the handler's signature, and a minimal validator.

Validation covers what the protocol promises (required keys, top-level JSON types,
``additionalProperties: false``), following ``$ref`` into ``$defs``/``definitions``; anything
deeper is the handler's business. A given schema passes through as written (2020-12 keywords).
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


def schema_from_signature(handler, skip=()):
    """``{"type": "object", ...}`` with a property per parameter; required = no default.

    Parameters named in ``skip`` (the ToolContext's ``ctx``) are left out.
    """
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
        if parameter.name in skip:
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


def normalize_schema(schema, skip=()):
    """A copy of a user-supplied inputSchema; MCP requires a top-level object schema.

    Keys named in ``skip`` are removed from ``properties`` and ``required``.
    """
    if not isinstance(schema, dict):
        raise TypeError("input_schema must be a dict, not {}".format(type(schema).__name__))
    schema = dict(schema)
    if skip and isinstance(schema.get("properties"), dict):
        schema["properties"] = {k: v for k, v in schema["properties"].items() if k not in skip}
    if skip and isinstance(schema.get("required"), list):
        schema["required"] = [k for k in schema["required"] if k not in skip]
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


def resolve(root, schema, depth=0):
    """``schema`` with a local ``$ref`` (``#/$defs/X``, ``#/definitions/X``) followed."""
    while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and depth < 32:
        ref = schema["$ref"]
        if not ref.startswith("#/"):
            return schema  # remote refs are not fetched
        target = root
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, dict) or part not in target:
                raise SchemaError("unresolvable $ref {}".format(ref))
            target = target[part]
        schema, depth = target, depth + 1
    return schema


def validate(schema, arguments):
    """Checks ``arguments`` against ``schema``; returns them (integral floats made int)."""
    root = schema
    schema = resolve(root, schema)
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
        prop = resolve(root, properties.get(name))
        if isinstance(prop, dict) and isinstance(value, dict) and prop.get("type") == "object":
            for key in prop.get("required", ()):
                if key not in value:
                    raise SchemaError("argument '{}' is missing required key '{}'".format(name, key))
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
