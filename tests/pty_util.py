"""Run a command in a pseudo-terminal, as a person would, and read what reaches the screen.

`spawn` records every chunk the terminal receives with its time since the start; `Screen` replays the
byte stream through the few controls Rich's live display uses (carriage return, line feed, cursor up,
erase line, colours), keeping the scrollback, so tests can read the final screen rather than the bytes.
"""

from __future__ import annotations

import os
import re
import select
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

try:
    import fcntl
    import pty
    import termios
except ImportError:  # Windows: no pseudo-terminals
    pty = None

PYTHON = sys.executable
CSI = re.compile(rb"\x1b\[([0-9;?]*)([A-Za-z])")


@dataclass
class PtyRun:
    chunks: list[tuple[float, bytes]] = field(default_factory=list)  # (seconds since spawn, bytes)
    code: int | None = None
    stderr: str = ""
    wall: float = 0.0

    @property
    def data(self) -> bytes:
        return b"".join(c for _, c in self.chunks)

    def first(self, needle: bytes) -> float | None:
        """Seconds from spawn until ``needle`` had reached the terminal, or None if it never did."""
        seen = b""
        for t, chunk in self.chunks:
            seen += chunk
            if needle in seen:
                return t
        return None


def spawn(argv: list[str], *, rows: int = 60, cols: int = 100, env: dict | None = None,
          stderr_to_pipe: bool = False, timeout: float = 120.0) -> PtyRun:
    """Run ``argv`` with stdout (and stderr, unless piped) on a fresh pty of ``rows`` x ``cols``."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    full_env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR")}
    full_env.update({"TERM": "xterm-256color", **(env or {})})
    run = PtyRun()
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=subprocess.PIPE if stderr_to_pipe else slave,
                            env=full_env, close_fds=True)
    os.close(slave)
    errors: list[bytes] = []
    reader = threading.Thread(target=lambda: errors.append(proc.stderr.read())) if stderr_to_pipe else None
    if reader:
        reader.start()
    deadline = start + timeout
    while time.perf_counter() < deadline:
        ready, _, _ = select.select([master], [], [], 0.05)
        if not ready:
            if proc.poll() is not None:  # exited, and nothing more to read (even if a child holds the pty)
                break
            continue
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: every writer has closed the slave side
            break
        if not chunk:
            break
        run.chunks.append((time.perf_counter() - start, chunk))
    if proc.poll() is None:
        proc.kill()
    run.code = proc.wait()
    run.wall = time.perf_counter() - start
    if reader:
        reader.join()
        run.stderr = errors[0].decode()
        proc.stderr.close()
    os.close(master)
    return run


class Screen:
    """A terminal of ``rows`` lines with scrollback; only the controls Rich's live display sends."""

    def __init__(self, rows: int) -> None:
        self.rows = rows
        self.lines: list[str] = [""]
        self.row = 0
        self.col = 0

    def feed(self, data: bytes) -> Screen:
        text_start = 0
        for m in CSI.finditer(data):
            self._text(data[text_start:m.start()].decode())
            self._control(m.group(1).decode(), m.group(2).decode())
            text_start = m.end()
        self._text(data[text_start:].decode())
        return self

    @property
    def top(self) -> int:
        """Index of the first line on screen; everything above it has scrolled into the scrollback."""
        return max(0, len(self.lines) - self.rows)

    def text(self) -> str:
        """Scrollback and screen, right-stripped, as a person scrolling up would read them."""
        return "\n".join(line.rstrip() for line in self.lines).rstrip("\n")

    def _text(self, s: str) -> None:
        for ch in s:
            if ch == "\r":
                self.col = 0
            elif ch == "\n":  # a pty turns \n into \r\n (onlcr); do the same for captured streams
                self.col = 0
                self.row += 1
                if self.row == len(self.lines):
                    self.lines.append("")
            elif ch >= " ":
                line = self.lines[self.row].ljust(self.col)
                self.lines[self.row] = line[: self.col] + ch + line[self.col + 1:]
                self.col += 1

    def _control(self, args: str, op: str) -> None:
        if op == "A":
            self.row = max(self.top, self.row - int(args or 1))
        elif op == "K":
            if args == "2":
                self.lines[self.row] = ""
            elif args in ("", "0"):
                self.lines[self.row] = self.lines[self.row][: self.col]
        # m (colours), h/l (cursor shown/hidden): nothing to draw


def wait_until(ready, *, timeout: float = 120.0, poll: float = 0.02) -> bool:
    """Poll ``ready()`` until it is true (True) or ``timeout`` seconds pass (False): a test waits for the state
    it needs, never a fixed time that is too short on a busy machine and wasted on a quiet one."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if ready():
            return True
        time.sleep(poll)
    return bool(ready())


def has_loaded(pid: int, library: str) -> bool:
    """Whether process ``pid`` has mapped a shared library whose path holds ``library`` (Linux /proc)."""
    try:
        with open(f"/proc/{pid}/maps", encoding="utf-8", errors="replace") as f:
            return any(library in line for line in f)
    except OSError:
        return False


class Drain:
    """Read ``fd`` (a pty's master side) in a thread until the writers close it; ``close()`` joins, closes fd."""

    def __init__(self, fd: int) -> None:
        self.fd, self.chunks = fd, []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:  # EIO: every writer has closed the slave side
                return
            if not chunk:
                return
            self.chunks.append(chunk)

    @property
    def data(self) -> bytes:
        return b"".join(self.chunks)

    @property
    def text(self) -> str:
        return self.data.decode(errors="replace")

    def close(self) -> None:
        self.thread.join(timeout=10)
        os.close(self.fd)

