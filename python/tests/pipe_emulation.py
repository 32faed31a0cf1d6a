"""Off Windows: runs the host's named-pipe server code (``IpcServer`` with ``transport="pipe"``:
its accept loop, a thread per pending peer, eviction, dismissal on claim) over a stand-in for
``_winpipe.PipeListener`` whose streams are Unix sockets. Only the Win32 calls are replaced;
``_winpipe`` itself runs on Windows CI."""

import os
import shutil
import socket
import tempfile
import threading

_PATHS = {}  # pipe name -> the Unix socket standing in for it


class _Stream(object):
    """A socket with PipeStream's shutdown(): blocked reads end, writing still works."""

    def __init__(self, sock):
        self._sock = sock

    def settimeout(self, timeout):
        self._sock.settimeout(timeout)

    def recv(self, size):
        return self._sock.recv(size)

    def sendall(self, data):
        self._sock.sendall(data)

    def shutdown(self, how=None):
        self._sock.shutdown(socket.SHUT_RD)

    def close(self):
        self._sock.close()


class SocketPipeListener(object):
    """``PipeListener``'s interface: accept() → a connected stream or None once stopped."""

    def __init__(self, name):
        self.name = name
        self._dir = tempfile.mkdtemp(prefix="pipe-emulation-")
        self._path = os.path.join(self._dir, "pipe")
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(self._path)
        self._sock.listen(64)
        self._stopped = threading.Event()
        _PATHS[name] = self._path

    def accept(self):
        try:
            stream, _ = self._sock.accept()
        except OSError:
            return None
        if self._stopped.is_set():
            stream.close()
            return None
        return _Stream(stream)

    def stop(self, timeout=1.0):
        # Like the real one: when stop() returns, nobody can connect any more.
        self._stopped.set()
        _PATHS.pop(self.name, None)
        try:
            os.unlink(self._path)
        except OSError:
            pass
        try:
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes a blocked accept()
        except OSError:
            pass

    def close(self):
        self.stop()
        self._sock.close()
        shutil.rmtree(self._dir, ignore_errors=True)


def connect(name, timeout=10.0):
    path = _PATHS.get(name)
    if path is None:
        raise FileNotFoundError(2, "no such pipe", name)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.connect(path)
    return sock


def install(monkeypatch):
    """Makes ``transport="pipe"`` usable here for the test's duration."""
    from mcp_sidecar import _ipc, _winpipe

    real_check = _ipc.check_transport

    def check(transport):
        if transport != "pipe":
            real_check(transport)

    monkeypatch.setattr(_ipc, "check_transport", check)
    monkeypatch.setattr(_winpipe, "PipeListener", SocketPipeListener, raising=False)
    monkeypatch.setattr(_winpipe, "connect", connect, raising=False)
