"""``ToolContext``: what a handler with a ``ctx`` parameter gets for the call in flight."""

import threading

from . import _jsonrpc as rpc
from . import _protocol as proto
from ._errors import SidecarError

# The parameter name that asks for a ToolContext; never part of a tool's schema or arguments.
CONTEXT_PARAMETER = "ctx"


class ToolContext(object):
    """Log, report progress, ask the calling client's model or user, see cancellation.

    Every method talks to the MCP session that made this call, and only to it.
    """

    def __init__(self, connection, call_id, has_progress_token, timeout):
        self._connection = connection
        self._call = call_id
        self._has_progress_token = bool(has_progress_token)
        self._timeout = timeout
        self._cancelled = threading.Event()

    @property
    def cancelled(self):
        """True once the client sent ``notifications/cancelled`` for this call."""
        return self._cancelled.is_set()

    def _cancel(self):
        self._cancelled.set()

    def log(self, level, message, logger=None):
        """``notifications/message`` at ``level`` (debug … emergency), per the session's setLevel."""
        if level not in proto.LOG_LEVELS:
            raise ValueError("level must be one of {}, not {!r}".format(proto.LOG_LEVELS, level))
        params = {"call": self._call, "level": level, "data": message}
        if logger is not None:
            params["logger"] = logger
        self._notify(proto.CALL_LOG, params)

    def progress(self, progress, total=None, message=None):
        """``notifications/progress`` when the request carried a progress token; else a no-op."""
        if not self._has_progress_token:
            return
        params = {"call": self._call, "progress": progress}
        if total is not None:
            params["total"] = total
        if message is not None:
            params["message"] = message
        self._notify(proto.CALL_PROGRESS, params)

    def sample(self, prompt_or_messages, max_tokens, system_prompt=None, temperature=None):
        """``sampling/createMessage`` to the calling client; returns the text of its answer."""
        params = {"messages": _messages(prompt_or_messages), "maxTokens": int(max_tokens)}
        if system_prompt is not None:
            params["systemPrompt"] = system_prompt
        if temperature is not None:
            params["temperature"] = temperature
        result = self._ask(proto.SAMPLING_CREATE, params)
        content = result.get("content") if isinstance(result, dict) else None
        blocks = content if isinstance(content, list) else [content]
        return "".join(
            b.get("text", "") for b in blocks if isinstance(b, dict) and b.get("type") == "text"
        )

    def elicit(self, message, requested_schema):
        """``elicitation/create`` to the calling client → ``{"action": ..., "content": {...}}``."""
        result = self._ask(
            proto.ELICITATION_CREATE, {"message": message, "requestedSchema": requested_schema}
        )
        if not isinstance(result, dict):
            raise SidecarError("elicitation/create: the client's answer is not an object")
        answer = {"action": result.get("action")}
        if isinstance(result.get("content"), dict):
            answer["content"] = result["content"]
        return answer

    def _notify(self, method, params):
        try:
            self._connection.notify(method, params)
        except SidecarError:
            pass  # the sidecar is gone; the call's answer will not arrive either

    def _ask(self, method, params):
        try:
            return self._connection.request(
                method, {"call": self._call, "params": params}, timeout=self._timeout
            )
        except rpc.RpcError as exc:
            raise SidecarError("{}: {}".format(method, exc.message))


def _messages(prompt_or_messages):
    if isinstance(prompt_or_messages, str):
        prompt_or_messages = [prompt_or_messages]
    messages = []
    for item in prompt_or_messages:
        if isinstance(item, str):
            messages.append({"role": "user", "content": {"type": "text", "text": item}})
        else:
            messages.append(item)  # already {"role", "content"}
    return messages
