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
TOOL_CANCEL = "tool.cancel"  # sidecar → host notification: the client cancelled a call
RESOURCE_LIST = "resource.list"  # sidecar → host request
RESOURCE_READ = "resource.read"  # sidecar → host request
PROMPT_LIST = "prompt.list"  # sidecar → host request
PROMPT_GET = "prompt.get"  # sidecar → host request
COMPLETION_COMPLETE = "completion.complete"  # sidecar → host request
RESOURCES_CHANGED = "resources.changed"  # host → sidecar notification
RESOURCE_UPDATED = "resource.updated"  # host → sidecar notification
PROMPTS_CHANGED = "prompts.changed"  # host → sidecar notification
CALL_LOG = "call.log"  # host → sidecar notification, tied to a call in flight
CALL_PROGRESS = "call.progress"  # host → sidecar notification, tied to a call in flight
SAMPLING_CREATE = "sampling.create"  # host → sidecar request, relayed to the calling client
ELICITATION_CREATE = "elicitation.create"  # host → sidecar request, relayed likewise

METHODS = (
    AUTH_HELLO,
    TOOL_LIST,
    TOOL_CALL,
    LIFECYCLE_READY,
    LIFECYCLE_SHUTDOWN,
    TOOLS_CHANGED,
    TOOL_CANCEL,
    RESOURCE_LIST,
    RESOURCE_READ,
    PROMPT_LIST,
    PROMPT_GET,
    COMPLETION_COMPLETE,
    RESOURCES_CHANGED,
    RESOURCE_UPDATED,
    PROMPTS_CHANGED,
    CALL_LOG,
    CALL_PROGRESS,
    SAMPLING_CREATE,
    ELICITATION_CREATE,
)

# What the host serves besides tools, in its auth.hello answer.
HOST_CAPABILITIES = {
    "resources": {"subscribe": True, "listChanged": True},
    "prompts": {"listChanged": True},
    "completions": {},
    "logging": {},
}

# MCP log levels, least severe first.
LOG_LEVELS = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")

# --- McpSidecar lifecycle states ---------------------------------------------------------------
NEW = "new"  # constructed, never started
RUNNING = "running"  # start() called (starting or serving)
STOPPING = "stopping"  # stop() or a failed start() is tearing it down
STOPPED = "stopped"  # torn down; start() may run again

STATES = (NEW, RUNNING, STOPPING, STOPPED)
