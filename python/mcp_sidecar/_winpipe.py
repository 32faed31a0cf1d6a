"""Windows named pipes for the IPC endpoint: ``pipe:\\\\.\\pipe\\mcp-sidecar-<32 hex>``.

The host creates the first instance (so nobody can squat the name), with a DACL that lets only
the current user open it or add instances, and refuses remote clients. Overlapped I/O comes from
``_winapi`` (as in ``multiprocessing.connection``), the security descriptor and events from
ctypes. ``PipeStream`` looks like a socket to ``_ipc`` (recv, sendall, settimeout, shutdown,
close). The name and SDDL helpers are portable, so they are tested everywhere.
"""

import errno
import logging
import os
import secrets
import socket
import threading

log = logging.getLogger("mcp_sidecar.ipc")

PIPE_PREFIX = "\\\\.\\pipe\\mcp-sidecar-"
_BUFFER = 65536
_PIPE_REJECT_REMOTE_CLIENTS = 0x00000008
_ERROR_PIPE_CONNECTED = 535
_ERROR_NO_DATA = 232
_ERROR_BROKEN_PIPE = 109
_ERROR_PIPE_NOT_CONNECTED = 233
_ERROR_PIPE_BUSY = 231
_ERROR_SEM_TIMEOUT = 121
_ERROR_FILE_NOT_FOUND = 2
_EOF_ERRORS = (_ERROR_BROKEN_PIPE, _ERROR_NO_DATA, _ERROR_PIPE_NOT_CONNECTED)


def new_pipe_name():
    """A fresh pipe path with a 128-bit random nonce."""
    return PIPE_PREFIX + secrets.token_hex(16)


def is_pipe_name(path):
    """True for the paths ``new_pipe_name`` makes (what ``--ipc pipe:`` may carry from us)."""
    nonce = path[len(PIPE_PREFIX) :]
    return (
        path.startswith(PIPE_PREFIX)
        and len(nonce) == 32
        and all(c in "0123456789abcdef" for c in nonce)
    )


def user_only_sddl(sid):
    """A protected DACL granting everything to ``sid`` and nothing to anyone else."""
    if not sid.startswith("S-1-") or not all(c.isdigit() or c in "S-" for c in sid):
        raise ValueError("not a string SID: {!r}".format(sid))
    return "D:P(A;;GA;;;{})".format(sid)


if os.name == "nt":
    import _winapi
    import ctypes
    from ctypes import wintypes

    _kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    _advapi32 = ctypes.WinDLL("advapi32", use_last_error=True)

    class _SecurityAttributes(ctypes.Structure):
        _fields_ = [
            ("nLength", wintypes.DWORD),
            ("lpSecurityDescriptor", ctypes.c_void_p),
            ("bInheritHandle", wintypes.BOOL),
        ]

    _kernel32.CreateEventW.restype = wintypes.HANDLE
    _kernel32.CreateEventW.argtypes = [ctypes.c_void_p, wintypes.BOOL, wintypes.BOOL, wintypes.LPCWSTR]
    _kernel32.SetEvent.argtypes = [wintypes.HANDLE]
    _kernel32.GetCurrentProcess.restype = wintypes.HANDLE
    _kernel32.LocalFree.argtypes = [ctypes.c_void_p]
    _kernel32.LocalFree.restype = ctypes.c_void_p
    _kernel32.CloseHandle.argtypes = [wintypes.HANDLE]
    _advapi32.OpenProcessToken.argtypes = [
        wintypes.HANDLE,
        wintypes.DWORD,
        ctypes.POINTER(wintypes.HANDLE),
    ]
    _advapi32.GetTokenInformation.argtypes = [
        wintypes.HANDLE,
        ctypes.c_int,
        ctypes.c_void_p,
        wintypes.DWORD,
        ctypes.POINTER(wintypes.DWORD),
    ]
    _advapi32.ConvertSidToStringSidW.argtypes = [ctypes.c_void_p, ctypes.POINTER(wintypes.LPWSTR)]
    _advapi32.ConvertStringSecurityDescriptorToSecurityDescriptorW.argtypes = [
        wintypes.LPCWSTR,
        wintypes.DWORD,
        ctypes.POINTER(ctypes.c_void_p),
        ctypes.c_void_p,
    ]

    def _check(ok, what):
        if not ok:
            raise ctypes.WinError(ctypes.get_last_error(), what)

    def current_user_sid():
        """This process's user SID as a string (S-1-5-21-...)."""
        token = wintypes.HANDLE()
        _check(
            _advapi32.OpenProcessToken(_kernel32.GetCurrentProcess(), 0x0008, ctypes.byref(token)),
            "OpenProcessToken",
        )
        try:
            needed = wintypes.DWORD()
            _advapi32.GetTokenInformation(token, 1, None, 0, ctypes.byref(needed))  # TokenUser
            buffer = ctypes.create_string_buffer(needed.value)
            _check(
                _advapi32.GetTokenInformation(token, 1, buffer, needed, ctypes.byref(needed)),
                "GetTokenInformation",
            )
            sid = ctypes.cast(buffer, ctypes.POINTER(ctypes.c_void_p))[0]  # TOKEN_USER.User.Sid
            text = wintypes.LPWSTR()
            _check(_advapi32.ConvertSidToStringSidW(sid, ctypes.byref(text)), "ConvertSidToStringSid")
            try:
                return text.value
            finally:
                _kernel32.LocalFree(text)
        finally:
            _kernel32.CloseHandle(token)

    class _UserOnly(object):
        """SECURITY_ATTRIBUTES for this user only; keep it alive while pipes are created."""

        def __init__(self):
            self._descriptor = ctypes.c_void_p()
            _check(
                _advapi32.ConvertStringSecurityDescriptorToSecurityDescriptorW(
                    user_only_sddl(current_user_sid()), 1, ctypes.byref(self._descriptor), None
                ),
                "ConvertStringSecurityDescriptorToSecurityDescriptor",
            )
            self.attributes = _SecurityAttributes(
                ctypes.sizeof(_SecurityAttributes), self._descriptor, False
            )
            self.address = ctypes.addressof(self.attributes)

        def free(self):
            if self._descriptor:
                _kernel32.LocalFree(self._descriptor)
                self._descriptor = ctypes.c_void_p()

    class _Event(object):
        """A manual-reset event: set() wakes every wait that includes it."""

        def __init__(self):
            self.handle = _kernel32.CreateEventW(None, True, False, None)
            _check(self.handle, "CreateEvent")

        def set(self):
            _kernel32.SetEvent(self.handle)

        def close(self):
            if self.handle:
                _kernel32.CloseHandle(self.handle)
                self.handle = None

    def _finish(ov, err, stop, timeout):
        """Waits for an overlapped operation; raises socket.timeout / OSError when cut short."""
        if err == _winapi.ERROR_IO_PENDING:
            ms = _winapi.INFINITE if timeout is None else max(0, int(timeout * 1000))
            stop_handle = None if stop is None else stop.handle  # None once the stream closed
            handles = [ov.event] if stop_handle is None else [ov.event, stop_handle]
            result = _winapi.WaitForMultipleObjects(handles, False, ms)
            if result != _winapi.WAIT_OBJECT_0:
                ov.cancel()
                try:
                    ov.GetOverlappedResult(True)
                except OSError:
                    pass
                if result == _winapi.WAIT_TIMEOUT:
                    raise socket.timeout("timed out")
                raise OSError("named pipe shut down")
        transferred, _ = ov.GetOverlappedResult(True)
        return transferred

    class PipeStream(object):
        """One connected pipe instance (either end), with a socket's interface."""

        def __init__(self, handle):
            self._handle = handle
            self._stop = _Event()
            self._timeout = None

        def settimeout(self, timeout):
            self._timeout = timeout

        def _live_handle(self):
            handle = self._handle
            if handle is None:
                raise OSError(errno.EBADF, "named pipe closed")
            return handle

        def recv(self, size):
            try:
                ov, err = _winapi.ReadFile(self._live_handle(), size, overlapped=True)
                _finish(ov, err, self._stop, self._timeout)
            except OSError as exc:
                if getattr(exc, "winerror", None) in _EOF_ERRORS:
                    return b""
                raise
            return ov.getbuffer()

        def sendall(self, data):
            view = memoryview(data)
            while view:
                ov, err = _winapi.WriteFile(self._live_handle(), view, overlapped=True)
                written = _finish(ov, err, self._stop, self._timeout)
                view = view[written:]

        def shutdown(self, how=None):
            """Wakes every blocked recv/sendall of this stream; they fail from now on."""
            self._stop.set()

        def close(self):
            handle, self._handle = self._handle, None
            if handle is not None:
                self._stop.set()
                _winapi.CloseHandle(handle)
                self._stop.close()

    class PipeListener(object):
        """Creates the pipe's instances; ``accept()`` hands out each connected one."""

        def __init__(self, name):
            self.name = name
            self._security = _UserOnly()
            self._stop = _Event()
            self._lock = threading.Lock()
            self._quiet = threading.Event()  # set once no instance listens any more
            try:
                self._spare = self._instance(first=True)
            except BaseException:
                self._security.free()
                self._stop.close()
                raise

        def _instance(self, first=False):
            open_mode = _winapi.PIPE_ACCESS_DUPLEX | _winapi.FILE_FLAG_OVERLAPPED
            if first:  # fails if anyone already holds this name
                open_mode |= _winapi.FILE_FLAG_FIRST_PIPE_INSTANCE
            return _winapi.CreateNamedPipe(
                self.name,
                open_mode,
                _winapi.PIPE_WAIT | _PIPE_REJECT_REMOTE_CLIENTS,  # byte type, byte read mode
                _winapi.PIPE_UNLIMITED_INSTANCES,
                _BUFFER,
                _BUFFER,
                0,
                self._security.address,
            )

        def accept(self):
            """The next connected client as a PipeStream, or None once stop() was called."""
            try:
                return self._accept()
            except BaseException:
                self._close_spare()
                raise

        def _accept(self):
            while True:
                with self._lock:
                    handle = self._spare
                if handle is None:
                    return None
                try:
                    ov = _winapi.ConnectNamedPipe(handle, overlapped=True)
                    _finish(ov, _winapi.ERROR_IO_PENDING, self._stop, None)
                except OSError as exc:
                    if self._stopped() or getattr(exc, "winerror", None) != _ERROR_NO_DATA:
                        if not self._stopped():
                            log.warning("named pipe %s stops listening: %s", self.name, exc)
                        self._close_spare()  # nobody may connect to it once we stop
                        return None
                    # The client came and went before we saw it: a new instance replaces it.
                    self._replace_spare()
                    _winapi.CloseHandle(handle)
                    continue
                try:
                    self._replace_spare()  # a fresh instance listens before this one is handed out
                except BaseException:
                    _winapi.CloseHandle(handle)
                    raise
                return PipeStream(handle)

        def _stopped(self):
            return _winapi.WaitForSingleObject(self._stop.handle, 0) == _winapi.WAIT_OBJECT_0

        def _replace_spare(self):
            with self._lock:
                self._spare = None
                if not self._stopped():
                    self._spare = self._instance()
            if self._spare is None:
                self._quiet.set()

        def _close_spare(self):
            with self._lock:
                handle, self._spare = self._spare, None
            if handle is not None:
                _winapi.CloseHandle(handle)
            self._quiet.set()

        def stop(self, timeout=1.0):
            """No more clients: accept() closes the listening instance and returns None. Waits
            (from another thread than accept's) until nobody can connect any more."""
            self._stop.set()
            self._quiet.wait(timeout)

        def close(self):
            """After the accept thread has returned: frees everything."""
            self._stop.set()
            self._close_spare()
            self._security.free()
            self._stop.close()

    def connect(name, timeout=10.0):
        """The client end (tests, the fake sidecar): opens ``name``, retrying while it is busy."""
        import time

        deadline = time.monotonic() + timeout
        while True:
            try:
                handle = _winapi.CreateFile(
                    name,
                    _winapi.GENERIC_READ | _winapi.GENERIC_WRITE,
                    0,
                    _winapi.NULL,
                    _winapi.OPEN_EXISTING,
                    _winapi.FILE_FLAG_OVERLAPPED,
                    _winapi.NULL,
                )
                return PipeStream(handle)
            except OSError as exc:
                if exc.winerror not in (_ERROR_PIPE_BUSY, _ERROR_SEM_TIMEOUT) or (
                    time.monotonic() > deadline
                ):
                    raise
            time.sleep(0.01)
