"""The host's prompts: registration, ``prompt.list`` answers and rendering one."""

import threading

from . import _jsonrpc as rpc
from ._content import to_prompt_messages


class Prompt(object):
    """``render(**arguments)`` returns content; ``arguments``: ``[{"name", "description", "required"}]``."""

    def __init__(self, name, render, description="", arguments=None, complete=None):
        if not isinstance(name, str) or not name:
            raise ValueError("prompt name must be a non-empty string")
        if not callable(render):
            raise TypeError("render for prompt {!r} is not callable".format(name))
        if complete is not None and not callable(complete):
            raise TypeError("complete for prompt {!r} is not callable".format(name))
        self.name = name
        self.render = render
        self.description = description
        self.arguments = [dict(argument) for argument in arguments or ()]
        for argument in self.arguments:
            if not isinstance(argument.get("name"), str):
                raise ValueError("prompt {!r}: every argument needs a string 'name'".format(name))
        self.complete = complete

    def to_json(self):
        entry = {"name": self.name}
        if self.description:
            entry["description"] = self.description
        if self.arguments:
            entry["arguments"] = self.arguments
        return entry

    def check_arguments(self, arguments):
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, dict):
            raise rpc.RpcError(rpc.INVALID_ARGUMENTS, "prompt arguments must be an object")
        for argument in self.arguments:
            if argument.get("required") and argument["name"] not in arguments:
                raise rpc.RpcError(
                    rpc.INVALID_ARGUMENTS,
                    "{}: missing required argument '{}'".format(self.name, argument["name"]),
                )
        return arguments

    def get(self, arguments):
        result = {"messages": to_prompt_messages(self.name, self.render(**arguments))}
        if self.description:
            result["description"] = self.description
        return result


class PromptRegistry(object):
    """Thread-safe name → Prompt mapping, in registration order."""

    def __init__(self):
        self._prompts = {}
        self._lock = threading.Lock()

    def add(self, prompt):
        with self._lock:
            self._prompts[prompt.name] = prompt

    def remove(self, name):
        with self._lock:
            return self._prompts.pop(name, None) is not None

    def get(self, name):
        with self._lock:
            return self._prompts.get(name)

    def list_result(self):
        with self._lock:
            return {"prompts": [prompt.to_json() for prompt in self._prompts.values()]}

    def prepare_get(self, params):
        """``prompt.get`` params → a function returning the result, or RpcError now."""
        name = params.get("name") if isinstance(params, dict) else None
        if not isinstance(name, str):
            raise rpc.RpcError(rpc.INVALID_PARAMS, "prompt.get needs a string 'name'")
        prompt = self.get(name)
        if prompt is None:
            raise rpc.RpcError(rpc.PROMPT_NOT_FOUND, "unknown prompt: {}".format(name))
        arguments = prompt.check_arguments(params.get("arguments"))
        return lambda: prompt.get(arguments)
