"""A PostgreSQL primary and a streaming standby of their own, built in a temporary directory for failover tests.

``ReplicatedCluster`` runs ``initdb`` into a fresh temporary directory, starts the primary on a free loopback
port, copies it with ``pg_basebackup`` into a standby that streams from it, and starts that on another port.
It never touches any other cluster of the machine. ``crash`` ends the primary the way a machine failure does:
every one of its processes is frozen with SIGSTOP (so none runs on while the others die) and then SIGKILLed;
``promote`` runs ``pg_ctl promote`` on the standby. Leaving the ``with`` block stops whatever still runs and
removes the directory, whether the test passed or not.

The server refuses to run as root, so when the tests run as root (as CI does) every server binary runs as the
``postgres`` system user (``THREADING_ENGINE_TEST_POSTGRES_USER``), which owns the directory. The binaries are
those of the newest ``/usr/lib/postgresql/*/bin``, or of ``THREADING_ENGINE_TEST_POSTGRES_BIN``.

``fsync`` is off: the tests kill processes, not the machine, so the operating system's page cache survives
every crash and flushing it would only cost time. Replication is synchronous (``synchronous_standby_names``
names the standby, ``synchronous_commit`` stays ``on``) unless built with ``synchronous=False``. The standby's
own configuration names no synchronous standby, so that once promoted, alone, it does not wait for one.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import psycopg

BIN_VARIABLE = "THREADING_ENGINE_TEST_POSTGRES_BIN"
USER_VARIABLE = "THREADING_ENGINE_TEST_POSTGRES_USER"
STANDBY_NAME = "standby"


def server_binaries() -> Path | None:
    """The directory of ``initdb``, ``pg_ctl`` and ``pg_basebackup`` to build clusters with, if any."""
    chosen = os.environ.get(BIN_VARIABLE)
    if chosen:
        return Path(chosen) if (Path(chosen) / "initdb").exists() else None
    found = [path.parent for path in Path("/usr/lib/postgresql").glob("*/bin/initdb")]
    found.sort(key=lambda path: int(path.parent.name) if path.parent.name.isdecimal() else 0)
    return found[-1] if found else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def process_state(pid: int) -> tuple[str, int] | None:
    """The state letter and parent pid of a process, or None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may hold spaces and parentheses
    return fields[0], int(fields[1])


def children_of(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdecimal():
            state = process_state(int(entry.name))
            if state is not None and state[1] == parent:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    state = process_state(pid)
    return state is not None and state[0] not in ("Z", "X")


class Server:
    """One PostgreSQL server of the cluster: its data directory, port and processes."""

    def __init__(self, cluster: ReplicatedCluster, name: str) -> None:
        self.cluster = cluster
        self.name = name
        self.directory = cluster.base / name
        self.log = cluster.base / f"{name}.log"
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def postmaster(self) -> int | None:
        """The pid of the running postmaster, or None when the server is not running."""
        try:
            pid = int((self.directory / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None
        return pid if alive(pid) else None

    def processes(self) -> list[int]:
        postmaster = self.postmaster()
        return [] if postmaster is None else [postmaster, *children_of(postmaster)]

    def start(self) -> None:
        """Start the server; on another free port if the one it was given was taken in the meantime."""
        for attempt in (1, 2, 3):
            try:
                self.cluster.run("pg_ctl", "-D", str(self.directory), "-l", str(self.log), "-w", "-t", "60", "start")
                return
            except RuntimeError:
                if attempt == 3 or "could not bind" not in self.log_text():
                    raise
            self.port = free_port()
            self.cluster.configure(self, {})

    def promote(self) -> float:
        """Promote the standby; the ``time.time()`` at which it was seen accepting writes.

        ``pg_ctl promote`` itself waits in steps of 100 ms: too coarse to time a recovery by, so this polls."""
        self.cluster.run("pg_ctl", "-D", str(self.directory), "-W", "promote")
        deadline = time.monotonic() + 60
        with psycopg.connect(self.url, autocommit=True) as connection:
            while connection.execute("SELECT pg_is_in_recovery()").fetchone() != (False,):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the {self.name} was not promoted in 60 s:\n{self.log_text()[-4000:]}")
                time.sleep(0.005)
        return time.time()

    def crash(self) -> None:
        """End every process of the server at one instant, as a power cut would: freeze them all, then kill them.

        The postmaster is frozen first, so it forks nothing new while its children are found and frozen.
        """
        postmaster = self.postmaster()
        if postmaster is None:
            raise RuntimeError(f"the {self.name} is not running")
        os.kill(postmaster, signal.SIGSTOP)
        victims = [postmaster, *children_of(postmaster)]
        for pid in victims[1:]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
        for pid in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while any(alive(pid) for pid in victims):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the {self.name}'s processes outlived SIGKILL: {victims}")
            time.sleep(0.01)

    def stop_now(self) -> None:
        """Stop the server if it runs (immediate shutdown), and kill whatever of it is left."""
        if self.postmaster() is None:
            return
        with contextlib.suppress(subprocess.SubprocessError, RuntimeError):
            self.cluster.run("pg_ctl", "-D", str(self.directory), "-m", "immediate", "-w", "-t", "20", "stop")
        for pid in self.processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""


class ReplicatedCluster:
    """A primary and a standby streaming from it, synchronously unless ``synchronous=False``. A context manager."""

    def __init__(self, *, synchronous: bool = True, binaries: Path | None = None) -> None:
        found = binaries or server_binaries()
        if found is None:
            raise RuntimeError(f"no PostgreSQL server binaries (initdb) found; set {BIN_VARIABLE}")
        self.binaries = found
        self.synchronous = synchronous
        self._user: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            self._user = pwd.getpwnam(os.environ.get(USER_VARIABLE, "postgres"))
        self.base = Path(tempfile.mkdtemp(prefix="te-failover-"))
        if self._user is not None:
            os.chown(self.base, self._user.pw_uid, self._user.pw_gid)
        self.primary = Server(self, "primary")
        self.standby = Server(self, STANDBY_NAME)

    def __enter__(self) -> ReplicatedCluster:
        try:
            self._build()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop both servers and remove the directory; safe to call more than once."""
        for server in (self.standby, self.primary):
            server.stop_now()
        shutil.rmtree(self.base, ignore_errors=True)

    def url(self, *servers: Server) -> str:
        """A multi-host URL naming ``servers`` (default: the primary, then the standby), read-write sessions only."""
        chosen = servers or (self.primary, self.standby)
        hosts = ",".join(f"127.0.0.1:{server.port}" for server in chosen)
        return f"postgresql://postgres@{hosts}/postgres?target_session_attrs=read-write"

    def run(self, program: str, *arguments: str) -> str:
        """Run a server binary as the server's user; its output, or RuntimeError with it."""
        command = [str(self.binaries / program), *arguments]
        if self._user is not None:
            command = ["runuser", "-u", self._user.pw_name, "--", *command]
        done = subprocess.run(
            command, cwd=self.base, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stdout}{done.stderr}")
        return done.stdout

    def logs(self) -> str:
        return "\n".join(f"--- {s.name} log ---\n{s.log_text()[-4000:]}" for s in (self.primary, self.standby))

    def _build(self) -> None:
        primary, standby = self.primary, self.standby
        self.run(
            "initdb",
            "-D",
            str(primary.directory),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
            "--locale=C",
            "-E",
            "UTF8",
        )
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.base}'",
            "wal_level": "replica",
            "max_wal_senders": "4",
            "max_connections": "60",
            "shared_buffers": "16MB",
            "fsync": "off",
            "synchronous_commit": "on",
            "synchronous_standby_names": f"'{STANDBY_NAME}'" if self.synchronous else "''",
        }
        self.configure(primary, settings)
        primary.start()
        self.run(
            "pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
            "-D", str(standby.directory), "-X", "stream", "-c", "fast", "--no-sync",
        )  # fmt: skip
        conninfo = f"host=127.0.0.1 port={primary.port} user=postgres application_name={STANDBY_NAME}"
        self.configure(
            standby, {"synchronous_standby_names": "''", "primary_conninfo": f"'{conninfo}'", "hot_standby": "on"}
        )
        self._write(standby.directory / "standby.signal", "")
        standby.start()
        self.wait_until_streaming()

    def configure(self, server: Server, settings: dict[str, str]) -> None:
        """Append ``settings`` and the server's port to its ``postgresql.conf`` (the last setting of a name wins)."""
        lines = [f"{name} = {value}" for name, value in {**settings, "port": str(server.port)}.items()]
        with (server.directory / "postgresql.conf").open("a") as configuration:
            configuration.write("\n".join(lines) + "\n")

    def _write(self, path: Path, text: str) -> None:
        path.write_text(text)
        if self._user is not None:
            os.chown(path, self._user.pw_uid, self._user.pw_gid)

    def wait_until_streaming(self, timeout: float = 60) -> None:
        """Wait until the standby streams from the primary (and is its synchronous standby, if so built)."""
        wanted = "sync" if self.synchronous else "async"
        deadline = time.monotonic() + timeout
        with psycopg.connect(self.primary.url, autocommit=True) as connection:
            while True:
                row = connection.execute(
                    "SELECT state, sync_state FROM pg_stat_replication WHERE application_name = %s", (STANDBY_NAME,)
                ).fetchone()
                if row == ("streaming", wanted):
                    return
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the standby is not streaming ({row}):\n{self.logs()}")
                time.sleep(0.05)
