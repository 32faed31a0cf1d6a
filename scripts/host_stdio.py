"""The stdio contract of the host scripts that `xtask/src/test/host.rs` runs: print one JSON line
``{"url": ..., "pid": ...}`` once the sidecar is ready, then serve until standard input closes."""

import json
import sys
import threading


def serve_until_stdin_closes(sidecar, pump_timeout=None):
    """Serves the started `sidecar` until the runner closes stdin; False if the sidecar died first.

    `pump_timeout`: run queued calls with ``process_pending()`` at that interval (call_mode="main");
    None: calls run on the sidecar's own threads and this only waits.
    """
    sys.stdout.write(json.dumps({"url": sidecar.url, "pid": sidecar.pid}) + "\n")
    sys.stdout.flush()
    stdin_closed = threading.Event()

    def watch_stdin():
        sys.stdin.read()
        stdin_closed.set()

    threading.Thread(target=watch_stdin, name="stdin", daemon=True).start()
    while not stdin_closed.is_set():
        if not sidecar.is_alive():
            return False
        if pump_timeout is None:
            stdin_closed.wait(0.2)
        else:
            sidecar.process_pending(timeout=pump_timeout)
    return True
