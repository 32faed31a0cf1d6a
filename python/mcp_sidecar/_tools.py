"""The host's tool registry: registration, ``tool.list`` answers, and running one ``tool.call``."""

import inspect
import logging
import re
import threading

from . import _jsonrpc as rpc
from . import _schema
from ._content import to_call_result
from ._context import CONTEXT_PARAMETER

log = logging.getLogger("mcp_sidecar.tools")

# MCP tool names (SEP-986): 1-128 of A-Z a-z 0-9 _ - .
_TOOL_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")


class Tool(object):
    __slots__ = ("name", "handler", "description", "input_schema", "wants_context", "_signature")

    def __init__(self, name, handler, description="", input_schema=None):
        if not isinstance(name, str) or not _TOOL_NAME.match(name):
            raise ValueError(
                "tool name must be 1-128 characters of A-Z a-z 0-9 _ - . ; got {!r}".format(name)
            )
        if not callable(handler):
            raise TypeError("handler for tool {!r} is not callable".format(name))
        self.name = name
        self.handler = handler
        if not description:
            description = (inspect.getdoc(handler) or "").strip()
        self.description = description
        if input_schema is None:
            self.input_schema = _schema.schema_from_signature(handler, skip=(CONTEXT_PARAMETER,))
        else:
            self.input_schema = _schema.normalize_schema(input_schema, skip=(CONTEXT_PARAMETER,))
        try:
            self._signature = inspect.signature(handler)
        except (TypeError, ValueError):
            self._signature = None
        # A parameter named ctx receives the call's ToolContext.
        self.wants_context = (
            self._signature is not None and CONTEXT_PARAMETER in self._signature.parameters
        )

    def to_json(self):
        return {
            "name": self.name,
            "description": self.description,
            "inputSchema": self.input_schema,
        }

    def check_arguments(self, arguments):
        """Arguments validated against the schema and the handler's signature."""
        try:
            arguments = _schema.validate(self.input_schema, arguments)
        except _schema.SchemaError as exc:
            raise rpc.RpcError(rpc.INVALID_ARGUMENTS, "{}: {}".format(self.name, exc))
        if self.wants_context:
            arguments.pop(CONTEXT_PARAMETER, None)  # the host supplies ctx, never the client
        if self._signature is not None:
            bound = dict(arguments)
            if self.wants_context:
                bound[CONTEXT_PARAMETER] = None
            try:
                self._signature.bind(**bound)
            except TypeError as exc:
                raise rpc.RpcError(rpc.INVALID_ARGUMENTS, "{}: {}".format(self.name, exc))
        return arguments


class ToolRegistry(object):
    """Thread-safe name → Tool mapping, in registration order."""

    def __init__(self):
        self._tools = {}
        self._lock = threading.Lock()

    def add(self, tool):
        with self._lock:
            self._tools[tool.name] = tool

    def remove(self, name):
        with self._lock:
            return self._tools.pop(name, None) is not None

    def get(self, name):
        with self._lock:
            return self._tools.get(name)

    def names(self):
        with self._lock:
            return list(self._tools)

    def list_result(self):
        with self._lock:
            return {"tools": [tool.to_json() for tool in self._tools.values()]}

    def prepare(self, params):
        """Validates ``tool.call`` params → (tool, arguments), or raises RpcError."""
        if not isinstance(params, dict):
            raise rpc.RpcError(rpc.INVALID_PARAMS, "tool.call params must be an object")
        name = params.get("name")
        if not isinstance(name, str):
            raise rpc.RpcError(rpc.INVALID_PARAMS, "tool.call needs a string 'name'")
        arguments = params.get("arguments")
        if arguments is None:
            arguments = {}
        tool = self.get(name)
        if tool is None:
            raise rpc.RpcError(rpc.TOOL_NOT_FOUND, "unknown tool: {}".format(name))
        return tool, tool.check_arguments(arguments)


def run_tool(tool, arguments, ctx=None):
    """Calls the handler and converts its return value; handler failures become RpcError."""
    if tool.wants_context:
        arguments = dict(arguments)
        arguments[CONTEXT_PARAMETER] = ctx
    try:
        value = tool.handler(**arguments)
    except Exception as exc:
        log.info("tool %s raised", tool.name, exc_info=True)
        raise rpc.RpcError(rpc.HANDLER_ERROR, describe_exception(exc))
    return to_call_result(tool.name, value)


def describe_exception(exc):
    return "{}: {}".format(type(exc).__name__, exc)


__all__ = ["Tool", "ToolRegistry", "run_tool", "describe_exception", "to_call_result"]
