"""What a tool handler or a prompt renderer may return, and its MCP wire form.

``str`` → text; ``Image``/``Audio`` (bytes, base64 on the wire); ``EmbeddedResource`` (str →
text, bytes → blob); ``ResourceLink``; a list mixing these (a ``str`` item is a text block); any
other JSON value → its JSON as text (plus ``structuredContent`` for a dict, in tool results).
"""

import base64
import json

from . import _jsonrpc as rpc


def _b64(data, what):
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("{} data must be bytes, not {}".format(what, type(data).__name__))
    return base64.b64encode(bytes(data)).decode("ascii")


class Image(object):
    """An image block: ``Image(png_bytes, "image/png")``."""

    __slots__ = ("data", "mime_type")
    _type = "image"

    def __init__(self, data, mime_type):
        self.data = data
        self.mime_type = mime_type

    def to_json(self):
        return {"type": self._type, "data": _b64(self.data, self._type), "mimeType": self.mime_type}


class Audio(Image):
    """An audio block: ``Audio(wav_bytes, "audio/wav")``."""

    __slots__ = ()
    _type = "audio"


class EmbeddedResource(object):
    """A resource's contents inline: ``content`` str → text, bytes → blob."""

    __slots__ = ("uri", "content", "mime_type")

    def __init__(self, uri, content, mime_type=None):
        self.uri = uri
        self.content = content
        self.mime_type = mime_type

    def to_json(self):
        return {"type": "resource", "resource": resource_contents(self.uri, self.content, self.mime_type)}


class ResourceLink(object):
    """A link to a resource the client may read: ``ResourceLink(uri, name)``."""

    __slots__ = ("uri", "name", "description", "mime_type")

    def __init__(self, uri, name, description=None, mime_type=None):
        self.uri = uri
        self.name = name
        self.description = description
        self.mime_type = mime_type

    def to_json(self):
        link = {"type": "resource_link", "uri": self.uri, "name": self.name}
        if self.description is not None:
            link["description"] = self.description
        if self.mime_type is not None:
            link["mimeType"] = self.mime_type
        return link


CONTENT_TYPES = (Image, EmbeddedResource, ResourceLink)  # Audio is an Image subclass


def resource_contents(uri, content, mime_type=None):
    """``{uri, mimeType?, text | blob}`` for a reader's str or bytes."""
    contents = {"uri": uri}
    if isinstance(content, str):
        contents["text"] = content
        if mime_type is not None:
            contents["mimeType"] = mime_type
    elif isinstance(content, (bytes, bytearray, memoryview)):
        contents["blob"] = _b64(content, "resource")
        contents["mimeType"] = mime_type or "application/octet-stream"
    else:
        raise TypeError(
            "resource {} content must be str or bytes, not {}".format(uri, type(content).__name__)
        )
    return contents


def _json_text(value, owner):
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise rpc.RpcError(
            rpc.HANDLER_ERROR,
            "{}: {} returned a value that is not JSON: {}".format(type(exc).__name__, owner, exc),
        )


def block(item, owner):
    """One content block for one item (str, a content object, or a JSON value)."""
    if isinstance(item, str):
        return {"type": "text", "text": item}
    if isinstance(item, CONTENT_TYPES):
        return item.to_json()
    return {"type": "text", "text": _json_text(item, owner)}


def is_content_list(value):
    # A list is content when it holds a content object; a plain JSON list stays JSON, as before.
    return isinstance(value, list) and any(isinstance(item, CONTENT_TYPES) for item in value)


def to_call_result(name, value):
    """A handler's return value → ``tool.call`` result, per docs/ipc-protocol.md."""
    owner = "tool {}".format(name)
    if isinstance(value, str) or isinstance(value, CONTENT_TYPES):
        return {"content": [block(value, owner)], "isError": False}
    if is_content_list(value):
        return {"content": [block(item, owner) for item in value], "isError": False}
    result = {"content": [{"type": "text", "text": _json_text(value, owner)}], "isError": False}
    if isinstance(value, dict):
        result["structuredContent"] = value
    return result


def to_prompt_messages(name, value):
    """A renderer's return value → prompt messages: a list gives one message per item.

    An item that is already a message (a dict with ``role`` and ``content``) passes through.
    """
    owner = "prompt {}".format(name)
    items = value if isinstance(value, list) else [value]
    messages = []
    for item in items:
        if isinstance(item, dict) and "role" in item and "content" in item:
            content = item["content"]
            if not isinstance(content, dict):
                content = block(content, owner)
            messages.append({"role": item["role"], "content": content})
        else:
            messages.append({"role": "user", "content": block(item, owner)})
    return messages
