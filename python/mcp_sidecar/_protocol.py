"""The IPC protocol's names (docs/ipc-protocol.md): method names and the host's lifecycle states.

Method names mirror ``crates/mcp-sidecar/src/ipc/protocol.rs`` (``protocol::method``).
"""

# --- methods ---------------------------------------------------------------------------------
AUTH_HELLO = "auth.hello"  # sidecar → host request, always the first message
TOOL_LIST = "tool.list"  # sidecar → host request
TOOL_CALL = "tool.call"  # sidecar → host request
LIFECYCLE_READY = "lifecycle.ready"  # sidecar → host notification
LIFECYCLE_SHUTDOWN = "lifecycle.shutdown"  # host → sidecar request
TOOLS_CHANGED = "tools.changed"  # host → sidecar notification

METHODS = (AUTH_HELLO, TOOL_LIST, TOOL_CALL, LIFECYCLE_READY, LIFECYCLE_SHUTDOWN, TOOLS_CHANGED)

# --- McpSidecar lifecycle states ---------------------------------------------------------------
NEW = "new"  # constructed, never started
RUNNING = "running"  # start() called (starting or serving)
STOPPING = "stopping"  # stop() or a failed start() is tearing it down
STOPPED = "stopped"  # torn down; start() may run again

STATES = (NEW, RUNNING, STOPPING, STOPPED)
