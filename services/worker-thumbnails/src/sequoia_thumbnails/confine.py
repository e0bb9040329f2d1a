"""What the render server and its jobs do to themselves (no capability, no network, no tracing, die
with the parent, limits), and what the worker does so they cannot look into it.

Every call here only ever narrows what a process may do, so none needs a privilege and nothing can
undo them later: capabilities once dropped, seccomp filters and `no_new_privs` are kept across fork
and exec. libc's `prctl` and `capset` are called through ctypes: single calls that need no binding.
"""

from __future__ import annotations

import ctypes
import errno
import math
import os
import resource
import signal

import pyseccomp

# Sockets are refused outright, Unix ones included (Postgres and the container runtime listen on
# Unix sockets too); pipes, which rendering needs, are not sockets. io_uring could open sockets
# without the `socket` call. Tracing and cross-process memory access would reach into the worker.
_DENIED_SYSCALLS = ("socket", "io_uring_setup", "ptrace", "process_vm_readv", "process_vm_writev")
_PR_SET_PDEATHSIG = 1
_PR_SET_DUMPABLE = 4
_CAPABILITY_VERSION_3 = 0x20080522
_libc = ctypes.CDLL(None, use_errno=True)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _check(result: int, call: str) -> None:
    if result != 0:
        raise OSError(ctypes.get_errno(), f"{call} failed")


def drop_capabilities() -> None:
    """Give up every capability for good (a no-op for a non-root process, which holds none).

    Run as root, this still leaves uid 0 but without `CAP_SYS_PTRACE`, `CAP_DAC_OVERRIDE`, ...;
    with `no_new_privs` (set by `deny_network_and_tracing`), what it executes gains none back.
    """
    header = _CapHeader(_CAPABILITY_VERSION_3, 0)
    _check(_libc.capset(ctypes.byref(header), (_CapData * 2)()), "capset")


def deny_network_and_tracing() -> None:
    """Make every later `socket()`, `ptrace()` and cross-process memory read or write in this process
    and its descendants fail with EACCES."""
    syscall_filter = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
    for name in _DENIED_SYSCALLS:
        syscall_filter.add_rule(pyseccomp.ERRNO(errno.EACCES), name)
    syscall_filter.load()


def hide_from_other_processes() -> None:
    """Make this process (the worker, which holds the secrets) non-dumpable: other processes of its
    user can then neither read its `/proc/PID/environ` or `/proc/PID/mem` nor attach to it."""
    _check(_libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0), "prctl(PR_SET_DUMPABLE)")


def die_with_parent(sig: signal.Signals, parent_pid: int) -> None:
    """Have the kernel send `sig` to this process when its parent ends; exit now if it already has.

    The parent check closes the race of a parent that died before the request was made (this
    process would then wait forever).
    """
    _check(_libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")
    if os.getppid() != parent_pid:
        os._exit(0)


def data_size() -> int:
    """This process's current data segment (what `RLIMIT_DATA` counts), in bytes."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmData:"):
                return int(line.split()[1]) * 1024
    return 0


def limit_resources(cpu_seconds: float, memory_bytes: int | None) -> None:
    """`RLIMIT_CPU` (SIGXCPU at the limit, SIGKILL a second later) and, when given, `RLIMIT_DATA`
    at what the process already holds plus `memory_bytes`; children (ffmpeg) inherit both."""
    cpu = max(1, math.ceil(cpu_seconds))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    if memory_bytes:
        limit = data_size() + memory_bytes
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
