"""The hook's own test, registered through the ``pyinstaller40`` ``tests`` entry point.

Run it with PyInstaller's runner (needs pytest):

    python -m PyInstaller.utils.run_tests --include_only mcp_sidecar.

It freezes a two-line app with plain ``pyinstaller`` (no extra flags, as a user would), then
checks that the frozen app finds the bundled sidecar under ``sys._MEIPASS``, that it is
executable, and that it runs.
"""

import os
import subprocess
import sys

from PyInstaller import __main__ as pyinstaller_main

APP = """\
import subprocess
import mcp_sidecar

location = mcp_sidecar.locate_binary()
print("layout:", location.layout)
print("binary:", location.path)
version = subprocess.run(
    [location.path, "--version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30
)
print("version:", version.stdout.decode("utf-8", "replace").strip())
print("version exit:", version.returncode)
"""


def _frozen_output(tmp_path, mode):
    app = tmp_path / "hook_app.py"
    app.write_text(APP)
    pyinstaller_main.run(
        [
            "--noconfirm",
            "--log-level=WARN",
            "--" + mode,
            "--workpath",
            str(tmp_path / "build"),
            "--distpath",
            str(tmp_path / "dist"),
            "--specpath",
            str(tmp_path),
            str(app),
        ]
    )
    name = "hook_app.exe" if sys.platform == "win32" else "hook_app"
    exe = tmp_path / "dist" / name if mode == "onefile" else tmp_path / "dist" / "hook_app" / name
    env = dict(os.environ)
    env.pop("MCP_SIDECAR_BINARY", None)  # the bundle, not an override, must provide the binary
    done = subprocess.run(
        [str(exe)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=120
    )
    stdout = done.stdout.decode("utf-8", "replace")
    stderr = done.stderr.decode("utf-8", "replace")
    assert done.returncode == 0, "frozen app failed:\n{}\n{}".format(stdout, stderr)
    return dict(line.split(": ", 1) for line in stdout.splitlines() if ": " in line)


def test_onedir_bundle_carries_an_executable_sidecar(tmp_path):
    out = _frozen_output(tmp_path, "onedir")
    assert out["layout"] == "pyinstaller-onedir", out
    bundled = os.path.join("hook_app", "_internal", "mcp_sidecar", "_native")
    assert bundled in out["binary"], out
    assert sys.platform == "win32" or os.access(out["binary"], os.X_OK), out["binary"]
    assert out["version exit"] == "0", out
    assert out["version"].startswith("mcp-sidecar"), out
