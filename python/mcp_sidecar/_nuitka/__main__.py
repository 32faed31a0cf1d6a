"""``python -m mcp_sidecar._nuitka``: print the Nuitka package configuration's path."""

import sys

from . import config_path

if __name__ == "__main__":
    sys.stdout.write(config_path() + "\n")
