"""Benchmarks for the sidecar, driven by the real Python host (run by `cargo xtask bench sidecar`).

Measures spawn -> READY latency, tools/call round trip (HTTP -> sidecar -> IPC -> Python handler
-> back), and the sidecar's resident memory idle and under 50 concurrent clients. Reports
numbers; asserts nothing.
"""

import argparse
import json
import os
import sys
import threading
import time

from mcp_sidecar import McpSidecar
from mcp_client import McpClient

STARTS = 50
CALLS = 1000
CLIENTS = 50
CALLS_PER_CLIENT = 20

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


def new_sidecar():
    sidecar = McpSidecar()
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


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--binary-size", type=int, required=True)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    report = {"binary_size_bytes": args.binary_size, "start": bench_start()}
    sidecar = new_sidecar()
    with sidecar:  # entering starts it
        time.sleep(0.2)  # let the runtime settle before reading idle memory
        report["round_trip"] = bench_round_trip(sidecar)
        report["memory"] = bench_memory(sidecar)

    if args.json:
        json.dump(report, sys.stdout, indent=2)
        print()
    else:
        start, rt, mem = report["start"], report["round_trip"], report["memory"]
        rows = [
            ("binary size (stripped)", "{:.2f} MB".format(args.binary_size / 1e6), "<= 4 MB"),
            ("spawn -> READY median", "{:.1f} ms".format(start["median_ms"]), "<= 50 ms"),
            ("spawn -> READY p95", "{:.1f} ms".format(start["p95_ms"]), ""),
            ("tools/call p50", "{:.2f} ms".format(rt["p50_ms"]), ""),
            ("tools/call p95", "{:.2f} ms".format(rt["p95_ms"]), "<= 5 ms"),
            ("RSS idle", "{:.1f} MiB".format(mem["idle_rss_mib"]), "<= 15 MB"),
            ("RSS peak, 50 clients", "{:.1f} MiB".format(mem["peak_rss_mib_50_clients"]), "<= 15 MB"),
            ("50-client errors", str(len(mem["errors"])), "0"),
        ]
        for name, value, goal in rows:
            print("{:<26} {:>12}   goal {}".format(name, value, goal))
        for error in mem["errors"][:10]:
            print("  error:", error)
    return 1 if report["memory"]["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
