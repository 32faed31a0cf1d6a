"""Many MCP clients at once: every answer arrives, to the right caller, with the right content."""

import random
import threading
import time

import pytest

from mcphttp import McpHttpClient

CLIENTS = 5
CALLS_PER_CLIENT = 10


@pytest.mark.parametrize("ipc", [None, "tcp"])
def test_fifty_concurrent_calls_from_several_sessions(make_sidecar, ipc):
    in_flight = [0]
    peak = [0]
    lock = threading.Lock()

    def tag(client: str, n: int) -> dict:
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        time.sleep(random.uniform(0.01, 0.1))  # finish out of order
        with lock:
            in_flight[0] -= 1
        return {"client": client, "n": n, "thread": threading.current_thread().name}

    sidecar = make_sidecar(tools={"tag": tag}, tool_timeout=10, ipc=ipc)
    sidecar.start(timeout=10)
    clients = []
    for c in range(CLIENTS):
        client = McpHttpClient(sidecar.url, timeout=20)
        client.initialize(name="client-{}".format(c))
        clients.append(client)
    assert len({client.session_id for client in clients}) == CLIENTS

    results, errors = {}, []
    barrier = threading.Barrier(CLIENTS * CALLS_PER_CLIENT)

    def call(c, n):
        try:
            barrier.wait(10)
            result = clients[c].call_tool("tag", {"client": "client-{}".format(c), "n": n})
            results[(c, n)] = result
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(repr(exc))

    threads = [
        threading.Thread(target=call, args=(c, n))
        for c in range(CLIENTS)
        for n in range(CALLS_PER_CLIENT)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    elapsed = time.monotonic() - started

    assert errors == []
    assert len(results) == CLIENTS * CALLS_PER_CLIENT
    for (c, n), result in results.items():
        assert result["isError"] is False
        assert result["structuredContent"]["client"] == "client-{}".format(c)
        assert result["structuredContent"]["n"] == n
    assert peak[0] > 1, "handlers never overlapped"
    assert elapsed < 0.1 * CLIENTS * CALLS_PER_CLIENT  # far below the serial worst case
