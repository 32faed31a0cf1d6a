"""PyInstaller support, registered in pyproject.toml through the ``pyinstaller40`` entry points.

``hook-dirs`` makes ``pyinstaller app.py`` pick up ``hook-mcp_sidecar.py`` from this folder,
which bundles the sidecar binary; ``tests`` lets PyInstaller's test runner find the hook's own
test (``python -m PyInstaller.utils.run_tests --include_only mcp_sidecar.``).
"""

import os

__all__ = ["get_hook_dirs", "get_PyInstaller_tests"]


def get_hook_dirs():
    """Folders holding ``hook-<module>.py`` files (the ``pyinstaller40`` ``hook-dirs`` entry point)."""
    return [os.path.dirname(os.path.abspath(__file__))]


def get_PyInstaller_tests():
    """Folders holding the hook's pytest tests (the ``pyinstaller40`` ``tests`` entry point)."""
    return [os.path.dirname(os.path.abspath(__file__))]
