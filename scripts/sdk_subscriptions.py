"""Resource subscriptions end to end with the official Python SDK client (PyPI ``mcp`` 2.x).

Run by ``cargo xtask test`` (suite ``subscriptions``) in a CPython 3.13 venv holding ``mcp``;
the host is this process (mcp_sidecar from the source tree, handlers on threads). Two SDK
sessions, only A subscribed to a resource: every ``notify_resource_updated`` reaches A within
100 ms and never B; after A unsubscribes nothing more reaches A; registering and removing a
resource sends ``list_changed`` to both. Closing a session (DELETE) must not make the SDK log
"Session termination failed". Prints one JSON line; exit 0 when every check held.

    python scripts/sdk_subscriptions.py
"""

import json
import logging
import sys
import time
import warnings
from contextlib import AsyncExitStack

import anyio
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

import mcp_sidecar

WATCHED = "test://watched"
ADDED = "test://added-later"
ROUNDS = 20
DEADLINE_S = 0.100
QUIET_S = 0.3


class Inbox(object):
    """The notifications one session received, with their arrival times."""

    def __init__(self, name):
        self.name = name
        self.received = []
        self.changed = anyio.Event()

    async def handle(self, message):
        if isinstance(message, Exception):
            self.received.append((time.monotonic(), "error", repr(message)))
        else:
            uri = getattr(message.params, "uri", None) if message.params is not None else None
            self.received.append((time.monotonic(), message.method, uri))
        self.changed.set()

    def count(self, method, uri=None):
        return sum(1 for _, m, u in self.received if m == method and (uri is None or u == uri))

    async def wait_for(self, method, uri, count, timeout):
        """The arrival time of the count-th such notification, or None after timeout."""
        with anyio.move_on_after(timeout):
            while self.count(method, uri) < count:
                self.changed = anyio.Event()
                await self.changed.wait()
            return [t for t, m, u in self.received if m == method and (uri is None or u == uri)][
                count - 1
            ]
        return None


class TerminationLog(logging.Handler):
    def __init__(self):
        logging.Handler.__init__(self, logging.WARNING)
        self.lines = []

    def emit(self, record):
        message = record.getMessage()
        if "Session termination failed" in message:
            self.lines.append(message)


async def open_session(stack, url, inbox):
    """An initialized SDK session and the server's capabilities."""
    streams = await stack.enter_async_context(streamable_http_client(url))
    session = await stack.enter_async_context(
        ClientSession(streams[0], streams[1], message_handler=inbox.handle)
    )
    initialized = await session.initialize()
    return session, initialized.capabilities


async def scenario(sidecar, report, problems):
    updated = "notifications/resources/updated"
    list_changed = "notifications/resources/list_changed"
    a, b = Inbox("A"), Inbox("B")
    async with AsyncExitStack() as stack:
        session_a, capabilities = await open_session(stack, sidecar.url, a)
        session_b, _ = await open_session(stack, sidecar.url, b)
        subscribe = bool(capabilities.resources and capabilities.resources.subscribe)
        report["advertises_subscribe"] = subscribe
        if not subscribe:
            problems.append("initialize does not advertise resources.subscribe")
        await session_a.subscribe_resource(WATCHED)
        read = await session_b.read_resource(WATCHED)
        report["read_by_b"] = read.contents[0].text

        # The first push also proves A's GET stream is up; it is not timed.
        sidecar.notify_resource_updated(WATCHED)
        if await a.wait_for(updated, WATCHED, 1, 5.0) is None:
            problems.append("the first resources/updated never reached the subscriber")
            return
        latencies = []
        for n in range(2, ROUNDS + 2):
            sent = time.monotonic()
            sidecar.notify_resource_updated(WATCHED)
            arrived = await a.wait_for(updated, WATCHED, n, 2.0)
            if arrived is None:
                problems.append("resources/updated #{} never reached the subscriber".format(n))
                break
            latencies.append(arrived - sent)
        report["updated_ms"] = sorted(round(x * 1000, 2) for x in latencies)
        late = [x for x in latencies if x > DEADLINE_S]
        if late:
            problems.append(
                "{} of {} updates took over {} ms (max {:.1f} ms)".format(
                    len(late), len(latencies), DEADLINE_S * 1000, max(late) * 1000
                )
            )
        await anyio.sleep(QUIET_S)
        if b.count(updated):
            problems.append("the unsubscribed session got {} resources/updated".format(b.count(updated)))

        await session_a.unsubscribe_resource(WATCHED)
        before = a.count(updated)
        sidecar.notify_resource_updated(WATCHED)
        await anyio.sleep(QUIET_S)
        if a.count(updated) != before:
            problems.append("resources/updated reached A after it unsubscribed")

        sidecar.register_resource(ADDED, lambda: "added", name="added", mime_type="text/plain")
        for inbox in (a, b):
            if await inbox.wait_for(list_changed, None, 1, 2.0) is None:
                problems.append("registering a resource sent no list_changed to {}".format(inbox.name))
        listed = sorted(r.uri for r in (await session_b.list_resources()).resources)
        report["listed_after_register"] = [str(u) for u in listed]
        if ADDED not in [str(u) for u in listed]:
            problems.append("resources/list lacks {} after its registration".format(ADDED))
        sidecar.unregister_resource(ADDED)
        for inbox in (a, b):
            if await inbox.wait_for(list_changed, None, 2, 2.0) is None:
                problems.append("removing a resource sent no list_changed to {}".format(inbox.name))
        if b.count(updated):
            problems.append("B got resources/updated at some point")
        report["a_received"] = a.count(updated)
        report["b_received"] = b.count(updated)


def main():
    # The SDK flags subscribe as removed in the 2026-07-28 revision; this session negotiates an
    # earlier one, where it is the way.
    warnings.filterwarnings("ignore", message="resources/(un)?subscribe is removed")
    termination = TerminationLog()
    logging.getLogger().addHandler(termination)
    sidecar = mcp_sidecar.McpSidecar(tool_timeout=10.0)
    sidecar.register_resource(
        WATCHED, lambda: "watched content", name="watched", mime_type="text/plain"
    )
    report = {}
    problems = []
    sidecar.start(timeout=20.0)
    try:
        anyio.run(scenario, sidecar, report, problems)
    finally:
        sidecar.stop(timeout=10.0)
    if termination.lines:
        problems.append("the SDK logged: " + "; ".join(termination.lines))
    report["problems"] = problems
    sys.stdout.write(json.dumps(report) + "\n")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
