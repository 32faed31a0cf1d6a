"""PyInstaller hook for ``mcp_sidecar``: bundle the native sidecar from ``mcp_sidecar/_native/``.

The files go in as BINARY entries (not data) so PyInstaller keeps them executable in one-dir
bundles and in the one-file extraction folder, and signs them on macOS. The bundle mirrors the
package layout (``mcp_sidecar/_native/``), which is where ``mcp_sidecar.get_binary_path()``
looks under ``sys._MEIPASS``.
"""

import os

from PyInstaller import log as logging
from PyInstaller.utils.hooks import get_module_file_attribute

logger = logging.getLogger(__name__)

_DEST = os.path.join("mcp_sidecar", "_native")
_EXPECTED = ("mcp-sidecar", "mcp-sidecar.exe")


def _native_files():
    package_dir = os.path.dirname(get_module_file_attribute("mcp_sidecar"))
    native_dir = os.path.join(package_dir, "_native")
    try:
        names = sorted(os.listdir(native_dir))
    except OSError:
        names = []
    files = [
        os.path.join(native_dir, name)
        for name in names
        if not name.startswith(".")
        and not name.endswith((".py", ".pyc"))
        and os.path.isfile(os.path.join(native_dir, name))
    ]
    if not any(os.path.basename(path) in _EXPECTED for path in files):
        # A source checkout or an sdist that was not built: the app will need MCP_SIDECAR_BINARY.
        logger.warning(
            "mcp_sidecar: no sidecar binary in %s; the frozen app will not find mcp-sidecar "
            "unless MCP_SIDECAR_BINARY points to one. Install a platform wheel of mcp-sidecar.",
            native_dir,
        )
    return files


binaries = [(path, _DEST) for path in _native_files()]
