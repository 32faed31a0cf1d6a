"""Nuitka support: the package configuration that bundles the sidecar binary.

Nuitka 4.x does not discover configuration files inside installed packages, so a build names
it explicitly; ``python -m mcp_sidecar._nuitka`` prints its path for the command line:

    python -m nuitka --mode=standalone \\
        --user-package-configuration-file="$(python -m mcp_sidecar._nuitka)" app.py
"""

import os

__all__ = ["CONFIG_FILE", "config_path"]

CONFIG_FILE = "mcp_sidecar.nuitka-package.config.yml"


def config_path():
    """Absolute path of the ``*.nuitka-package.config.yml`` shipped with this package."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), CONFIG_FILE)
