"""The sidecar child process: launch, wait for ``READY <port>``, drain output, stop, reap.

No pipe is ever left unread: stdout is read on a thread (READY, then drained), stderr goes to a
log file or is drained on a thread into a bounded ring buffer.
"""

import collections
import logging
import os
import re
import subprocess
import threading
import time

from ._errors import SidecarStartError
from ._winjob import KillOnCloseJob

log = logging.getLogger("mcp_sidecar.sidecar")

_READY = re.compile(rb"^READY (\d{1,5})\s*$")
_TAIL_LINES = 60
_MAX_LOG_LINE = 8192

# Exit codes from docs/ipc-protocol.md, for error messages.
EXIT_MEANINGS = {
    0: "shut down on request",
    1: "internal error (bad option, bind failed, ...)",
    2: "authentication refused or no token",
    3: "IPC connection lost or parent process gone",
}


class NotReady(Exception):
    """The sidecar exited or timed out before printing READY; args[0] says which."""


def describe_exit(code):
    if code is None:
        return "still running"
    if code < 0:
        return "killed by signal {}".format(-code)
    meaning = EXIT_MEANINGS.get(code)
    return "exit code {}{}".format(code, ": {}".format(meaning) if meaning else "")


class SidecarProcess(object):
    """One running sidecar. Threads: stdout watcher (READY, drain, reap), stderr drain."""

    def __init__(self, argv, env, log_file=None):
        self.argv = list(argv)
        self._log_path = None
        self._tail = collections.deque(maxlen=_TAIL_LINES)
        self._tail_lock = threading.Lock()
        self._ready = threading.Condition()
        self.port = None
        self._exited = False
        self._threads = []
        stderr = subprocess.PIPE
        log_handle = None
        if log_file is not None:
            self._log_path = os.fspath(log_file)
            log_handle = open(self._log_path, "ab")
            stderr = log_handle
        kwargs = {}
        if os.name == "nt":
            # No console window in GUI hosts; Ctrl-C in the host's console is the host's.
            kwargs["creationflags"] = (
                getattr(subprocess, "CREATE_NO_WINDOW", 0) | subprocess.CREATE_NEW_PROCESS_GROUP
            )
        else:
            # Ctrl-C goes to the host, which then shuts the sidecar down gracefully.
            kwargs["start_new_session"] = True
        try:
            self.proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                env=env,
                close_fds=True,
                **kwargs,
            )
        except OSError as exc:
            raise SidecarStartError("could not run {}: {}".format(self.argv[0], exc))
        finally:
            if log_handle is not None:
                log_handle.close()  # the child has its own copy
        self.pid = self.proc.pid
        # Windows: it dies with the host even when the host is killed hard (no-op elsewhere).
        self._job = KillOnCloseJob(self.proc._handle if os.name == "nt" else None)
        self._spawn(self._watch_stdout, "mcp-sidecar-stdout", self.proc.stdout)
        if self.proc.stderr is not None:
            self._spawn(self._drain_stderr, "mcp-sidecar-stderr", self.proc.stderr)

    def _spawn(self, target, name, stream):
        thread = threading.Thread(target=target, name=name)
        thread.daemon = True
        thread.start()
        self._threads.append((thread, stream))

    # --- output ------------------------------------------------------------------------------

    def _watch_stdout(self):
        stream = self.proc.stdout
        try:
            for line in iter(lambda: stream.readline(_MAX_LOG_LINE), b""):
                match = _READY.match(line) if self.port is None else None
                if match:
                    with self._ready:
                        self.port = int(match.group(1))
                        self._ready.notify_all()
                else:
                    self._remember(b"stdout: " + line)
        except (OSError, ValueError):
            pass
        # stdout closes when the sidecar exits: reap it now, so no zombie outlives it.
        try:
            self.proc.wait()
        finally:
            with self._ready:
                self._exited = True
                self._ready.notify_all()

    def _drain_stderr(self):
        stream = self.proc.stderr
        try:
            for line in iter(lambda: stream.readline(_MAX_LOG_LINE), b""):
                self._remember(line)
        except (OSError, ValueError):
            pass

    def _remember(self, line):
        text = line.decode("utf-8", "replace").rstrip("\r\n")
        with self._tail_lock:
            self._tail.append(text)
        log.debug("%s", text)

    def output_tail(self):
        """The last lines the sidecar wrote (from the log file when stderr goes there)."""
        with self._tail_lock:
            lines = list(self._tail)
        if self._log_path is not None:
            try:
                with open(self._log_path, "rb") as handle:
                    handle.seek(0, os.SEEK_END)
                    handle.seek(max(0, handle.tell() - 16384))
                    data = handle.read().decode("utf-8", "replace")
                lines += data.splitlines()[-_TAIL_LINES:]
            except OSError:
                pass
        return "\n".join(lines[-_TAIL_LINES:])

    # --- lifecycle ---------------------------------------------------------------------------

    def wait_ready(self, timeout, shown_timeout=None):
        """The port from ``READY <port>``, or raises NotReady(reason) if it exits or times out."""
        deadline = time.monotonic() + timeout
        with self._ready:
            while self.port is None and not self._exited:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._ready.wait(remaining)
            port = self.port
        if port is not None:
            return port
        if self._exited or self.proc.poll() is not None:
            self.wait(1.0)
            raise NotReady(
                "exited before it was ready ({})".format(describe_exit(self.proc.returncode))
            )
        shown = timeout if shown_timeout is None else shown_timeout
        raise NotReady("did not print READY within {:g} s".format(shown))

    def failure_message(self, reason, ipc=None):
        """``reason``, what the IPC endpoint saw, the command and the sidecar's last output
        (call after stop)."""
        message = "mcp-sidecar {}".format(reason)
        if ipc:
            message += "; {}".format(ipc)
        message += "\ncommand: {}".format(" ".join(self.argv))
        tail = self.output_tail()
        if tail:
            message += "\n--- sidecar output (last lines) ---\n" + tail
        return message

    @property
    def returncode(self):
        return self.proc.poll()

    def alive(self):
        return self.proc.poll() is None

    def wait(self, timeout=None):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout):
        """Waits ``timeout`` for a graceful exit, then terminates, then kills. Always reaps."""
        if self.wait(timeout) is None:
            log.warning("sidecar %s did not exit in %.1f s; terminating", self.pid, timeout)
            try:
                self.proc.terminate()
            except OSError:
                pass
            if self.wait(2.0) is None:
                log.warning("sidecar %s ignored terminate; killing", self.pid)
                try:
                    self.proc.kill()
                except OSError:
                    pass
                self.proc.wait()
        return self.proc.returncode

    def close(self, timeout=2.0):
        """Joins the output threads and closes the pipes and the job (call after stop)."""
        self._job.close()
        deadline = time.monotonic() + timeout
        for thread, stream in self._threads:
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))
            # Closing a pipe another thread still reads could block; leave it to that thread.
            if not thread.is_alive():
                try:
                    stream.close()
                except OSError:
                    pass
