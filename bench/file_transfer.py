"""Benchmark: a large file uploaded to and downloaded from the device through the server's relay
(the technician's side speaks the files protocol like the web console), against `scp` of the
same file to and from an sshd on 127.0.0.1, in the same run. Also the peak RSS of the agent and
the server while the relay transfers run, sampled every 20 ms.

The sshd (Debian's openssh-server, `apt-get install openssh-server`) is started by this script on
a free loopback port with a temporary host key and a temporary authorized key, and stopped at
the end. Everything runs on loopback; nothing is encrypted on the relay side (no TLS in the
server process, as behind a TLS-terminating proxy), while scp encrypts: the ratio says what
relaydesk's relay costs against the tool a technician would otherwise use.

    .venv/bin/python bench/file_transfer.py [--size-mib 1024] [--runs 3] [--window-mib 16]

Rates are medians over the runs (relay and scp interleaved), with each run's ratio as well; the
relay's figures include the SHA-256 both ends compute (scp verifies nothing end to end). Before
each timed transfer a scratch file of the same size is written and deleted (`recycle_pages`), so
that relay and scp write their copies into memory in the same state.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import websockets

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.demo_server import BIN, Server, free_port  # noqa: E402
from tests.integration.files_client import FilesClient, sha256_of  # noqa: E402
from tests.integration.technician import Technician  # noqa: E402

from relaydesk.protocol import bearer  # noqa: E402

MiB = 1024 * 1024


class PeakRss:
    """Samples the RSS of some processes in a thread; keeps the peak of each."""

    def __init__(self, processes: dict[str, psutil.Process]) -> None:
        self.processes = processes
        self.peak = {name: p.memory_info().rss for name, p in processes.items()}
        self.baseline = dict(self.peak)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            for name, process in self.processes.items():
                self.peak[name] = max(self.peak[name], process.memory_info().rss)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def make_file(path: Path, size: int) -> None:
    block = os.urandom(16 * MiB)
    with path.open("wb") as f:
        left = size
        while left:
            n = min(left, len(block))
            f.write(block[:n])
            left -= n


def recycle_pages(work: Path, size: int) -> None:
    """Writes and deletes a scratch file of `size` bytes, so that the file the next transfer
    writes lands on memory the kernel has just freed. On a virtual machine whose host takes free
    guest memory back (this one does within seconds), writing a file into memory never touched
    or given back costs several times more than into recycled pages: without this, whichever
    transfer came right after another one's files were deleted had an unfair advantage."""
    scratch = work / "scratch.bin"
    make_file(scratch, size)
    scratch.unlink()


def relay_cpu(*processes: psutil.Process) -> float:
    """CPU seconds (user and system) of these processes and of this thread, which plays the
    console."""
    return time.thread_time() + sum(sum(p.cpu_times()[:2]) for p in processes)


def scp_cpu(sshd: psutil.Process) -> float:
    """CPU seconds of the finished scp and ssh (this process's children) and of the finished
    sshd sessions (the sshd's children)."""
    own, theirs = resource.getrusage(resource.RUSAGE_CHILDREN), sshd.cpu_times()
    return own.ru_utime + own.ru_stime + theirs.children_user + theirs.children_system


class Sshd:
    def __init__(self, work: Path) -> None:
        sshd = shutil.which("sshd") or "/usr/sbin/sshd"
        if not os.path.exists(sshd):
            raise SystemExit("sshd is missing: apt-get install openssh-server")
        self.port = free_port()
        self.key = work / "client_key"
        host_key = work / "host_key"
        for key in (self.key, host_key):
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True
            )
        authorized = work / "authorized_keys"
        authorized.write_text((work / "client_key.pub").read_text())
        authorized.chmod(0o600)
        Path("/run/sshd").mkdir(exist_ok=True)
        self.process = subprocess.Popen(
            [
                sshd,
                "-D",
                "-e",
                "-f",
                "/dev/null",
                "-p",
                str(self.port),
                "-h",
                str(host_key),
                "-o",
                "ListenAddress=127.0.0.1",
                "-o",
                f"AuthorizedKeysFile={authorized}",
                "-o",
                "StrictModes=no",
                "-o",
                "PasswordAuthentication=no",
                "-o",
                "PermitRootLogin=prohibit-password",
                "-o",
                "Subsystem=sftp internal-sftp",
                "-o",
                f"PidFile={work / 'sshd.pid'}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=(work / "sshd.log").open("w"),
        )
        deadline = time.monotonic() + 10
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    break
            if time.monotonic() > deadline:
                raise SystemExit("sshd did not start")
            time.sleep(0.05)

    def scp(self, source: str, target: str) -> tuple[float, float]:
        """Seconds and CPU seconds (both ends) of one copy."""
        user = (
            os.environ.get("USER")
            or subprocess.run(
                ["id", "-un"], capture_output=True, text=True, check=True
            ).stdout.strip()
        )
        options = [
            "-q",
            "-P",
            str(self.port),
            "-i",
            str(self.key),
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "BatchMode=yes",
        ]
        source = source.replace("remote:", f"{user}@127.0.0.1:")
        target = target.replace("remote:", f"{user}@127.0.0.1:")
        daemon = psutil.Process(self.process.pid)
        cpu = scp_cpu(daemon)
        started = time.perf_counter()
        subprocess.run(["scp", *options, source, target], check=True)
        seconds = time.perf_counter() - started
        time.sleep(0.5)  # the sshd session has ended and been reaped: its CPU time is counted
        return seconds, scp_cpu(daemon) - cpu

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


async def relay_transfers(
    technician: Technician,
    server: Server,
    sid: int,
    source: Path,
    work: Path,
    window: int,
    processes: list[psutil.Process],
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Seconds and CPU seconds (server, agent, console) of an upload and of a download."""
    size = os.stat(source).st_size
    base = server.url.replace("http://", "ws://")

    async def tunnel() -> Any:
        opened = technician.post(f"/api/v1/sessions/{sid}/files/tunnel").json()
        return websockets.connect(
            base + opened["path"],
            subprotocols=bearer.offered(opened["token"]),  # the token never goes in the URL
            max_size=None,
            compression=None,
        )

    device_copy, back = work / "device" / "uploaded.bin", work / "downloaded.bin"
    async with await tunnel() as ws:
        files = FilesClient(ws)
        await asyncio.to_thread(recycle_pages, work, size)
        cpu, started = relay_cpu(*processes), time.perf_counter()
        done = await files.upload(source, str(device_copy))
        upload = time.perf_counter() - started, relay_cpu(*processes) - cpu
        assert not isinstance(done, int)
        await asyncio.to_thread(recycle_pages, work, size)
        cpu, started = relay_cpu(*processes), time.perf_counter()
        _, end = await files.download(str(device_copy), back, window=window)
        download = time.perf_counter() - started, relay_cpu(*processes) - cpu
        assert end is not None and end.sha256 == done.sha256
    back.unlink()
    device_copy.unlink()
    return upload, download


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--window-mib", type=int, default=16, help="download flow-control window (0: TCP only)"
    )
    args = parser.parse_args()
    size = args.size_mib * MiB
    with tempfile.TemporaryDirectory(prefix="relaydesk-bench-files-", dir="/tmp") as tmp:
        work = Path(tmp)
        (work / "device").mkdir()
        source = work / "source.bin"
        make_file(source, size)
        digest = sha256_of(source)
        server = Server(work / "data")
        sshd = Sshd(work)
        technician = Technician(server).sign_in_first_time()
        agent = subprocess.Popen(
            [str(BIN / "relaydesk-agent"), "--server", server.url, "--key", technician.new_key()],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        results: dict[str, list[tuple[float, float]]] = {
            k: [] for k in ("up", "down", "scp_up", "scp_down")
        }
        try:
            sid = int(technician.wait_for_waiting_session()["id"])
            technician.post(f"/api/v1/sessions/{sid}/accept")
            processes = {
                "agent": psutil.Process(agent.pid),
                "server": psutil.Process(server.process.pid),
            }
            time.sleep(1)
            with PeakRss(processes) as rss:
                for _ in range(args.runs):  # interleaved, so that noise hits both alike
                    up, down = asyncio.run(
                        relay_transfers(
                            technician,
                            server,
                            sid,
                            source,
                            work,
                            args.window_mib * MiB,
                            list(processes.values()),
                        )
                    )
                    results["up"].append(up)
                    results["down"].append(down)
                    remote = work / "device" / "scp.bin"
                    recycle_pages(work, size)
                    results["scp_up"].append(sshd.scp(str(source), f"remote:{remote}"))
                    assert sha256_of(remote) == digest
                    back = work / "scp-back.bin"
                    recycle_pages(work, size)
                    results["scp_down"].append(sshd.scp(f"remote:{remote}", str(back)))
                    assert sha256_of(back) == digest
                    remote.unlink()
                    back.unlink()
        finally:
            agent.kill()
            sshd.stop()
            server.stop(15)

    def rate(runs: list[tuple[float, float]]) -> float:
        return size / MiB / statistics.median(seconds for seconds, _ in runs)

    def cpu_per_gib(runs: list[tuple[float, float]]) -> float:
        return round(statistics.median(cpu for _, cpu in runs) * 1024 * MiB / size, 2)

    def ratios(relay: list[tuple[float, float]], scp: list[tuple[float, float]]) -> list[float]:
        return [round(s[0] / r[0], 2) for r, s in zip(relay, scp, strict=True)]

    report = {
        "size_mib": args.size_mib,
        "runs": args.runs,
        "window_mib": args.window_mib,
        "relay_upload_mib_s": round(rate(results["up"]), 1),
        "relay_download_mib_s": round(rate(results["down"]), 1),
        "scp_upload_mib_s": round(rate(results["scp_up"]), 1),
        "scp_download_mib_s": round(rate(results["scp_down"]), 1),
        "upload_ratio": round(rate(results["up"]) / rate(results["scp_up"]), 2),
        "download_ratio": round(rate(results["down"]) / rate(results["scp_down"]), 2),
        # Each run's relay against the scp run that followed it (the spread on a busy machine).
        "upload_ratios": ratios(results["up"], results["scp_up"]),
        "download_ratios": ratios(results["down"], results["scp_down"]),
        # CPU seconds per GiB moved, every process of each pipeline (a busy machine slows both
        # pipelines but hardly changes what they cost).
        "relay_upload_cpu_s_per_gib": cpu_per_gib(results["up"]),
        "scp_upload_cpu_s_per_gib": cpu_per_gib(results["scp_up"]),
        "relay_download_cpu_s_per_gib": cpu_per_gib(results["down"]),
        "scp_download_cpu_s_per_gib": cpu_per_gib(results["scp_down"]),
        "agent_rss_baseline_mib": round(rss.baseline["agent"] / MiB, 1),
        "agent_rss_peak_mib": round(rss.peak["agent"] / MiB, 1),
        "server_rss_baseline_mib": round(rss.baseline["server"] / MiB, 1),
        "server_rss_peak_mib": round(rss.peak["server"] / MiB, 1),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
