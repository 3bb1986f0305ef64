"""A fixed CPU budget for one benchmark process: a Linux cgroup with a CFS quota, as a container's CPU
limit. On one shared machine it stands in for "each replica on its own host": one replica and two get
the same budget each, so adding the second adds capacity instead of competing for the same cores.

Needs root and a cgroup v2 hierarchy with the cpu controller, or a cgroup v1 ``cpu`` hierarchy.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

PERIOD_US = 100_000
V2_ROOT = Path("/sys/fs/cgroup")
V1_ROOT = Path("/sys/fs/cgroup/cpu")


class CpuBudgetUnavailable(RuntimeError):
    pass


class CpuBudget:
    def __init__(self, name: str, cpus: float) -> None:
        if cpus <= 0:
            raise ValueError("a CPU budget must be positive")
        quota = max(1_000, int(cpus * PERIOD_US))
        controllers = V2_ROOT / "cgroup.controllers"
        try:
            if controllers.exists() and "cpu" in controllers.read_text().split():
                self.v2 = True
                self.path = V2_ROOT / name
                self.path.mkdir(exist_ok=True)
                (self.path / "cpu.max").write_text(f"{quota} {PERIOD_US}")
            elif (V1_ROOT / "cpu.cfs_quota_us").exists():
                self.v2 = False
                self.path = V1_ROOT / name
                self.path.mkdir(exist_ok=True)
                (self.path / "cpu.cfs_period_us").write_text(str(PERIOD_US))
                (self.path / "cpu.cfs_quota_us").write_text(str(quota))
            else:
                raise CpuBudgetUnavailable("no cgroup cpu controller on this machine")
        except OSError as exc:
            raise CpuBudgetUnavailable(f"cannot create cgroup {name!r}: {exc.strerror} (needs root)") from exc

    def add(self, pid: int) -> None:
        (self.path / "cgroup.procs").write_text(str(pid))

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.path.rmdir()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time used so far by a live process and its live descendants (a bot run
    under py-spy is py-spy's child)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    children = [
        int(c)
        for task in Path(f"/proc/{pid}/task").iterdir()
        for c in (task / "children").read_text().split()
    ]
    return own + sum(cpu_seconds(c) for c in children)
