"""Where host code runs (tool handlers, resource readers, prompt renderers, completions): one
thread per call, or queued for the host's main thread."""

import logging
import queue
import threading
import time

from . import _jsonrpc as rpc
from ._tools import describe_exception

log = logging.getLogger("mcp_sidecar.calls")

CALL_MODES = ("thread", "main")


class Call(object):
    """One request waiting to run: ``run()`` gives its result; ``reply`` answers the sidecar.

    ``name`` says what runs (for logs and thread names); ``on_done`` runs after the answer.
    """

    __slots__ = ("name", "run", "reply", "received", "on_done")

    def __init__(self, name, run, reply, on_done=None):
        self.name = name
        self.run = run
        self.reply = reply
        self.on_done = on_done
        self.received = time.monotonic()


def execute(call):
    """Runs the call and answers the sidecar; never raises an Exception."""
    try:
        _execute(call)
    finally:
        if call.on_done is not None:
            call.on_done()


def _execute(call):
    try:
        result = call.run()
    except rpc.RpcError as exc:
        call.reply.error(exc)
        return
    except Exception as exc:  # a reader or renderer raised (tools turn theirs into RpcError)
        log.info("%s raised", call.name, exc_info=True)
        call.reply.error(rpc.RpcError(rpc.HANDLER_ERROR, describe_exception(exc)))
        return
    except BaseException as exc:
        # KeyboardInterrupt/SystemExit in a handler: answer, then let it propagate.
        call.reply.error(rpc.RpcError(rpc.HANDLER_ERROR, describe_exception(exc)))
        raise
    try:
        call.reply.result(result)
    except ValueError as exc:  # too large for the IPC line cap, or not strict JSON
        call.reply.error(rpc.RpcError(rpc.HANDLER_ERROR, describe_exception(exc)))


class ThreadExecutor(object):
    """Each call on its own daemon thread, so a hung handler never blocks the others."""

    mode = "thread"

    def wake(self):
        pass

    def __init__(self):
        self._threads = set()
        self._lock = threading.Lock()

    def submit(self, call):
        thread = threading.Thread(
            target=self._run, args=(call,), name="mcp-sidecar-call-" + call.name
        )
        thread.daemon = True
        with self._lock:
            self._threads.add(thread)
        thread.start()

    def _run(self, call):
        try:
            execute(call)
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())

    def close(self, timeout=1.0):
        """Waits up to ``timeout`` for running handlers; a hung one is left to finish alone."""
        deadline = time.monotonic() + timeout
        current = threading.current_thread()
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            if thread is not current:
                thread.join(max(0.0, deadline - time.monotonic()))


class MainThreadExecutor(object):
    """Queues calls; ``process_pending()`` runs them on whichever thread calls it."""

    mode = "main"

    def __init__(self, stale_after, peer_alive=None):
        self._queue = queue.Queue()
        # The process may be dead before its socket reports EOF; ask both.
        self._peer_alive = peer_alive or (lambda: True)
        # The sidecar answers "timeout" to the client after this; running later would surprise.
        self._stale_after = stale_after
        self._closed = False

    def submit(self, call):
        if self._closed:
            call.reply.error(rpc.RpcError(rpc.INTERNAL_ERROR, "the host is shutting down"))
            return
        self._queue.put(call)

    def process_pending(self, timeout=0.0, max_calls=None):
        processed = 0
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        while max_calls is None or processed < max_calls:
            try:
                if processed == 0 and (deadline is None or deadline > time.monotonic()):
                    wait = None if deadline is None else deadline - time.monotonic()
                    call = self._queue.get(timeout=wait)
                else:
                    call = self._queue.get_nowait()
            except queue.Empty:
                break
            if call is None:  # close() woke us
                break
            if not call.reply.connection_open or not self._peer_alive():
                log.info("dropping call to %s: the sidecar is gone", call.name)
                continue
            age = time.monotonic() - call.received
            if self._stale_after is not None and age > self._stale_after:
                log.warning(
                    "dropping call to %s: queued %.1f s, past the tool timeout", call.name, age
                )
                call.reply.error(
                    rpc.RpcError(
                        rpc.TIMEOUT,
                        "{} was not run within the tool timeout".format(call.name),
                    )
                )
                continue
            execute(call)
            processed += 1
        return processed

    def wake(self):
        """Ends a process_pending() that waits for a call which will never come."""
        self._queue.put(None)

    def close(self, timeout=1.0):
        self._closed = True
        while True:
            try:
                call = self._queue.get_nowait()
            except queue.Empty:
                break
            if call is not None:
                call.reply.error(rpc.RpcError(rpc.INTERNAL_ERROR, "the host is shutting down"))
        self._queue.put(None)


def make_executor(call_mode, tool_timeout, peer_alive=None):
    if call_mode == "thread":
        return ThreadExecutor()
    if call_mode == "main":
        return MainThreadExecutor(stale_after=tool_timeout, peer_alive=peer_alive)
    raise ValueError("call_mode must be 'thread' or 'main', not {!r}".format(call_mode))
