"""The frozen-app support files are where the entry points and the README say they are.

The real proof is `cargo xtask freeze-check` (PyInstaller and Nuitka builds); these are the cheap
checks that run everywhere, without either tool installed.
"""

import os
import re
import subprocess
import sys

from conftest import PYTHON_DIR, REPO_ROOT

from mcp_sidecar import _nuitka, _pyinstaller


def test_pyinstaller_hook_dir_holds_the_hook_and_its_test():
    (hook_dir,) = _pyinstaller.get_hook_dirs()
    assert os.path.isfile(os.path.join(hook_dir, "hook-mcp_sidecar.py"))
    (tests_dir,) = _pyinstaller.get_PyInstaller_tests()
    assert any(name.startswith("test_") and name.endswith(".py") for name in os.listdir(tests_dir))


def test_pyproject_registers_the_pyinstaller40_entry_points():
    with open(os.path.join(REPO_ROOT, "pyproject.toml")) as handle:
        pyproject = handle.read()
    section = pyproject.split("[project.entry-points.pyinstaller40]", 1)[1].split("\n[", 1)[0]
    entries = dict(re.findall(r'^([\w-]+)\s*=\s*"([^"]+)"', section, re.M))
    assert entries == {
        "hook-dirs": "mcp_sidecar._pyinstaller:get_hook_dirs",
        "tests": "mcp_sidecar._pyinstaller:get_PyInstaller_tests",
    }


def test_hook_collects_the_native_folder_as_binaries():
    with open(os.path.join(_pyinstaller.get_hook_dirs()[0], "hook-mcp_sidecar.py")) as handle:
        hook = handle.read()
    assert re.search(r"^binaries = ", hook, re.M), "the sidecar must be a BINARY, not data"
    assert not re.search(r"^datas = ", hook, re.M)


def test_nuitka_config_bundles_the_sidecar_as_an_executable():
    path = _nuitka.config_path()
    assert path.endswith(".nuitka-package.config.yml")
    with open(path) as handle:
        config = handle.read()
    assert "- module-name: 'mcp_sidecar'" in config
    assert "relative_path: '_native'" in config
    assert "executable: 'yes'" in config


def test_python_m_mcp_sidecar_nuitka_prints_the_config_path():
    env = dict(os.environ, PYTHONPATH=PYTHON_DIR)
    out = subprocess.run(
        [sys.executable, "-m", "mcp_sidecar._nuitka"],
        stdout=subprocess.PIPE,
        env=env,
        timeout=60,
        check=True,
    )
    printed = out.stdout.decode("utf-8").strip()
    assert os.path.samefile(printed, _nuitka.config_path())
