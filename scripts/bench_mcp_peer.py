"""The sidecar side by side with the official Python SDK's own server (run by `cargo xtask bench
mcp-peer` in a CPython 3.13 venv holding PyPI ``mcp``).

Both serve the same ``echo`` tool and the same text resource over streamable HTTP to the same
keep-alive client (``scripts/mcp_client.py``), in alternating blocks of calls within one run, once
on the machine as it is and once with CPU burners running (one per core). Also: the
``resources/updated`` fan-out to 50 subscribed sessions (time until the last has it). Reports
p50/p95/p99; asserts nothing.

    python scripts/bench_mcp_peer.py [--calls N] [--json]
"""

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time

from mcp_sidecar import McpSidecar
from mcp_client import McpClient

BLOCK = 100
FANOUT_SESSIONS = 50
FANOUT_ROUNDS = 10
RESOURCE = "bench://static"
WATCHED = "bench://watched"

PEER_SERVER = r"""
import sys
from mcp.server.mcpserver import MCPServer

server = MCPServer("peer", log_level="WARNING")

@server.tool()
def echo(text: str) -> str:
    "Echo the text back"
    return text

@server.resource("bench://static")
def static() -> str:
    return "static content"

server.run(transport="streamable-http", host="127.0.0.1", port=int(sys.argv[1]))
"""


def echo(text):
    return text


def percentiles(samples):
    ordered = sorted(samples)

    def at(pct):
        return round(ordered[min(len(ordered) - 1, int(round(pct / 100.0 * (len(ordered) - 1))))], 3)

    return {"n": len(ordered), "p50": at(50), "p95": at(95), "p99": at(99), "max": round(ordered[-1], 3)}


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_peer():
    port = free_port()
    began = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", PEER_SERVER, str(port)])
    url = "http://127.0.0.1:{}/mcp".format(port)
    deadline = time.monotonic() + 30
    while True:
        try:
            with McpClient(url, timeout=2) as probe:
                probe.initialize("probe")
            break
        except (OSError, http.client.HTTPException):
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError("the SDK server did not come up")
            time.sleep(0.05)
    return process, url, time.perf_counter() - began


def timed(fn, samples):
    began = time.perf_counter()
    fn()
    samples.append((time.perf_counter() - began) * 1000.0)


def side_by_side(clients, calls):
    """tools/call and resources/read latencies (ms) per server, in alternating blocks."""
    tool = {name: [] for name in clients}
    read = {name: [] for name in clients}
    for _ in range(calls // BLOCK):
        for name, client in clients.items():
            for _ in range(BLOCK):
                timed(lambda: client.call_tool("echo", {"text": "hi"}), tool[name])
            for _ in range(BLOCK // 4):
                timed(lambda: client.request("resources/read", {"uri": RESOURCE}), read[name])
    return {
        name: {"tools_call_ms": percentiles(tool[name]), "resource_read_ms": percentiles(read[name])}
        for name in clients
    }


class Burners(object):
    """One busy-looping process per core: other work running on the machine."""

    def __enter__(self):
        self.processes = [
            subprocess.Popen([sys.executable, "-c", "while True: pass"])
            for _ in range(os.cpu_count() or 2)
        ]
        return self

    def __exit__(self, *exc_info):
        for process in self.processes:
            process.kill()
            process.wait()


class Listener(object):
    """One MCP session subscribed to WATCHED, reading its GET event stream on a thread."""

    def __init__(self, url):
        self.client = McpClient(url)
        self.client.initialize("fanout")
        self.client.request("resources/subscribe", {"uri": WATCHED})
        self.arrivals = []
        self.ended = False
        self.cond = threading.Condition()
        conn = http.client.HTTPConnection(self.client.host, self.client.port, timeout=60)
        headers = {"Accept": "text/event-stream", "Mcp-Session-Id": self.client.session_id}
        headers["MCP-Protocol-Version"] = self.client.protocol_version
        conn.request("GET", self.client.path, headers=headers)
        self.sock = conn.sock
        self.response = conn.getresponse()
        if self.response.status != 200:
            raise RuntimeError("GET stream answered {}".format(self.response.status))
        self.conn = conn
        threading.Thread(target=self.read, daemon=True).start()

    def read(self):
        # The raw socket lines (chunk sizes included): http.client's chunked reader buffers an
        # open-ended stream. Each event is one chunk, so its data line stays whole.
        raw_stream = self.response.fp
        try:
            for raw in iter(raw_stream.readline, b""):
                if raw.startswith(b"data:") and b"notifications/resources/updated" in raw:
                    with self.cond:
                        self.arrivals.append(time.perf_counter())
                        self.cond.notify_all()
        except (OSError, http.client.HTTPException, ValueError, AttributeError):
            pass  # http.client raises AttributeError reading a chunked stream past its end
        self.ended = True

    def wait(self, count, timeout):
        with self.cond:
            return self.cond.wait_for(lambda: len(self.arrivals) >= count, timeout)

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the reader blocked in readline
        except OSError:
            pass
        self.conn.close()
        self.client.close()


def fanout(sidecar):
    listeners = [Listener(sidecar.url) for _ in range(FANOUT_SESSIONS)]
    time.sleep(0.2)  # every GET stream registered
    spans, lost = [], 0
    try:
        for n in range(1, FANOUT_ROUNDS + 1):
            sent = time.perf_counter()
            sidecar.notify_resource_updated(WATCHED)
            deadline = time.monotonic() + 5.0
            reached = [l for l in listeners if l.wait(n, max(0.0, deadline - time.monotonic()))]
            lost += len(listeners) - len(reached)
            if reached:
                spans.append((max(l.arrivals[n - 1] for l in reached) - sent) * 1000.0)
            time.sleep(0.05)
    finally:
        ended = sum(1 for l in listeners if l.ended)
        for listener in listeners:
            listener.close()
    return {"sessions": FANOUT_SESSIONS, "until_last_ms": percentiles(spans), "lost": lost,
            "streams_ended_early": ended}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    sidecar = McpSidecar(tool_timeout=10.0)
    sidecar.register_tool("echo", echo, "Echo the text back")
    sidecar.register_resource(RESOURCE, lambda: "static content", name="static", mime_type="text/plain")
    sidecar.register_resource(WATCHED, lambda: "watched", name="watched", mime_type="text/plain")
    began = time.perf_counter()
    sidecar.start(timeout=20.0)
    report = {"start_s": {"sidecar": round(time.perf_counter() - began, 3)}}
    peer, peer_url, peer_start = start_peer()
    report["start_s"]["sdk"] = round(peer_start, 3)
    clients = {"sidecar": McpClient(sidecar.url), "sdk": McpClient(peer_url)}
    try:
        for client in clients.values():
            client.initialize("bench")
            for _ in range(50):  # warm-up
                client.call_tool("echo", {"text": "hi"})
        report["as_is"] = side_by_side(clients, args.calls)
        with Burners() as burners:
            report["burners"] = len(burners.processes)
            report["loaded"] = side_by_side(clients, args.calls)
        report["fanout"] = fanout(sidecar)
    finally:
        for client in clients.values():
            client.close()
        peer.terminate()
        peer.wait()
        sidecar.stop()
    if args.json:
        print(json.dumps(report))
        return 0
    print("start: sidecar {sidecar} s, SDK server {sdk} s".format(**report["start_s"]))
    for phase in ("as_is", "loaded"):
        title = "machine as is" if phase == "as_is" else "{} CPU burners".format(report["burners"])
        print("-- {} ({} calls each, alternating blocks of {})".format(title, args.calls, BLOCK))
        for what in ("tools_call_ms", "resource_read_ms"):
            ours, theirs = report[phase]["sidecar"][what], report[phase]["sdk"][what]
            for pct in ("p50", "p95", "p99"):
                print(
                    "{:<17} {}  sidecar {:>8.3f} ms   SDK {:>8.3f} ms   {:>5.2f}x".format(
                        what[:-3], pct, ours[pct], theirs[pct], theirs[pct] / ours[pct]
                    )
                )
    fan = report["fanout"]
    print(
        "resources/updated to {} sessions: until the last p50 {} ms, max {} ms, lost {}".format(
            fan["sessions"], fan["until_last_ms"]["p50"], fan["until_last_ms"]["max"], fan["lost"]
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
