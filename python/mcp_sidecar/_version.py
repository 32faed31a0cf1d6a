"""The package version: installed metadata when present, else this constant (Python 3.7 has
no importlib.metadata, and a source checkout has no metadata at all)."""

FALLBACK_VERSION = "0.1.0"


def _installed_version():
    try:
        from importlib.metadata import PackageNotFoundError, version  # novermin (3.8+, guarded)
    except ImportError:
        return None
    try:
        return version("mcp-sidecar")
    except PackageNotFoundError:
        return None


__version__ = _installed_version() or FALLBACK_VERSION
