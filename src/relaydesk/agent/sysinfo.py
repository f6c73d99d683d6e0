"""A snapshot of the computer for the technician (TOOL-5): psutil for what it knows, the OS's own
tools (systemctl, dpkg-query, rpm) for services and installed software."""

from __future__ import annotations

import getpass
import platform
import shutil
import socket
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

TOP_PROCESSES = 15
CPU_INTERVAL_SECONDS = 0.5  # a process's share of the processor is measured over this interval
MAX_PACKAGES = 5000
MAX_SERVICES = 500


def _os_release() -> dict[str, str]:
    path = Path("/etc/os-release")
    if not path.exists():
        return {}
    values = {}
    for line in path.read_text(errors="replace").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key] = value.strip().strip('"')
    return values


def _run(command: list[str], timeout: float = 10) -> str | None:
    if shutil.which(command[0]) is None:
        return None
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout if result.returncode == 0 else None


def operating_system() -> dict[str, Any]:
    release = _os_release()
    return {
        "name": release.get("PRETTY_NAME") or f"{platform.system()} {platform.release()}",
        "system": platform.system(),
        "release": platform.release(),
        "version": release.get("VERSION_ID", platform.version()),
        "architecture": platform.machine(),
    }


def cpu() -> dict[str, Any]:
    model = platform.processor()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = psutil.getloadavg() if hasattr(psutil, "getloadavg") else (0.0, 0.0, 0.0)
    return {
        "model": model,
        "physical_cores": psutil.cpu_count(logical=False),
        "logical_cores": psutil.cpu_count(logical=True),
        "percent": psutil.cpu_percent(interval=0.2),
        "load_average": list(load),
    }


def memory() -> dict[str, Any]:
    virtual, swap = psutil.virtual_memory(), psutil.swap_memory()
    return {
        "total_bytes": virtual.total,
        "available_bytes": virtual.available,
        "percent": virtual.percent,
        "swap_total_bytes": swap.total,
        "swap_used_bytes": swap.used,
    }


def disks() -> list[dict[str, Any]]:
    result = []
    for part in psutil.disk_partitions(all=False):
        try:
            usage = psutil.disk_usage(part.mountpoint)
        except OSError:
            continue
        result.append(
            {
                "device": part.device,
                "mountpoint": part.mountpoint,
                "filesystem": part.fstype,
                "total_bytes": usage.total,
                "used_bytes": usage.used,
                "free_bytes": usage.free,
                "percent": usage.percent,
            }
        )
    return result


def network() -> list[dict[str, Any]]:
    stats = psutil.net_if_stats()
    interfaces = []
    for name, addresses in sorted(psutil.net_if_addrs().items()):
        interfaces.append(
            {
                "name": name,
                "up": bool(stats[name].isup) if name in stats else None,
                "addresses": [
                    {
                        "family": address.family.name,
                        "address": address.address,
                        "netmask": address.netmask,
                    }
                    for address in addresses
                ],
            }
        )
    return interfaces


def users() -> list[dict[str, Any]]:
    return [
        {
            "name": u.name,
            "terminal": u.terminal,
            "host": u.host,
            "since": datetime.fromtimestamp(u.started, UTC).isoformat(),
        }
        for u in psutil.users()
    ]


def processes(interval: float = CPU_INTERVAL_SECONDS) -> dict[str, list[dict[str, Any]]]:
    """The busiest and largest processes. psutil's first cpu_percent() of a process is always 0
    (it has nothing to compare with), so every process is sampled once, then again after
    `interval`: the share is what each used in between."""
    sampled = []
    for proc in psutil.process_iter(["pid", "name", "username"]):
        try:
            proc.cpu_percent(None)
        except psutil.Error:
            continue
        sampled.append(proc)
    time.sleep(interval)
    rows = []
    for proc in sampled:
        try:
            with proc.oneshot():
                share = proc.cpu_percent(None)
                rss = proc.memory_info().rss
        except psutil.Error:
            continue  # gone in between, or not ours to look at
        info = proc.info
        rows.append(
            {
                "pid": info["pid"],
                "name": info["name"],
                "user": info["username"],
                "cpu_percent": round(share, 1),
                "rss_bytes": rss,
            }
        )
    return {
        "by_cpu": sorted(rows, key=lambda r: r["cpu_percent"], reverse=True)[:TOP_PROCESSES],
        "by_memory": sorted(rows, key=lambda r: r["rss_bytes"], reverse=True)[:TOP_PROCESSES],
        "count": [{"total": len(rows)}],
    }


def services() -> dict[str, Any]:
    listing = _run(
        [
            "systemctl",
            "list-units",
            "--type=service",
            "--all",
            "--no-pager",
            "--plain",
            "--no-legend",
        ]
    )
    if listing is None:
        return {"manager": None, "items": []}
    items = []
    for line in listing.splitlines()[:MAX_SERVICES]:
        parts = line.split(None, 4)
        if len(parts) >= 4:
            items.append(
                {
                    "name": parts[0],
                    "load": parts[1],
                    "active": parts[2],
                    "sub": parts[3],
                    "description": parts[4] if len(parts) > 4 else "",
                }
            )
    return {"manager": "systemd", "items": items}


def packages() -> dict[str, Any]:
    dpkg = _run(["dpkg-query", "-W", "-f", "${Package}\t${Version}\n"], timeout=30)
    if dpkg is not None:
        manager, lines = "dpkg", dpkg.splitlines()
    else:
        rpm = _run(["rpm", "-qa", "--qf", "%{NAME}\t%{VERSION}-%{RELEASE}\n"], timeout=30)
        if rpm is None:
            return {"manager": None, "count": 0, "items": []}
        manager, lines = "rpm", rpm.splitlines()
    items = [
        dict(zip(("name", "version"), line.split("\t", 1), strict=False)) for line in sorted(lines)
    ]
    return {"manager": manager, "count": len(items), "items": items[:MAX_PACKAGES]}


def collect() -> dict[str, Any]:
    boot = psutil.boot_time()
    return {
        "collected_at": datetime.now(UTC).isoformat(),
        "hostname": socket.gethostname(),
        "current_user": getpass.getuser(),
        "os": operating_system(),
        "uptime_seconds": int(time.time() - boot),
        "boot_time": datetime.fromtimestamp(boot, UTC).isoformat(),
        "cpu": cpu(),
        "memory": memory(),
        "disks": disks(),
        "network": network(),
        "users": users(),
        "processes": processes(),
        "services": services(),
        "packages": packages(),
    }
