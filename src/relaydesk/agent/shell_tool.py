"""A command shell as a tunnel tool (TOOL-3): the user's login shell on a pseudo-terminal. Output
is coalesced into larger frames (per-message cost dominates small ones); closing the tunnel
hangs up the shell's whole process group."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import pty
import pwd
import signal
import struct
import termios

from relaydesk.agent.tunnels import ByteStream, InputSwitch
from relaydesk.protocol import shell

COALESCE_SECONDS = 0.005
MAX_FRAME = 64 * 1024


def login_shell() -> str:
    try:
        return pwd.getpwuid(os.getuid()).pw_shell or "/bin/sh"
    except KeyError:
        return os.environ.get("SHELL", "/bin/sh")


def _set_size(fd: int, columns: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))


class PtyShell:
    def __init__(self, columns: int = 80, rows: int = 24) -> None:
        program = login_shell()
        pid, fd = pty.fork()
        if pid == 0:  # the child: a login shell in its own session (pty.fork made it leader)
            env = dict(os.environ, TERM="xterm-256color", LANG=os.environ.get("LANG", "C.UTF-8"))
            os.execvpe(program, [f"-{os.path.basename(program)}"], env)
        self.pid, self.fd = pid, fd
        _set_size(fd, columns, rows)
        os.set_blocking(fd, False)

    def resize(self, columns: int, rows: int) -> None:
        _set_size(self.fd, columns, rows)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGWINCH)

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                written = os.write(self.fd, view)
            except BlockingIOError:
                continue
            view = view[written:]

    def hang_up(self) -> int:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGHUP)
        with contextlib.suppress(OSError):
            os.close(self.fd)
        try:
            _, status = os.waitpid(self.pid, 0)
        except ChildProcessError:
            return 0
        return os.waitstatus_to_exitcode(status)


async def serve_shell(stream: ByteStream, switch: InputSwitch) -> None:
    del switch  # a shell is not screen input; its permission is checked by the server
    terminal = PtyShell()
    loop = asyncio.get_running_loop()
    output: asyncio.Queue[bytes] = asyncio.Queue()

    def readable() -> None:
        try:
            chunk = os.read(terminal.fd, MAX_FRAME)
        except OSError:
            chunk = b""
        output.put_nowait(chunk)
        if not chunk:
            loop.remove_reader(terminal.fd)

    loop.add_reader(terminal.fd, readable)

    async def pump_out() -> None:
        while True:
            chunk = await output.get()
            if not chunk:
                return
            await asyncio.sleep(COALESCE_SECONDS)  # let a burst gather into one frame
            while not output.empty() and len(chunk) < MAX_FRAME:
                more = output.get_nowait()
                if not more:
                    await stream.write(shell.data(chunk))
                    return
                chunk += more
            await stream.write(shell.data(chunk))

    async def pump_in() -> None:
        while message := await stream.read():
            try:
                frame = shell.parse(message)
            except shell.ShellFrameError:
                continue
            if isinstance(frame, shell.Data):
                terminal.write(frame.payload)
            elif isinstance(frame, shell.Resize):
                terminal.resize(frame.columns, frame.rows)

    out_task, in_task = asyncio.create_task(pump_out()), asyncio.create_task(pump_in())
    try:
        await asyncio.wait({out_task, in_task}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        loop.remove_reader(terminal.fd)
        in_task.cancel()
        out_task.cancel()
        code = await asyncio.to_thread(terminal.hang_up)
        with contextlib.suppress(Exception):
            await stream.write(shell.exited(code))
