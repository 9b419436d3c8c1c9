"""The copy-on-write benchmark workload (bench_all.ts, shapes "cow" and "scaling").

One parent allocates a large bytearray and writes every page of it, then forks
N children; each rewrites a different 2% of the array (one byte per page), so
those pages become private to it, and the rest stays shared by all of them, as
in a pre-forking server. Prints one line, a JSON array of every PID (parent
first), once all children are ready, then waits to be killed. The children die
with the parent (PR_SET_PDEATHSIG), so killing the parent kills the workload.

Usage: python3 cow_workload.py [children] [MiB]   (default 32 2048)
"""

import ctypes
import json
import os
import signal
import sys
import time

PAGE = os.sysconf("SC_PAGE_SIZE")
PR_SET_PDEATHSIG = 1


def die_with(parent: int) -> None:
    """Makes this child die when `parent` does, even if the parent is SIGKILLed."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl")
    except (OSError, AttributeError):
        # No prctl through ctypes: watch the parent instead (slower to notice).
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)
    # The parent may have died before prctl took effect.
    if os.getppid() != parent:
        os._exit(1)


def rewrite(buf: bytearray, start: int, length: int, value: int) -> None:
    """Writes `value` into the first byte of every page of buf[start:start+length]."""
    pages = len(range(start, start + length, PAGE))
    # One slice assignment: a Python loop over 0.5 M pages would take seconds.
    buf[start : start + length : PAGE] = bytes([value]) * pages


def child(buf: bytearray, index: int, parent: int, ready: int) -> None:
    """A child's life: own 2% of the array, say so, wait to be killed."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    die_with(parent)
    size = len(buf)
    share = size * 2 // 100 // PAGE * PAGE
    start = (index * share) % (size - share + 1) // PAGE * PAGE
    rewrite(buf, start, share, 2)
    os.write(ready, b"x")
    while True:
        signal.pause()


def main() -> int:
    children = int(sys.argv[1]) if len(sys.argv) > 1 else 32
    size = (int(sys.argv[2]) if len(sys.argv) > 2 else 2048) << 20
    if children < 1 or size < 50 * PAGE:
        print("cow_workload: bad arguments", file=sys.stderr)
        return 2
    buf = bytearray(size)
    # Non-zero bytes: a page that is only read would map the shared zero page.
    rewrite(buf, 0, size, 1)
    parent = os.getpid()
    read_end, write_end = os.pipe()
    pids: list[int] = []

    def child_died(_signum: int, _frame: object) -> None:
        raise ChildProcessError("a child died before it was ready")

    # A child that dies early would leave the parent waiting for its byte forever.
    signal.signal(signal.SIGCHLD, child_died)
    try:
        for index in range(children):
            pid = os.fork()
            if pid == 0:
                os.close(read_end)
                child(buf, index, parent, write_end)
                os._exit(0)
            pids.append(pid)
        os.close(write_end)
        got = 0
        while got < children:
            data = os.read(read_end, children - got)
            if not data:
                raise ChildProcessError("every child died before it was ready")
            got += len(data)
    except ChildProcessError as error:
        print(f"cow_workload: {error}", file=sys.stderr)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return 1
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    print(json.dumps([parent, *pids], separators=(",", ":")), flush=True)
    while True:
        signal.pause()


if __name__ == "__main__":
    sys.exit(main())
