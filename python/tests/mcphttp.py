"""The tests' MCP HTTP client: scripts/mcp_client.py, under the names the tests use."""

from mcp_client import HttpStatusError, McpClient as McpHttpClient, McpError as RpcErrorAnswer
from mcp_client import NoAnswer

__all__ = ["HttpStatusError", "McpHttpClient", "NoAnswer", "RpcErrorAnswer", "text_of"]


def text_of(result):
    """The text of a CallToolResult's single text item."""
    assert len(result["content"]) == 1, result
    assert result["content"][0]["type"] == "text", result
    return result["content"][0]["text"]
