"""Smoke test of an installed mcp_sidecar: locate the binary, start it, call a tool over MCP, stop.

Run by ``cargo xtask test`` (suite ``dist``) with the interpreter of a fresh venv that installed
a wheel or the sdist from dist/. Standard library and the package under test only; Python 3.7+.

    python scripts/smoke_roundtrip.py [--expect-layout package|scripts] [--binary ARG]...
                                      [--ipc pipe|tcp|unix] [--timeout SECONDS]

``--binary`` (repeatable) replaces the located binary with an argv prefix, e.g. a wrapper that
runs the Windows sidecar under wine. Prints one JSON line with what happened; exit 0 on success.
"""

import argparse
import json
import os
import sys
import time


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--expect-layout", help="fail unless the locator found the binary here")
    parser.add_argument("--binary", action="append", default=[], help="argv prefix to run instead")
    parser.add_argument("--ipc", choices=["pipe", "tcp", "unix"], default=None)
    parser.add_argument("--timeout", type=float, default=20.0, help="start timeout in seconds")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    # The MCP client lives beside this script; the package comes from the install under test,
    # never from a source checkout next to this script.
    from mcp_client import McpClient

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path = [p for p in sys.path if os.path.abspath(p or ".") != here]
    import mcp_sidecar

    report = {"package": os.path.dirname(mcp_sidecar.__file__), "version": mcp_sidecar.__version__}
    location = mcp_sidecar.locate_binary()
    report.update(binary=location.path, how_found=location.how_found, layout=location.layout)
    if args.expect_layout and location.layout != args.expect_layout:
        return fail(report, "binary found via {!r}, expected layout {!r}".format(
            location.how_found, args.expect_layout))

    calls = []

    def add(a, b):
        calls.append((a, b))
        return a + b

    binary = args.binary or None
    report["command"] = binary or [location.path]
    started = time.monotonic()
    sidecar = mcp_sidecar.McpSidecar(binary=binary, ipc=args.ipc, tool_timeout=10.0)
    sidecar.register_tool(
        "add",
        add,
        "Add two numbers",
        {
            "type": "object",
            "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
            "required": ["a", "b"],
        },
    )
    try:
        port = sidecar.start(timeout=args.timeout)
        report["start_seconds"] = round(time.monotonic() - started, 3)
        report["port"] = port
        client = McpClient(sidecar.url, token=sidecar.token)
        try:
            client.initialize("smoke-roundtrip")
            names = sorted(tool["name"] for tool in client.list_tools())
            result = client.call_tool("add", {"a": 2, "b": 3})
        finally:
            client.close()
    finally:
        report["exit_code"] = sidecar.stop(timeout=10.0)
    report["tools"] = names
    text = "".join(part.get("text", "") for part in result.get("content", []))
    report["result"] = text
    if "add" not in names:
        return fail(report, "tools/list did not list `add`")
    if result.get("isError") or calls != [(2, 3)] or "5" not in text:
        return fail(report, "tools/call add(2, 3) did not come back as 5")
    if report["exit_code"] != 0:
        return fail(report, "the sidecar did not exit 0 after stop()")
    report["ok"] = True
    print(json.dumps(report, sort_keys=True))
    return 0


def fail(report, why):
    report["ok"] = False
    report["error"] = why
    print(json.dumps(report, sort_keys=True))
    return 1


if __name__ == "__main__":
    sys.exit(main())
