"""The package stays Python 3.7 syntax and standard library only."""

import ast
import importlib.util
import os
import subprocess
import sys
import sysconfig

import pytest

from conftest import PYTHON_DIR

PACKAGE_DIR = os.path.join(PYTHON_DIR, "mcp_sidecar")
# Subfolders owned by the freeze tooling are checked by the same rules when present.
SOURCES = sorted(
    os.path.join(root, name)
    for root, _, names in os.walk(PACKAGE_DIR)
    for name in names
    if name.endswith(".py")
)


# Built into CPython on Windows only, so not findable here.
WINDOWS_BUILTINS = {"_winapi", "msvcrt", "winreg"}


def is_stdlib(name):
    """True for a standard-library top-level module (works on 3.7, unlike stdlib_module_names)."""
    if name in sys.builtin_module_names or name in WINDOWS_BUILTINS:
        return True
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        return False
    if spec.origin in ("built-in", "frozen"):
        return True
    stdlib = {os.path.realpath(sysconfig.get_paths()[key]) for key in ("stdlib", "platstdlib")}
    origin = os.path.realpath(spec.origin)
    return any(origin.startswith(d + os.sep) for d in stdlib) and "-packages" not in origin


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: os.path.relpath(p, PACKAGE_DIR))
def test_compiles_with_this_interpreter(path):
    with open(path, "rb") as handle:
        source = handle.read()
    compile(source, path, "exec", dont_inherit=True)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: os.path.relpath(p, PACKAGE_DIR))
def test_imports_only_the_standard_library(path):
    with open(path, "rb") as handle:
        tree = ast.parse(handle.read(), path)
    foreign = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots = [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            roots = [node.module.split(".")[0]]
        else:
            continue
        # PyInstaller hooks import PyInstaller; they only run inside PyInstaller itself.
        foreign += [
            r for r in roots if r not in ("mcp_sidecar", "PyInstaller") and not is_stdlib(r)
        ]
    assert foreign == []


def test_vermin_says_python_3_7():
    assert importlib.util.find_spec("vermin") is not None, "vermin must be installed (cargo xtask test does)"
    completed = subprocess.run(
        [sys.executable, "-c", "import sys, vermin; sys.exit(vermin.main())"]
        + ["--target=3.7-", "--no-tips", "--violations", "--eval-annotations", PACKAGE_DIR],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stdout
