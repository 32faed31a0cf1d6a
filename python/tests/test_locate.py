"""get_binary_path() / locate_binary(): every search step, the order, and the error."""

import os
import subprocess
import sys
import sysconfig

import pytest

from conftest import PYTHON_DIR
from mcp_sidecar import BinaryNotFoundError, get_binary_path, locate_binary
from mcp_sidecar import _locate

EXE = _locate.exe_name()
NATIVE = os.path.join("mcp_sidecar", "_native")


def make_exe(directory):
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(str(directory), EXE)
    with open(path, "w") as handle:
        handle.write("#!/bin/sh\nexit 0\n")
    os.chmod(path, 0o755)
    return path


class FakeCompiled(object):
    def __init__(self, standalone=True, onefile=False):
        self.standalone = standalone
        self.onefile = onefile


@pytest.fixture
def world(tmp_path, monkeypatch):
    """A fake machine: a --prefix style install, a venv, a base Python, user scheme, PATH."""
    root = str(tmp_path)
    dirs = {
        "module": os.path.join(root, "prefix", "lib", "python3.9", "site-packages", "mcp_sidecar"),
        "scripts": os.path.join(root, "venv", "bin"),
        "base": os.path.join(root, "base", "bin"),
        "user": os.path.join(root, "user", "bin"),
        "path1": os.path.join(root, "path1"),
        "path2": os.path.join(root, "path2"),
        "app": os.path.join(root, "app"),
    }
    os.makedirs(dirs["module"])

    def fake_scripts(**kwargs):
        if "scheme" in kwargs:
            assert kwargs["scheme"] == _locate._user_scheme()
            return dirs["user"]
        if "vars" in kwargs:
            assert kwargs["vars"] == {"base": sys.base_prefix}
            return dirs["base"]
        return dirs["scripts"]

    monkeypatch.delenv("MCP_SIDECAR_BINARY", raising=False)
    monkeypatch.delenv("NUITKA_ONEFILE_PARENT", raising=False)
    monkeypatch.setattr(_locate, "_module_dir", lambda: dirs["module"])
    monkeypatch.setattr(_locate, "_get_scripts", fake_scripts)
    monkeypatch.setattr(_locate, "_nuitka_compiled", lambda: None)
    monkeypatch.delattr(sys, "_MEIPASS", raising=False)
    monkeypatch.delattr(sys, "frozen", raising=False)
    monkeypatch.setenv("PATH", os.pathsep.join([dirs["path1"], dirs["path2"]]))
    return dirs


def expected_order(dirs, frozen=()):
    prefix = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(dirs["module"]))))
    target = os.path.dirname(dirs["module"])
    order = list(frozen) + [
        (os.path.join(dirs["module"], "_native"), "package"),
        (dirs["scripts"], "scripts"),
        (dirs["base"], "scripts"),
        (os.path.join(prefix, "Scripts" if os.name == "nt" else "bin"), "scripts"),
        (os.path.join(target, "bin"), "scripts"),
    ]
    if os.name == "nt":
        order.append((os.path.join(target, "Scripts"), "scripts"))
    order += [(dirs["user"], "scripts"), (dirs["path1"], "path"), (dirs["path2"], "path")]
    return [(os.path.join(d, EXE), layout) for d, layout in order]


def walk_order(expected):
    """Creates every candidate, then removes them front to back: each time the next one wins."""
    for path, _ in expected:
        make_exe(os.path.dirname(path))
    for path, layout in expected:
        found = locate_binary()
        assert (found.path, found.layout) == (path, layout), found
        assert get_binary_path() == path
        os.remove(path)
    with pytest.raises(BinaryNotFoundError):
        locate_binary()


def test_plain_install_order(world):
    expected = expected_order(world)
    assert [(c.path, c.layout) for c in _locate.candidates()] == expected
    walk_order(expected)


def test_error_lists_every_path_tried_in_order(world):
    expected = [path for path, _ in expected_order(world)]
    with pytest.raises(BinaryNotFoundError) as info:
        get_binary_path()
    error = info.value
    assert isinstance(error, FileNotFoundError)
    assert error.tried == expected
    message = str(error)
    assert "MCP_SIDECAR_BINARY" in message
    listed = [line.strip().split("  (")[0] for line in message.splitlines()[1:]]
    assert listed == expected, message  # one path per line, in search order


def test_env_override_wins(world, tmp_path, monkeypatch):
    make_exe(os.path.join(world["module"], "_native"))
    override = make_exe(tmp_path / "elsewhere")
    monkeypatch.setenv("MCP_SIDECAR_BINARY", override)
    found = locate_binary()
    assert found == (override, "MCP_SIDECAR_BINARY environment variable", "env")


def test_env_override_to_missing_file_is_an_error(world, tmp_path, monkeypatch):
    make_exe(os.path.join(world["module"], "_native"))  # must not be used as a fallback
    missing = str(tmp_path / "nope" / EXE)
    monkeypatch.setenv("MCP_SIDECAR_BINARY", missing)
    with pytest.raises(BinaryNotFoundError) as info:
        get_binary_path()
    message = str(info.value)
    assert "MCP_SIDECAR_BINARY is set to" in message and "does not exist" in message
    assert missing in message
    assert info.value.tried == [missing]


@pytest.mark.skipif(os.name == "nt", reason="POSIX execute permission")
def test_not_executable_is_skipped_and_reported(world):
    path = make_exe(os.path.join(world["module"], "_native"))
    os.chmod(path, 0o644)
    with pytest.raises(BinaryNotFoundError) as info:
        locate_binary()
    assert "{}  (the package's _native/ folder; exists but is not executable)".format(path) in str(
        info.value
    )


def test_pyinstaller_onedir(world, monkeypatch):
    app = world["app"]
    monkeypatch.setattr(sys, "_MEIPASS", os.path.join(app, "_internal"), raising=False)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", os.path.join(app, "myapp"))
    frozen = [(os.path.join(app, "_internal", NATIVE), "pyinstaller-onedir")]
    walk_order(expected_order(world, frozen))


def test_pyinstaller_onedir_macos_app_bundle(world, monkeypatch):
    contents = os.path.join(world["app"], "My.app", "Contents")
    monkeypatch.setattr(sys, "_MEIPASS", os.path.join(contents, "Frameworks"), raising=False)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", os.path.join(contents, "MacOS", "myapp"))
    assert _locate._frozen_dirs()[0][2] == "pyinstaller-onedir"


def test_pyinstaller_onefile(world, monkeypatch, tmp_path):
    extracted = str(tmp_path / "tmp" / "_MEIab12cd")
    monkeypatch.setattr(sys, "_MEIPASS", extracted, raising=False)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", os.path.join(world["app"], "myapp"))
    frozen = [(os.path.join(extracted, NATIVE), "pyinstaller-onefile")]
    walk_order(expected_order(world, frozen))


def test_nuitka_standalone(world, monkeypatch):
    app = world["app"]
    monkeypatch.setattr(_locate, "_nuitka_compiled", lambda: FakeCompiled(standalone=True))
    monkeypatch.setattr(sys, "executable", os.path.join(app, "myapp.bin"))
    # The module's own _native/ is also the package step's folder: listed once, as nuitka.
    frozen = [
        (os.path.join(app, NATIVE), "nuitka-standalone"),
        (os.path.join(world["module"], "_native"), "nuitka-standalone"),
    ]
    expected = expected_order(world, frozen)
    del expected[2]  # the package step's duplicate
    assert [(c.path, c.layout) for c in _locate.candidates()] == expected
    walk_order(expected)


def test_nuitka_onefile_from_compiled_flag(world, monkeypatch):
    monkeypatch.setattr(_locate, "_nuitka_compiled", lambda: FakeCompiled(onefile=True))
    monkeypatch.setattr(sys, "executable", os.path.join(world["app"], "myapp"))
    make_exe(os.path.join(world["app"], NATIVE))
    assert locate_binary().layout == "nuitka-onefile"


def test_nuitka_onefile_from_environment(world, monkeypatch):
    monkeypatch.setattr(sys, "frozen", True, raising=False)  # no __compiled__ visible
    monkeypatch.setenv("NUITKA_ONEFILE_PARENT", "1234")
    monkeypatch.setattr(sys, "executable", os.path.join(world["app"], "myapp"))
    make_exe(os.path.join(world["module"], "_native"))
    found = locate_binary()
    assert (found.layout, found.how_found) == ("nuitka-onefile", "frozen app, next to the module")


def test_nuitka_accelerated_mode_is_not_frozen(world, monkeypatch):
    monkeypatch.setattr(
        _locate, "_nuitka_compiled", lambda: FakeCompiled(standalone=False, onefile=False)
    )
    assert _locate._frozen_dirs() == []


def test_duplicate_folders_are_tried_once(world, monkeypatch):
    monkeypatch.setattr(_locate, "_get_scripts", lambda **kwargs: world["scripts"])
    monkeypatch.setenv("PATH", os.pathsep.join([world["scripts"], world["path1"], world["path1"]]))
    paths = [c.path for c in _locate.candidates()]
    assert len(paths) == len(set(paths))
    assert paths.count(os.path.join(world["scripts"], EXE)) == 1


def test_real_scripts_folders_follow_uv_order(monkeypatch):
    monkeypatch.setattr(_locate, "_module_dir", lambda: os.path.join(os.sep, "t", "mcp_sidecar"))
    dirs = [d for d, _ in _locate._scripts_dirs()]
    assert dirs[0] == sysconfig.get_path("scripts")
    assert dirs[1] == sysconfig.get_path("scripts", vars={"base": sys.base_prefix})
    assert dirs[2] == os.path.join(os.sep, "t", "bin")  # --target
    assert dirs[-1] == sysconfig.get_path("scripts", scheme=_locate._user_scheme())


def test_exe_name():
    assert EXE == ("mcp-sidecar.exe" if os.name == "nt" else "mcp-sidecar")


def test_package_works_without_native_folder(world):
    assert not os.path.exists(os.path.join(world["module"], "_native"))
    with pytest.raises(BinaryNotFoundError):
        locate_binary()


def run_module(args, env_binary):
    env = dict(os.environ, PYTHONPATH=PYTHON_DIR)
    if env_binary is None:
        env.pop("MCP_SIDECAR_BINARY", None)
    else:
        env["MCP_SIDECAR_BINARY"] = env_binary
    return subprocess.run(
        [sys.executable, "-m", "mcp_sidecar"] + args,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        timeout=30,
    )


def test_where_prints_path_how_and_layout(tmp_path):
    binary = make_exe(tmp_path)
    completed = run_module(["--where"], binary)
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert lines[0] == binary
    assert "MCP_SIDECAR_BINARY" in lines[1]
    assert lines[2] == "layout: env"


def test_where_fails_with_the_tried_list(tmp_path):
    missing = str(tmp_path / EXE)
    completed = run_module(["--where"], missing)
    assert completed.returncode == 1
    assert missing in completed.stderr
