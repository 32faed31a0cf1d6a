"""A Python host serving every fixture of the official MCP conformance suite's server scenarios.

Run by ``cargo xtask test`` (suite ``conformance``): it starts the sidecar, prints one JSON line
``{"url": ..., "pid": ...}`` on stdout, serves until its standard input closes, then stops the
sidecar. The fixtures (names, texts, schemas) are those `@modelcontextprotocol/conformance`
0.1.16 calls; everything is registered through mcp_sidecar's public API only.

    python scripts/conformance_host.py [--call-mode thread|main]
"""

import argparse
import base64
import io
import json
import sys
import time
import wave

import mcp_sidecar
from host_stdio import serve_until_stdin_closes

# A 1x1 red pixel PNG, the suite's suggested image.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)

ELICITATION_SCHEMA = {
    "type": "object",
    "properties": {
        "username": {"type": "string", "description": "User's response"},
        "email": {"type": "string", "description": "User's email address"},
    },
    "required": ["username", "email"],
}

DEFAULTS_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "default": "John Doe"},
        "age": {"type": "integer", "default": 30},
        "score": {"type": "number", "default": 95.5},
        "status": {"type": "string", "enum": ["active", "inactive", "pending"], "default": "active"},
        "verified": {"type": "boolean", "default": True},
    },
}

ENUMS_SCHEMA = {
    "type": "object",
    "properties": {
        "untitledSingle": {"type": "string", "enum": ["option1", "option2", "option3"]},
        "titledSingle": {
            "type": "string",
            "oneOf": [
                {"const": "value1", "title": "First Option"},
                {"const": "value2", "title": "Second Option"},
                {"const": "value3", "title": "Third Option"},
            ],
        },
        "legacyEnum": {
            "type": "string",
            "enum": ["opt1", "opt2", "opt3"],
            "enumNames": ["Option One", "Option Two", "Option Three"],
        },
        "untitledMulti": {
            "type": "array",
            "items": {"type": "string", "enum": ["option1", "option2", "option3"]},
        },
        "titledMulti": {
            "type": "array",
            "items": {
                "anyOf": [
                    {"const": "value1", "title": "First Choice"},
                    {"const": "value2", "title": "Second Choice"},
                    {"const": "value3", "title": "Third Choice"},
                ]
            },
        },
    },
}

JSON_SCHEMA_2020_12 = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "$defs": {
        "address": {
            "type": "object",
            "properties": {"street": {"type": "string"}, "city": {"type": "string"}},
        }
    },
    "properties": {"name": {"type": "string"}, "address": {"$ref": "#/$defs/address"}},
    "additionalProperties": False,
}

COMPLETIONS = ["paris", "park", "party", "test", "testing", "tested"]


def silent_wav():
    """A 10 ms mono 8 kHz silent WAV."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(1)
        out.setframerate(8000)
        out.writeframes(b"\x80" * 80)
    return buffer.getvalue()


def register_content_tools(sidecar):
    sidecar.register_tool(
        "test_simple_text",
        lambda: "This is a simple text response for testing.",
        "Returns simple text",
    )
    sidecar.register_tool(
        "test_image_content", lambda: mcp_sidecar.Image(PNG, "image/png"), "Returns an image"
    )
    wav = silent_wav()
    sidecar.register_tool(
        "test_audio_content", lambda: mcp_sidecar.Audio(wav, "audio/wav"), "Returns audio"
    )
    sidecar.register_tool(
        "test_embedded_resource",
        lambda: mcp_sidecar.EmbeddedResource(
            "test://embedded-resource", "This is an embedded resource content.", "text/plain"
        ),
        "Returns an embedded resource",
    )
    sidecar.register_tool(
        "test_multiple_content_types",
        lambda: [
            "Multiple content types test:",
            mcp_sidecar.Image(PNG, "image/png"),
            mcp_sidecar.EmbeddedResource(
                "test://mixed-content-resource",
                json.dumps({"test": "data", "value": 123}),
                "application/json",
            ),
        ],
        "Returns text, an image and an embedded resource",
    )

    def test_error_handling():
        raise RuntimeError("This tool intentionally returns an error for testing")

    sidecar.register_tool("test_error_handling", test_error_handling, "Always fails")
    sidecar.register_tool(
        "json_schema_2020_12_tool",
        lambda name=None, address=None: "name={!r} address={!r}".format(name, address),
        "Tool with JSON Schema 2020-12 features",
        JSON_SCHEMA_2020_12,
    )


def register_context_tools(sidecar):
    _ = mcp_sidecar.ToolContext  # the API this group needs

    def test_tool_with_logging(ctx):
        """Sends three info log notifications while it runs."""
        ctx.log("info", "Tool execution started")
        time.sleep(0.05)
        ctx.log("info", "Tool processing data")
        time.sleep(0.05)
        ctx.log("info", "Tool execution completed")
        return "Tool with logging executed successfully"

    def test_tool_with_progress(ctx):
        """Reports progress 0, 50, 100 of 100."""
        for step, progress in enumerate((0, 50, 100)):
            if step:
                time.sleep(0.05)
            ctx.progress(progress, 100)
        return "Tool with progress executed successfully"

    def test_sampling(prompt, ctx):
        """Asks the client's model to answer the prompt."""
        return "LLM response: " + ctx.sample(prompt, 100)

    def test_elicitation(message, ctx):
        """Asks the client's user for a username and an email."""
        answer = ctx.elicit(message, ELICITATION_SCHEMA)
        return "User response: action={}, content={}".format(
            answer["action"], json.dumps(answer.get("content"))
        )

    def elicit_completed(ctx, schema):
        answer = ctx.elicit("Please review and update the form fields", schema)
        return "Elicitation completed: action={}, content={}".format(
            answer["action"], json.dumps(answer.get("content"))
        )

    def test_elicitation_sep1034_defaults(ctx):
        """Elicits a form whose fields all have defaults."""
        return elicit_completed(ctx, DEFAULTS_SCHEMA)

    def test_elicitation_sep1330_enums(ctx):
        """Elicits a form with every enum variant."""
        return elicit_completed(ctx, ENUMS_SCHEMA)

    def test_reconnection(ctx):
        """Takes a moment, so that the server can close the stream mid-call."""
        ctx.log("info", "reconnection test running")
        time.sleep(0.2)
        return "Reconnection test completed"

    for handler in (
        test_tool_with_logging,
        test_tool_with_progress,
        test_sampling,
        test_elicitation,
        test_elicitation_sep1034_defaults,
        test_elicitation_sep1330_enums,
        test_reconnection,
    ):
        sidecar.register_tool(handler.__name__, handler)


def register_resources(sidecar):
    sidecar.register_resource(
        "test://static-text",
        lambda: "This is the content of the static text resource.",
        name="static-text",
        description="A static text resource",
        mime_type="text/plain",
    )
    sidecar.register_resource(
        "test://static-binary",
        lambda: PNG,
        name="static-binary",
        description="A static binary resource (a PNG)",
        mime_type="image/png",
    )
    sidecar.register_resource(
        "test://watched-resource",
        lambda: "Watched resource content",
        name="watched-resource",
        description="A resource to subscribe to",
        mime_type="text/plain",
    )
    sidecar.register_resource_template(
        "test://template/{id}/data",
        lambda id: json.dumps({"id": id, "templateTest": True, "data": "Data for ID: " + id}),
        name="template-data",
        description="A templated resource",
        mime_type="application/json",
    )


def register_prompts(sidecar):
    sidecar.register_prompt(
        "test_simple_prompt",
        lambda: "This is a simple prompt for testing.",
        description="A prompt without arguments",
    )
    sidecar.register_prompt(
        "test_prompt_with_arguments",
        lambda arg1, arg2: "Prompt with arguments: arg1='{}', arg2='{}'".format(arg1, arg2),
        description="A prompt with two arguments",
        arguments=[
            {"name": "arg1", "description": "First test argument", "required": True},
            {"name": "arg2", "description": "Second test argument", "required": True},
        ],
        complete=lambda argument, partial: [v for v in COMPLETIONS if v.startswith(partial)],
    )
    sidecar.register_prompt(
        "test_prompt_with_embedded_resource",
        lambda resourceUri: [
            mcp_sidecar.EmbeddedResource(
                resourceUri, "Embedded resource content for testing.", "text/plain"
            ),
            "Please process the embedded resource above.",
        ],
        description="A prompt embedding a resource",
        arguments=[
            {"name": "resourceUri", "description": "URI of the resource to embed", "required": True}
        ],
    )
    sidecar.register_prompt(
        "test_prompt_with_image",
        lambda: [mcp_sidecar.Image(PNG, "image/png"), "Please analyze the image above."],
        description="A prompt with an image",
    )


GROUPS = [
    ("content tools", register_content_tools),
    ("context tools", register_context_tools),
    ("resources", register_resources),
    ("prompts", register_prompts),
]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--call-mode", choices=["thread", "main"], default="thread")
    args = parser.parse_args(argv)
    sidecar = mcp_sidecar.McpSidecar(call_mode=args.call_mode, tool_timeout=30.0)
    for _name, register in GROUPS:
        register(sidecar)
    sidecar.start(timeout=20.0)
    try:
        pump = 0.05 if args.call_mode == "main" else None
        if not serve_until_stdin_closes(sidecar, pump_timeout=pump):
            sys.stderr.write("conformance_host: the sidecar died\n")
            return 1
    finally:
        sidecar.stop(timeout=10.0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
