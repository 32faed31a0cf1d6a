"""Finding the ``mcp-sidecar`` binary: an explicit, ordered candidate list; first hit wins.

Modelled on uv's ``find_uv_bin``: every candidate is a full path, duplicates are dropped, and
the error lists every path tried, in order.
"""

import collections
import fnmatch
import os
import sys
import sysconfig

from ._errors import BinaryNotFoundError

ENV_VAR = "MCP_SIDECAR_BINARY"
PACKAGE = "mcp_sidecar"
NATIVE_DIR = "_native"

LAYOUTS = (
    "env",
    "pyinstaller-onedir",
    "pyinstaller-onefile",
    "nuitka-standalone",
    "nuitka-onefile",
    "package",
    "scripts",
    "path",
)

BinaryLocation = collections.namedtuple("BinaryLocation", "path how_found layout")
Candidate = collections.namedtuple("Candidate", "path how_found layout")


def exe_name():
    return "mcp-sidecar.exe" if os.name == "nt" else "mcp-sidecar"


def get_binary_path():
    """The path of the sidecar binary; raises BinaryNotFoundError listing every path tried."""
    return locate_binary().path


def locate_binary():
    """``BinaryLocation(path, how_found, layout)`` for the first candidate that is executable."""
    override = os.environ.get(ENV_VAR)
    if override:
        path = os.path.abspath(os.path.expanduser(override))
        problem = _problem(path)
        if problem is not None:
            raise BinaryNotFoundError(
                "{} is set to {!r}, but {}.\nTried:\n  {}".format(ENV_VAR, override, problem, path),
                tried=[path],
            )
        return BinaryLocation(path, "{} environment variable".format(ENV_VAR), "env")
    tried = []
    for candidate in candidates():
        problem = _problem(candidate.path)
        if problem is None:
            return BinaryLocation(candidate.path, candidate.how_found, candidate.layout)
        tried.append((candidate, problem))
    lines = ["  {}  ({}; {})".format(c.path, c.how_found, problem) for c, problem in tried]
    raise BinaryNotFoundError(
        "could not find the {} binary. Set {} to its path, or install a platform wheel of "
        "mcp-sidecar. Tried, in order:\n{}".format(exe_name(), ENV_VAR, "\n".join(lines)),
        tried=[c.path for c, _ in tried],
    )


def candidates():
    """Every place the binary may be, in search order, de-duplicated (env override excluded)."""
    exe = exe_name()
    found = []
    seen = set()

    def add(directory, how_found, layout):
        if not directory:
            return
        path = os.path.join(os.path.abspath(directory), exe)
        key = os.path.normcase(os.path.normpath(path))
        if key not in seen:
            seen.add(key)
            found.append(Candidate(path, how_found, layout))

    frozen = _frozen_dirs()
    for directory, how_found, layout in frozen:
        add(directory, how_found, layout)
    add(os.path.join(_module_dir(), NATIVE_DIR), "the package's _native/ folder", "package")
    for directory, how_found in _scripts_dirs():
        add(directory, how_found, "scripts")
    for directory in _path_dirs():
        add(directory, "PATH", "path")
    return found


def _problem(path):
    """None if ``path`` is an executable file, else why not (for the error message)."""
    if not os.path.exists(path):
        return "does not exist"
    if not os.path.isfile(path):
        return "not a file"
    if os.name != "nt" and not os.access(path, os.X_OK):
        return "exists but is not executable"
    return None


# --- frozen applications ---------------------------------------------------------------------


def _module_dir():
    return os.path.dirname(os.path.abspath(__file__))


def _nuitka_compiled():
    """Nuitka injects ``__compiled__`` into every module it compiles; None when not compiled."""
    return globals().get("__compiled__")


def _frozen_dirs():
    """(folder, how_found, layout) for PyInstaller and Nuitka bundles; [] when not frozen."""
    native = os.path.join(PACKAGE, NATIVE_DIR)
    meipass = getattr(sys, "_MEIPASS", None)
    if meipass:
        layout = "pyinstaller-onefile" if _pyinstaller_onefile(meipass) else "pyinstaller-onedir"
        return [(os.path.join(meipass, native), "PyInstaller bundle (sys._MEIPASS)", layout)]
    compiled = _nuitka_compiled()
    if compiled is None and not getattr(sys, "frozen", False):
        return []
    if compiled is not None and not (
        getattr(compiled, "standalone", False) or getattr(compiled, "onefile", False)
    ):
        return []  # Nuitka accelerated mode: the package's own folder is searched next
    onefile = bool(getattr(compiled, "onefile", False) or os.environ.get("NUITKA_ONEFILE_PARENT"))
    layout = "nuitka-onefile" if onefile else "nuitka-standalone"
    exe_dir = os.path.dirname(os.path.abspath(sys.executable or ""))
    return [
        (os.path.join(exe_dir, native), "frozen app, next to sys.executable", layout),
        (os.path.join(_module_dir(), NATIVE_DIR), "frozen app, next to the module", layout),
    ]


def _pyinstaller_onefile(meipass):
    """One-dir bundles keep sys._MEIPASS beside the executable (``_internal``, or the .app's
    ``Contents/Frameworks``); one-file bundles extract to a temporary ``_MEI…`` folder."""
    exe_dir = os.path.dirname(os.path.abspath(sys.executable or ""))
    bundle = os.path.normcase(os.path.abspath(meipass))
    for root in (exe_dir, os.path.dirname(exe_dir)):
        root = os.path.normcase(root)
        if bundle == root or bundle.startswith(root.rstrip(os.sep) + os.sep):
            return os.path.basename(bundle).startswith("_mei" if os.name == "nt" else "_MEI")
    return True


# --- scripts folders of a source build (maturin bindings="bin") ------------------------------


def _scripts_dirs():
    """uv's order: scheme scripts, base prefix scripts, --prefix, --target, user scheme."""
    module_dir = _module_dir()
    dirs = [
        (_get_scripts(), "sysconfig scripts folder"),
        (_get_scripts(vars={"base": sys.base_prefix}), "base prefix scripts folder"),
    ]
    prefix = _strip_suffix(module_dir, "lib*/python*/*-packages/" + PACKAGE)
    if prefix is None and os.name == "nt":
        prefix = _strip_suffix(module_dir, "Lib/site-packages/" + PACKAGE)
    if prefix is not None:
        dirs.append(
            (os.path.join(prefix, "Scripts" if os.name == "nt" else "bin"), "--prefix install")
        )
    target = _strip_suffix(module_dir, PACKAGE)
    if target is not None:
        dirs.append((os.path.join(target, "bin"), "--target install"))
        if os.name == "nt":
            dirs.append((os.path.join(target, "Scripts"), "--target install"))
    dirs.append((_get_scripts(scheme=_user_scheme()), "user scheme scripts folder"))
    return dirs


def _get_scripts(**kwargs):
    try:
        return sysconfig.get_path("scripts", **kwargs)
    except (KeyError, ValueError):
        return None


def _user_scheme():
    preferred = getattr(sysconfig, "get_preferred_scheme", None)  # Python 3.10+
    if preferred is not None:
        return preferred("user")
    if os.name == "nt":
        return "nt_user"
    if sys.platform == "darwin" and getattr(sys, "_framework", None):
        return "osx_framework_user"
    return "posix_user"


def _strip_suffix(path, pattern):
    """``path`` without its trailing components matching ``pattern`` (``/``-separated,
    case-insensitive, ``*`` wildcards), or None when they do not match."""
    parts = os.path.normpath(path).split(os.sep)
    wanted = pattern.split("/")
    if len(parts) <= len(wanted):
        return None
    for part, want in zip(reversed(parts), reversed(wanted)):
        if not fnmatch.fnmatchcase(part.lower(), want.lower()):
            return None
    return os.sep.join(parts[: -len(wanted)]) or os.sep


def _path_dirs():
    """PATH entries, as ``shutil.which`` would search them (without Windows' cwd quirk)."""
    return [d for d in os.environ.get("PATH", os.defpath).split(os.pathsep) if d]
