"""Helpers shared by the top-level tests: paths and running the CLI as users do."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
DATA = TESTS / "data"  # reference files written by others, each with its provenance in data/README.md
COLLECTED_MODULES: set[Path] = set()  # filled by conftest.pytest_collectreport


def run_cli(*args: str, check: bool = True, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `python -m comicforge ARGS` in a subprocess (with extra environment `env`) and return its result."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO), **(env or {})}
    result = subprocess.run([sys.executable, "-m", "comicforge", *args], capture_output=True, text=True, env=env, timeout=600)
    if check and result.returncode != 0:
        raise AssertionError(f"comicforge {' '.join(args)} exited {result.returncode}\n{result.stderr}")
    return result


def listening_sockets() -> dict[int, tuple[int, str]]:
    """Socket inode → (port, local address) of every TCP socket listening on this machine, from /proc/net (Linux)."""
    found = {}
    for table in (Path("/proc/net/tcp"), Path("/proc/net/tcp6")):
        for line in table.read_text().splitlines()[1:] if table.exists() else []:
            fields = line.split()
            address, _, hex_port = fields[1].partition(":")
            if fields[3] == "0A":  # LISTEN
                found[int(fields[9])] = (int(hex_port, 16), _address(address))
    return found


def _address(hex_address: str) -> str:
    """A /proc/net address in dotted (IPv4) or compact (IPv6, v4-mapped shown dotted) form."""
    raw = bytes.fromhex(hex_address)
    if len(raw) == 4:
        return socket.inet_ntoa(raw[::-1])
    ipv6 = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
    return socket.inet_ntop(socket.AF_INET6, ipv6).removeprefix("::ffff:")


def socket_inodes(pid: int) -> set[int]:
    """Inodes of the sockets process `pid` has open (empty when it is gone or not ours to read)."""
    inodes = set()
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(int(target[8:-1]))
    except OSError:
        pass
    return inodes


def descendants(pid: int) -> set[int]:
    """Process ids of every live descendant of `pid` (Linux /proc)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found
