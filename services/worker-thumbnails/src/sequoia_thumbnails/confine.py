"""What the render server and its jobs do to themselves: no network, die with the parent, limits.

Every call here only ever narrows what the calling process may do, so they need no privilege and
nothing can undo them later: seccomp filters and `no_new_privs` are kept across fork and exec.
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
# without the `socket` call.
_NO_NETWORK_SYSCALLS = ("socket", "io_uring_setup")
_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


def deny_network() -> None:
    """Make every later `socket()` in this process and its descendants fail with EACCES."""
    syscall_filter = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
    for name in _NO_NETWORK_SYSCALLS:
        syscall_filter.add_rule(pyseccomp.ERRNO(errno.EACCES), name)
    syscall_filter.load()


def die_with_parent(sig: signal.Signals, parent_pid: int) -> None:
    """Have the kernel send `sig` to this process when its parent ends; exit now if it already has.

    libc's `prctl` through ctypes: the one call needs no binding. The parent check closes the race
    of a parent that died before the request was made (this process would then wait forever).
    """
    if _libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
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
