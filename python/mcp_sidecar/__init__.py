"""Start a native MCP server sidecar from Python and serve this process's tools through it.

from mcp_sidecar import McpSidecar

def add(a: int, b: int) -> int:
    return a + b

with McpSidecar(tools={"add": add}) as sidecar:
    print("MCP server at", sidecar.url)
    ...
"""

import logging

from ._content import Audio, EmbeddedResource, Image, ResourceLink
from ._context import ToolContext
from ._errors import BinaryNotFoundError, SidecarError, SidecarStartError
from ._locate import get_binary_path, locate_binary
from ._sidecar import McpSidecar
from ._version import __version__

# A library configures no logging; the application decides what to show (logger "mcp_sidecar").
logging.getLogger("mcp_sidecar").addHandler(logging.NullHandler())

__all__ = [
    "McpSidecar",
    "ToolContext",
    "Image",
    "Audio",
    "EmbeddedResource",
    "ResourceLink",
    "get_binary_path",
    "locate_binary",
    "BinaryNotFoundError",
    "SidecarError",
    "SidecarStartError",
    "__version__",
]
