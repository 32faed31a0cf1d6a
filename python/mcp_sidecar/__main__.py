"""``python -m mcp_sidecar --where`` prints where the binary is and how it was found;
``python -m mcp_sidecar serve [--port N] [--require-auth]`` serves demo tools until Ctrl-C."""

import argparse
import sys

from ._errors import BinaryNotFoundError, SidecarError
from ._locate import locate_binary
from ._version import __version__


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m mcp_sidecar", description="Find or try out the mcp-sidecar binary."
    )
    parser.add_argument("--version", action="version", version="mcp_sidecar " + __version__)
    parser.add_argument(
        "--where", action="store_true", help="print where the binary is and how it was found"
    )
    commands = parser.add_subparsers(dest="command")
    serve = commands.add_parser("serve", help="serve the demo tools echo, add and sleep")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0)
    serve.add_argument("--require-auth", action="store_true")
    serve.add_argument("--tool-timeout", type=float, default=30.0, metavar="SECONDS")
    args = parser.parse_args(argv)

    if args.where:
        return where()
    if args.command == "serve":
        return serve_demo(args)
    parser.print_help()
    return 2


def where():
    try:
        location = locate_binary()
    except BinaryNotFoundError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(location.path)
    print("found via: {}".format(location.how_found))
    print("layout: {}".format(location.layout))
    return 0


def serve_demo(args):
    from ._demo import TOOLS
    from ._sidecar import McpSidecar

    sidecar = McpSidecar(
        tools=TOOLS,
        host=args.host,
        port=args.port,
        require_auth=args.require_auth,
        tool_timeout=args.tool_timeout,
    )
    try:
        sidecar.start()
    except (SidecarError, FileNotFoundError) as exc:
        print("error: {}".format(exc), file=sys.stderr)
        return 1
    try:
        print("MCP server: {}".format(sidecar.url), flush=True)
        if args.require_auth:
            print("Authorization: Bearer {}".format(sidecar.token), flush=True)
        print("tools: {}; Ctrl-C to stop".format(", ".join(sidecar.tool_names)), flush=True)
        code = sidecar.wait()
        print("sidecar exited ({})".format(code), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        sidecar.stop()


if __name__ == "__main__":
    sys.exit(main())
