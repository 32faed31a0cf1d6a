"""Shared fixtures. The e2e tests use the real sidecar: ``$MCP_SIDECAR_BINARY``, or one built
here with ``cargo build -p mcp-sidecar``. A missing binary fails those tests; it never skips them.
"""

import os
import subprocess
import sys

import pytest

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
PYTHON_DIR = os.path.dirname(TESTS_DIR)
REPO_ROOT = os.path.dirname(PYTHON_DIR)
SCRIPTS_DIR = os.path.join(REPO_ROOT, "scripts")

# Import the package from this checkout even without PYTHONPATH (xtask sets it too), and the
# MCP client the tests drive the sidecar with (scripts/mcp_client.py, not part of the package).
for path in (PYTHON_DIR, SCRIPTS_DIR):
    if path not in sys.path:
        sys.path.insert(0, path)

EXE = "mcp-sidecar.exe" if os.name == "nt" else "mcp-sidecar"


def _build_sidecar():
    binary = os.path.join(REPO_ROOT, "target", "debug", EXE)
    try:
        completed = subprocess.run(
            ["cargo", "build", "-p", "mcp-sidecar"],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=900,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.fail(
            "MCP_SIDECAR_BINARY is unset and `cargo build -p mcp-sidecar` failed: {}".format(exc)
        )
    if completed.returncode != 0 or not os.path.isfile(binary):
        pytest.fail(
            "MCP_SIDECAR_BINARY is unset and `cargo build -p mcp-sidecar` failed "
            "(exit {}):\n{}".format(
                completed.returncode, completed.stdout.decode("utf-8", "replace")[-4000:]
            )
        )
    return binary


@pytest.fixture(scope="session")
def sidecar_binary():
    """Absolute path of the real sidecar binary (fails loudly when there is none)."""
    binary = os.environ.get("MCP_SIDECAR_BINARY")
    if binary:
        binary = os.path.abspath(binary)
        if not os.path.isfile(binary):
            pytest.fail("MCP_SIDECAR_BINARY={} does not exist".format(binary))
        return binary
    return _build_sidecar()


@pytest.fixture
def make_sidecar(sidecar_binary):
    """Factory for McpSidecar instances on the real binary; stops whatever it made."""
    from mcp_sidecar import McpSidecar

    made = []

    def make(**kwargs):
        kwargs.setdefault("binary", sidecar_binary)
        sidecar = McpSidecar(**kwargs)
        made.append(sidecar)
        return sidecar

    yield make
    for sidecar in made:
        sidecar.stop(timeout=2.0)


@pytest.fixture
def fake_sidecar_command():
    """argv prefix that runs tests/fake_sidecar.py (a Python stand-in for the binary)."""
    return [sys.executable, os.path.join(TESTS_DIR, "fake_sidecar.py")]
