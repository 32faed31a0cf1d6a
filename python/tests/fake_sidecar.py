"""A Python stand-in for the mcp-sidecar binary's IPC side, for tests that need a scripted peer.

Environment:
  FAKE_MODE   ok (default) | exit (exit 1 with a message) | silent (never READY) | badtoken
              | stubborn (ignores lifecycle.shutdown, SIGTERM and the IPC connection's end)
              | nohello (connects, sends nothing) | noconnect (never connects)
  FAKE_CALLS  JSON list of [method, params] requests to send after READY
  FAKE_OUT    file that receives one JSON line per answer / event
"""

import json
import os
import socket
import sys
import threading
import time

# The package from this checkout (the protocol names), also when PYTHONPATH is unset.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from mcp_sidecar import _protocol as proto  # noqa: E402


def parse_args(argv):
    args = {}
    i = 0
    while i < len(argv):
        if argv[i].startswith("--") and i + 1 < len(argv) and not argv[i + 1].startswith("--"):
            args[argv[i][2:]] = argv[i + 1]
            i += 2
        else:
            args[argv[i][2:]] = True
            i += 1
    return args


class PipeSocket(object):
    """The host's PipeStream (a named pipe's client end) as the little of a socket used here."""

    def __init__(self, stream):
        self.stream = stream

    def sendall(self, data):
        self.stream.sendall(data)

    def makefile(self, mode):
        return _PipeReader(self.stream)


class _PipeReader(object):
    def __init__(self, stream):
        self.stream = stream
        self.buffer = b""

    def readline(self):
        while b"\n" not in self.buffer:
            chunk = self.stream.recv(65536)
            if not chunk:
                line, self.buffer = self.buffer, b""
                return line
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line + b"\n"


def connect(endpoint):
    kind, _, address = endpoint.partition(":")
    if kind == "pipe":
        from mcp_sidecar import _winpipe

        return PipeSocket(_winpipe.connect(address))
    if kind == "unix":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(address)
    else:
        host, _, port = address.rpartition(":")
        sock = socket.create_connection((host, int(port)))
    return sock


class Peer(object):
    def __init__(self, sock):
        self.sock = sock
        self.file = sock.makefile("rb")
        self.lock = threading.Lock()
        self.ids = iter(range(1, 1 << 30))
        self.pending = {}
        self.out = os.environ.get("FAKE_OUT")

    def send(self, message):
        with self.lock:
            self.sock.sendall(json.dumps(message).encode("utf-8") + b"\n")

    def read(self):
        line = self.file.readline()
        if not line:
            return None
        return json.loads(line.decode("utf-8"))

    def record(self, entry):
        if self.out:
            with open(self.out, "a") as handle:
                handle.write(json.dumps(entry) + "\n")


def main():
    args = parse_args(sys.argv[1:])
    mode = os.environ.get("FAKE_MODE", "ok")
    if mode == "exit":
        sys.stderr.write("fake sidecar: refusing to start (mode=exit)\n")
        sys.exit(1)
    if mode == "stubborn" and os.name != "nt":
        import signal

        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    token = os.environ.get("MCP_SIDECAR_TOKEN", "")
    if mode == "badtoken":
        token = "wrong" + token
    if mode == "noconnect":
        time.sleep(60)
        return
    peer = Peer(connect(args["ipc"]))
    if mode == "nohello":
        peer.read()  # until the host gives up on us
        sys.stderr.write("fake sidecar: the host closed the connection before auth.hello\n")
        sys.exit(3)
    peer.send(
        {
            "jsonrpc": "2.0",
            "id": 0,
            "method": proto.AUTH_HELLO,
            "params": {"token": token, "pid": os.getpid(), "version": "0.0.0", "protocol": 1},
        }
    )
    hello = peer.read()
    if hello is None or "error" in hello:
        sys.stderr.write("fake sidecar: hello refused: {}\n".format(hello))
        sys.exit(2)
    peer.send({"jsonrpc": "2.0", "id": 1, "method": proto.TOOL_LIST, "params": {}})
    tools = peer.read()
    peer.record({"event": "tool.list", "answer": tools})
    if mode == "silent":
        time.sleep(60)
        return
    peer.send(
        {
            "jsonrpc": "2.0",
            "method": proto.LIFECYCLE_READY,
            "params": {"port": 1, "url": "http://127.0.0.1:1/mcp"},
        }
    )
    sys.stdout.write("READY 1\n")
    sys.stdout.flush()

    parent = int(args.get("parent-pid", 0) or 0)

    def watch_parent():
        while True:
            time.sleep(0.2)
            if parent and os.name != "nt":
                try:
                    os.kill(parent, 0)
                except OSError:
                    os._exit(3)

    threading.Thread(target=watch_parent, daemon=True).start()

    calls = json.loads(os.environ.get("FAKE_CALLS", "[]"))
    next_id = [100]

    def send_calls():
        for method, params in calls:
            next_id[0] += 1
            peer.send({"jsonrpc": "2.0", "id": next_id[0], "method": method, "params": params})

    threading.Thread(target=send_calls, daemon=True).start()

    while True:
        message = peer.read()
        if message is None:
            if mode == "stubborn":
                time.sleep(60)
            sys.exit(3)
        method = message.get("method")
        if method == proto.LIFECYCLE_SHUTDOWN and mode != "stubborn":
            peer.send({"jsonrpc": "2.0", "id": message["id"], "result": {}})
            sys.exit(0)
        elif method == proto.TOOLS_CHANGED:
            peer.record({"event": "tools.changed"})
        else:
            peer.record({"event": "answer", "answer": message})


if __name__ == "__main__":
    main()
