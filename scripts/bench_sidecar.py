"""Benchmarks for the sidecar, driven by the real Python host (run by `cargo xtask bench sidecar`).

Measures spawn -> READY latency, tools/call round trip (HTTP -> sidecar -> IPC -> Python handler
-> back) per IPC transport, the sidecar's resident memory idle, under 50 concurrent clients and
with 2,000 abandoned sessions, and its descriptors with 200 slow connections. Reports numbers;
asserts nothing.
"""

import argparse
import http.client
import json
import os
import socket
import sys
import threading
import time

from mcp_sidecar import McpSidecar
from mcp_client import McpClient

STARTS = 50
CALLS = 1000
CLIENTS = 50
CALLS_PER_CLIENT = 20
ABANDONED_SESSIONS = 2000
SESSION_IDLE_TIMEOUT_S = 5
SLOW_CONNECTIONS = 200
HEADER_TIMEOUT_S = 3

ECHO_SCHEMA = {
    "type": "object",
    "properties": {"text": {"type": "string"}},
    "required": ["text"],
}


def echo(text):
    return text


def percentile(samples, pct):
    ordered = sorted(samples)
    index = min(len(ordered) - 1, int(round(pct / 100.0 * (len(ordered) - 1))))
    return ordered[index]


def rss_kib(pid):
    """VmRSS of a process from /proc (Linux only)."""
    with open("/proc/{}/status".format(pid)) as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS for pid {}".format(pid))


def open_fds(pid):
    return len(os.listdir("/proc/{}/fd".format(pid)))


def transports():
    """The IPC transports the host offers on this OS."""
    return ["pipe", "tcp"] if os.name == "nt" else ["unix", "tcp"]


def new_sidecar(**options):
    sidecar = McpSidecar(**options)
    sidecar.register_tool("echo", echo, "Echo the text back", ECHO_SCHEMA)
    return sidecar


def bench_start():
    latencies = []
    for _ in range(STARTS):
        sidecar = new_sidecar()
        began = time.perf_counter()
        sidecar.start(timeout=10.0)
        latencies.append((time.perf_counter() - began) * 1000.0)
        sidecar.stop()
    return {
        "starts": STARTS,
        "median_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
    }


def bench_round_trips():
    results = {}
    for ipc in transports():
        with new_sidecar(ipc=ipc) as sidecar:
            time.sleep(0.2)
            results[ipc] = bench_round_trip(sidecar)
    return results


def bench_round_trip(sidecar):
    client = McpClient(sidecar.url)
    client.initialize()
    for i in range(20):  # warm up the connection and the handler thread path
        client.call_tool("echo", {"text": str(i)})
    latencies = []
    for i in range(CALLS):
        began = time.perf_counter()
        result = client.call_tool("echo", {"text": str(i)})
        latencies.append((time.perf_counter() - began) * 1000.0)
        if result["content"][0]["text"] != str(i):
            raise RuntimeError("wrong answer for call {}: {!r}".format(i, result))
    client.close()
    return {
        "calls": CALLS,
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
    }


def bench_memory(sidecar):
    idle = rss_kib(sidecar.pid)
    peak = [idle]
    errors = []
    stop_sampling = threading.Event()

    def sample():
        while not stop_sampling.is_set():
            peak[0] = max(peak[0], rss_kib(sidecar.pid))
            time.sleep(0.005)

    def client_thread(n):
        try:
            with McpClient(sidecar.url) as client:
                client.initialize()
                for i in range(CALLS_PER_CLIENT):
                    text = "{}-{}".format(n, i)
                    got = client.call_tool("echo", {"text": text})["content"][0]["text"]
                    if got != text:
                        errors.append("client {} got {!r} for {!r}".format(n, got, text))
        except Exception as exc:  # a lost client is a result to report, not a crash
            errors.append("client {}: {!r}".format(n, exc))

    sampler = threading.Thread(target=sample)
    sampler.start()
    threads = [threading.Thread(target=client_thread, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stop_sampling.set()
    sampler.join()
    return {
        "idle_rss_mib": idle / 1024.0,
        "peak_rss_mib_50_clients": peak[0] / 1024.0,
        "clients": CLIENTS,
        "calls": CLIENTS * CALLS_PER_CLIENT,
        "errors": errors,
    }


def initialize_and_abandon(port):
    """One `initialize` on a fresh connection, never DELETEd: what a careless or hostile client does."""
    body = json.dumps({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "abandon", "version": "0"}}})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", "/mcp", body, {"Content-Type": "application/json",
                                         "Accept": "application/json, text/event-stream"})
    response = conn.getresponse()
    response.read()
    conn.close()
    return response.status


def bench_abandoned_sessions():
    idle_arg = "{}s".format(SESSION_IDLE_TIMEOUT_S)
    with new_sidecar(extra_args=["--session-idle-timeout", idle_arg]) as sidecar:
        time.sleep(0.2)
        idle = rss_kib(sidecar.pid)
        statuses = {}
        began = time.perf_counter()
        peak = idle
        for i in range(ABANDONED_SESSIONS):
            status = initialize_and_abandon(sidecar.bound_port)
            statuses[status] = statuses.get(status, 0) + 1
            if i % 100 == 0:
                peak = max(peak, rss_kib(sidecar.pid))
        took = time.perf_counter() - began
        peak = max(peak, rss_kib(sidecar.pid))
        time.sleep(SESSION_IDLE_TIMEOUT_S + 3)
        after = rss_kib(sidecar.pid)
    return {
        "sessions": ABANDONED_SESSIONS,
        "per_second": ABANDONED_SESSIONS / took,
        "statuses": statuses,
        "idle_rss_mib": idle / 1024.0,
        "peak_rss_mib": peak / 1024.0,
        "after_idle_timeout_rss_mib": after / 1024.0,
    }


def bench_slow_connections():
    timeout_arg = "{}s".format(HEADER_TIMEOUT_S)
    with new_sidecar(extra_args=["--header-timeout", timeout_arg]) as sidecar:
        time.sleep(0.2)
        before = open_fds(sidecar.pid)
        peers = []
        began = time.perf_counter()
        for i in range(SLOW_CONNECTIONS):
            peer = socket.create_connection(("127.0.0.1", sidecar.bound_port))
            if i % 2:
                peer.sendall(b"POST /mcp HTTP/1.1\r\n")  # half trickle a header, half say nothing
            peers.append(peer)
        time.sleep(0.3)
        held = open_fds(sidecar.pid)
        while open_fds(sidecar.pid) > before + 2 and time.perf_counter() - began < 60:
            for i, peer in enumerate(peers):
                if i % 2:
                    try:
                        peer.sendall(b"X-Slow: 1\r\n")
                    except OSError:
                        pass
            time.sleep(0.25)
        closed_after = time.perf_counter() - began
        after = open_fds(sidecar.pid)
        for peer in peers:
            peer.close()
    return {
        "connections": SLOW_CONNECTIONS,
        "header_timeout_s": HEADER_TIMEOUT_S,
        "fds_before": before,
        "fds_held": held,
        "fds_after": after,
        "all_closed_after_s": closed_after,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--binary-size", type=int, required=True)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    report = {"binary_size_bytes": args.binary_size, "start": bench_start()}
    report["round_trip"] = bench_round_trips()
    sidecar = new_sidecar()
    with sidecar:  # entering starts it
        time.sleep(0.2)  # let the runtime settle before reading idle memory
        report["memory"] = bench_memory(sidecar)
    report["abandoned_sessions"] = bench_abandoned_sessions()
    report["slow_connections"] = bench_slow_connections()

    if args.json:
        json.dump(report, sys.stdout, indent=2)
        print()
    else:
        start, mem = report["start"], report["memory"]
        ab, slow = report["abandoned_sessions"], report["slow_connections"]
        rows = [
            ("binary size (stripped)", "{:.2f} MB".format(args.binary_size / 1e6), "<= 4 MB"),
            ("spawn -> READY median", "{:.1f} ms".format(start["median_ms"]), "<= 50 ms"),
            ("spawn -> READY p95", "{:.1f} ms".format(start["p95_ms"]), ""),
        ]
        for ipc, rt in report["round_trip"].items():
            rows.append(("tools/call p50, " + ipc, "{:.2f} ms".format(rt["p50_ms"]), ""))
            rows.append(("tools/call p95, " + ipc, "{:.2f} ms".format(rt["p95_ms"]), "<= 5 ms"))
        rows += [
            ("RSS idle", "{:.1f} MiB".format(mem["idle_rss_mib"]), "<= 15 MB"),
            ("RSS peak, 50 clients", "{:.1f} MiB".format(mem["peak_rss_mib_50_clients"]), "<= 15 MB"),
            ("50-client errors", str(len(mem["errors"])), "0"),
            ("RSS, 2,000 abandoned sess.", "{:.1f} MiB".format(ab["peak_rss_mib"]), "<= 15 MB"),
            ("  ... after idle timeout", "{:.1f} MiB".format(ab["after_idle_timeout_rss_mib"]),
             "near idle ({:.1f} MiB)".format(ab["idle_rss_mib"])),
            ("  initialize answers", " ".join("{}x{}".format(n, s) for s, n in sorted(ab["statuses"].items())), ""),
            ("fds, 200 slow connections", "{} -> {}".format(slow["fds_before"], slow["fds_held"]), ""),
            ("  ... all closed after", "{:.1f} s".format(slow["all_closed_after_s"]),
             "header timeout {} s".format(slow["header_timeout_s"])),
        ]
        for name, value, goal in rows:
            print("{:<28} {:>12}   goal {}".format(name, value, goal))
        for error in mem["errors"][:10]:
            print("  error:", error)
    return 1 if report["memory"]["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
