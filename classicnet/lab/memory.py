"""How much memory a server and its children use, read from Linux's /proc.

Two figures, because forked children share pages with their parent::

    RSS  resident set size: every page a process has in memory, shared or
         not.  Summed over a parent and its forked children it counts a
         shared page once per process, so it overstates what forking costs.
    PSS  proportional set size: each shared page divided among the processes
         that share it.  Summed, it is the memory really used: the honest
         figure for forking.  Linux gives it in /proc/PID/smaps_rollup
         (kernel 4.14 and later); elsewhere it is missing, and so is it here.

Threads and processes are counted at the same moment (``Threads:`` in
/proc/PID/status, and every process whose parent is in the tree).  Where
/proc is missing (macOS, Windows) ``sample()`` returns None: the figures are
optional, and the lab says so rather than guess.
"""

import os
from dataclasses import dataclass

__all__ = ["Memory", "process_tree", "sample"]


@dataclass(frozen=True)
class Memory:
    """One server's memory at one moment, its children included."""

    rss_kib: int
    pss_kib: int            # None where the kernel does not offer it
    threads: int
    processes: int


def process_tree(pid):
    """*pid* and every process descended from it, from /proc/*/stat."""
    parents = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as stat:
                    # The command name in brackets may hold spaces: split after it.
                    parents[int(name)] = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue                    # ended while we looked
    tree, added = {pid}, True
    while added:
        children = {child for child, parent in parents.items()
                    if parent in tree and child not in tree}
        tree |= children
        added = bool(children)
    return sorted(tree)


def _fields(path):
    """``{"VmRSS": 1234, ...}`` from a /proc file of ``Name:  value kB`` lines."""
    fields = {}
    with open(path) as file:
        for line in file:
            name, _, value = line.partition(":")
            words = value.split()
            if words and words[0].isdigit():
                fields[name.strip()] = int(words[0])
    return fields


def sample(pid):
    """The ``Memory`` of *pid* and its children now, or None without /proc."""
    if not os.path.exists(f"/proc/{pid}/status"):
        return None
    rss = threads = processes = 0
    pss = 0
    for member in process_tree(pid):
        try:
            status = _fields(f"/proc/{member}/status")
        except OSError:
            continue
        rss += status.get("VmRSS", 0)
        threads += status.get("Threads", 1)
        processes += 1
        try:
            pss = None if pss is None else pss + _fields(
                f"/proc/{member}/smaps_rollup")["Pss"]
        except (OSError, KeyError):
            pss = None
    return Memory(rss, pss, threads, processes)
