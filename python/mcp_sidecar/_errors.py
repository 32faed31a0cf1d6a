"""The exceptions the package raises to its users."""


class SidecarError(Exception):
    """Base class for every error this package raises on purpose."""


class SidecarStartError(SidecarError):
    """The sidecar could not be started (not executable, exited early, never became ready)."""


class BinaryNotFoundError(SidecarError, FileNotFoundError):
    """No ``mcp-sidecar`` binary was found; the message lists every path tried, in order."""

    def __init__(self, message, tried=()):
        super(BinaryNotFoundError, self).__init__(message)
        self.tried = list(tried)

    def __str__(self):
        # OSError.__str__ would prefix errno/strerror formatting; keep the plain message.
        return str(self.args[0]) if self.args else ""


class ConnectionLostError(SidecarError):
    """The IPC connection to the sidecar closed while a request was pending."""
