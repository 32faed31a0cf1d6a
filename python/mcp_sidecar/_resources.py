"""The host's resources: static URIs and RFC 6570 simple ``{var}`` templates, and reading one."""

import re
import threading

from . import _jsonrpc as rpc
from ._content import resource_contents

_VARIABLE = re.compile(r"\{([A-Za-z0-9_]+)\}")


def _default_name(reader, fallback):
    name = getattr(reader, "__name__", None)
    return name if name and name != "<lambda>" else fallback


class Resource(object):
    """One static resource: ``reader()`` returns str (text) or bytes (blob)."""

    def __init__(self, uri, reader, name=None, description="", mime_type=None):
        if not isinstance(uri, str) or not uri:
            raise ValueError("resource uri must be a non-empty string")
        if not callable(reader):
            raise TypeError("reader for resource {!r} is not callable".format(uri))
        self.uri = uri
        self.reader = reader
        self.name = name or _default_name(reader, uri)
        self.description = description
        self.mime_type = mime_type

    def to_json(self):
        entry = {"uri": self.uri, "name": self.name}
        if self.description:
            entry["description"] = self.description
        if self.mime_type:
            entry["mimeType"] = self.mime_type
        return entry

    def read(self, uri):
        return resource_contents(uri, self.reader(), self.mime_type)


class ResourceTemplate(object):
    """``test://items/{id}``: ``reader(id=...)``; a variable matches one path segment."""

    def __init__(self, uri_template, reader, name=None, description="", mime_type=None, complete=None):
        if not isinstance(uri_template, str) or not _VARIABLE.search(uri_template):
            raise ValueError("a resource template needs at least one {var}: %r" % (uri_template,))
        if not callable(reader):
            raise TypeError("reader for template {!r} is not callable".format(uri_template))
        if complete is not None and not callable(complete):
            raise TypeError("complete for template {!r} is not callable".format(uri_template))
        self.uri_template = uri_template
        self.reader = reader
        self.name = name or _default_name(reader, uri_template)
        self.description = description
        self.mime_type = mime_type
        self.complete = complete
        pattern, last = [], 0
        for match in _VARIABLE.finditer(uri_template):
            pattern.append(re.escape(uri_template[last : match.start()]))
            # RFC 6570 simple expansion percent-encodes reserved characters: no / ? # inside.
            pattern.append("(?P<{}>[^/?#]+)".format(match.group(1)))
            last = match.end()
        pattern.append(re.escape(uri_template[last:]))
        self._pattern = re.compile("^" + "".join(pattern) + "$")

    def to_json(self):
        entry = {"uriTemplate": self.uri_template, "name": self.name}
        if self.description:
            entry["description"] = self.description
        if self.mime_type:
            entry["mimeType"] = self.mime_type
        return entry

    def match(self, uri):
        """The template's variables for ``uri`` (percent-decoded), or None."""
        found = self._pattern.match(uri)
        if found is None:
            return None
        from urllib.parse import unquote

        return {key: unquote(value) for key, value in found.groupdict().items()}

    def read(self, uri, variables):
        return resource_contents(uri, self.reader(**variables), self.mime_type)


class ResourceRegistry(object):
    """Thread-safe static resources (by URI) and templates (by template), registration order."""

    def __init__(self):
        self._resources = {}
        self._templates = {}
        self._lock = threading.Lock()

    def add(self, entry):
        with self._lock:
            if isinstance(entry, ResourceTemplate):
                self._templates[entry.uri_template] = entry
            else:
                self._resources[entry.uri] = entry

    def remove(self, uri):
        """Removes a resource or template by its URI (or URI template); whether it existed."""
        with self._lock:
            found = self._resources.pop(uri, None) or self._templates.pop(uri, None)
        return found is not None

    def list_result(self):
        with self._lock:
            return {
                "resources": [r.to_json() for r in self._resources.values()],
                "resourceTemplates": [t.to_json() for t in self._templates.values()],
            }

    def template(self, uri_template):
        with self._lock:
            return self._templates.get(uri_template)

    def prepare_read(self, params):
        """``resource.read`` params → a function returning the result, or RpcError now."""
        uri = params.get("uri") if isinstance(params, dict) else None
        if not isinstance(uri, str):
            raise rpc.RpcError(rpc.INVALID_PARAMS, "resource.read needs a string 'uri'")
        with self._lock:
            resource = self._resources.get(uri)
            templates = list(self._templates.values())
        if resource is not None:
            return lambda: {"contents": [resource.read(uri)]}
        for template in templates:
            variables = template.match(uri)
            if variables is not None:
                return lambda: {"contents": [template.read(uri, variables)]}
        raise rpc.RpcError(
            rpc.RESOURCE_NOT_FOUND,
            "resource not found: {}".format(uri),
            {"kind": "resource_not_found", "uri": uri},
        )
