"""Windows: the sidecar in a Job Object that kills it when the host's last handle closes.

The parent watch (``--parent-pid``) needs the sidecar to notice; a job needs nothing: when the
host dies, however hard, Windows closes its handles and KILL_ON_JOB_CLOSE ends the sidecar.
"""

import logging
import os

log = logging.getLogger("mcp_sidecar.sidecar")

_JOB_OBJECT_EXTENDED_LIMIT_INFORMATION = 9
_JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE = 0x00002000

if os.name == "nt":
    import ctypes
    from ctypes import wintypes

    _kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)

    class _IoCounters(ctypes.Structure):
        _fields_ = [
            (name, ctypes.c_ulonglong)
            for name in (
                "ReadOperationCount",
                "WriteOperationCount",
                "OtherOperationCount",
                "ReadTransferCount",
                "WriteTransferCount",
                "OtherTransferCount",
            )
        ]

    class _BasicLimits(ctypes.Structure):
        _fields_ = [
            ("PerProcessUserTimeLimit", ctypes.c_longlong),
            ("PerJobUserTimeLimit", ctypes.c_longlong),
            ("LimitFlags", wintypes.DWORD),
            ("MinimumWorkingSetSize", ctypes.c_size_t),
            ("MaximumWorkingSetSize", ctypes.c_size_t),
            ("ActiveProcessLimit", wintypes.DWORD),
            ("Affinity", ctypes.c_size_t),
            ("PriorityClass", wintypes.DWORD),
            ("SchedulingClass", wintypes.DWORD),
        ]

    class _ExtendedLimits(ctypes.Structure):
        _fields_ = [
            ("BasicLimitInformation", _BasicLimits),
            ("IoInfo", _IoCounters),
            ("ProcessMemoryLimit", ctypes.c_size_t),
            ("JobMemoryLimit", ctypes.c_size_t),
            ("PeakProcessMemoryUsed", ctypes.c_size_t),
            ("PeakJobMemoryUsed", ctypes.c_size_t),
        ]

    _kernel32.CreateJobObjectW.restype = wintypes.HANDLE
    _kernel32.CreateJobObjectW.argtypes = [ctypes.c_void_p, wintypes.LPCWSTR]
    _kernel32.SetInformationJobObject.argtypes = [
        wintypes.HANDLE,
        ctypes.c_int,
        ctypes.c_void_p,
        wintypes.DWORD,
    ]
    _kernel32.AssignProcessToJobObject.argtypes = [wintypes.HANDLE, wintypes.HANDLE]
    _kernel32.CloseHandle.argtypes = [wintypes.HANDLE]


class KillOnCloseJob(object):
    """Holds the job handle for as long as the sidecar should live (closing it kills the job)."""

    def __init__(self, process_handle):
        self.handle = None
        if os.name != "nt":
            return
        handle = _kernel32.CreateJobObjectW(None, None)  # not inheritable: only we hold it
        if not handle:
            log.warning("no job object for the sidecar: %s", ctypes.WinError(ctypes.get_last_error()))
            return
        limits = _ExtendedLimits()
        limits.BasicLimitInformation.LimitFlags = _JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
        ok = _kernel32.SetInformationJobObject(
            handle,
            _JOB_OBJECT_EXTENDED_LIMIT_INFORMATION,
            ctypes.byref(limits),
            ctypes.sizeof(limits),
        ) and _kernel32.AssignProcessToJobObject(handle, int(process_handle))
        if not ok:
            # E.g. a host inside a job that forbids nesting (pre-Windows 8): the watch remains.
            log.warning(
                "sidecar not placed in a kill-on-close job: %s",
                ctypes.WinError(ctypes.get_last_error()),
            )
            _kernel32.CloseHandle(handle)
            return
        self.handle = handle

    def close(self):
        """Kills whatever still runs in the job (nothing, after a clean stop)."""
        handle, self.handle = self.handle, None
        if handle is not None:
            _kernel32.CloseHandle(handle)
