"""Run the ``isru`` command line in this process, then report this process's own peak resident memory.

``python -m bench.metrics._own_peak demo --headless --cycles 2 --json``

Prints what ``isru`` prints, then one last stdout line ``{"own_peak_rss_kb": N}``: ``VmHWM`` of
``/proc/self/status``, the high-water mark of this process's own address space. The parent cannot take
``ru_maxrss`` from ``wait4`` for this: Linux carries the parent's high-water mark into a child started by
``vfork``/``posix_spawn`` (as :mod:`subprocess` starts it) at its ``exec``, so a child of a bench that had
grown to 190 MB reported 190 MB whatever it used itself.
"""

from __future__ import annotations

import json
import sys

from isru.cli import main as isru_main

#: Where the kernel states the process's own peak resident set (Linux).
STATUS = "/proc/self/status"


def own_peak_rss_kb() -> int | None:
    """``VmHWM`` of this process in KiB, or None where ``/proc`` does not give it."""
    try:
        with open(STATUS, encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def main(argv: list[str] | None = None) -> int:
    """``isru`` with ``argv``; its exit status. The peak memory line follows whatever it printed."""
    try:
        return isru_main(sys.argv[1:] if argv is None else argv)
    finally:
        sys.stdout.flush()
        print(json.dumps({"own_peak_rss_kb": own_peak_rss_kb()}), flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
