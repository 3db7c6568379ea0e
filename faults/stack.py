"""The private stack: PostgreSQL, two Redis servers, gunicorn, Celery worker and beat.

Everything runs on spare ports chosen at start (the shared servers on 5432 and 6379 are
never touched) from a temporary folder, as children of the suite's process. Each child asks
the kernel to signal it when the suite dies (`PR_SET_PDEATHSIG`), so a suite killed by a
test timeout leaves no server behind. PostgreSQL runs as the `postmaster` child itself
rather than daemonized by `pg_ctl` for that reason; a stop is the signal `pg_ctl stop`
would send (SIGINT fast, SIGQUIT immediate).

Cache and broker are two Redis servers so that a fault can take one down without the
other; the "Redis restart" fault restarts both, as a single-Redis deployment would see it.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PR_SET_PDEATHSIG = 1
DATABASE = "threshold"


class StackError(RuntimeError):
    """A server or process of the private stack did not come up."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def postgres_bin_dir() -> Path | None:
    """Where initdb and postgres live: $FAULTS_PG_BIN, the PATH, else the newest
    /usr/lib/postgresql/*/bin."""
    configured = os.environ.get("FAULTS_PG_BIN")
    if configured:
        return Path(configured)
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parent.parent.name),
    )
    return Path(candidates[-1]).parent if candidates else None


def redis_server_bin() -> str | None:
    return shutil.which("redis-server")


def _child_setup(run_as: tuple[int, int] | None, death_signal: int) -> Callable[[], None]:
    """What runs in the child before exec: drop root (initdb and postgres refuse it), then
    ask for `death_signal` when the suite dies (after setuid, which would clear it)."""

    def setup() -> None:
        if run_as is not None:
            os.setgid(run_as[1])
            os.setuid(run_as[0])
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, death_signal, 0, 0, 0)

    return setup


def _unprivileged_user() -> tuple[int, int] | None:
    """(uid, gid) of `postgres` (else `nobody`) when we are root; None otherwise."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(name)
            return entry.pw_uid, entry.pw_gid
    raise StackError("running as root, and no `postgres` or `nobody` user to run PostgreSQL as")


def wait_for(what: str, check: Callable[[], bool], *, timeout: float, every: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise StackError(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(every)


def port_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class PrivatePostgres:
    """A PostgreSQL cluster of our own: initdb into the run's folder, one database."""

    def __init__(self, workdir: Path) -> None:
        bindir = postgres_bin_dir()
        if bindir is None:
            raise StackError("initdb not found (set FAULTS_PG_BIN)")
        self.bindir = bindir
        self.home = workdir / "pg"
        self.data = self.home / "data"
        self.port = free_port()
        self.run_as = _unprivileged_user()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = workdir / "logs" / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def _run(self, *argv: str) -> None:
        subprocess.run(
            argv,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=_child_setup(self.run_as, signal.SIGKILL),
        )

    def init(self) -> None:
        self.home.mkdir(parents=True)
        if self.run_as is not None:
            os.chown(self.home, *self.run_as)
            os.chmod(self.home.parent, 0o755)  # postgres must reach its folder
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--no-instructions",
        )

    def start(self) -> None:
        log = self.log.open("ab")
        self.process = subprocess.Popen(
            [
                str(self.bindir / "postgres"),
                "-D",
                str(self.data),
                "-p",
                str(self.port),
                "-k",
                str(self.home),  # its socket in our folder, not /var/run/postgresql
                "-c",
                "listen_addresses=127.0.0.1",
                # Without fsync a crash of the postmaster still loses nothing (the kernel has
                # the data); only an OS crash would, and that is not one of our faults.
                "-c",
                "fsync=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=200",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_child_setup(self.run_as, signal.SIGQUIT),
        )
        log.close()
        wait_for("PostgreSQL accepting connections", self.answers, timeout=60, every=0.1)

    def answers(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise StackError(f"postgres exited with {self.process.returncode}; see {self.log}")
        import psycopg

        try:
            with psycopg.connect(
                f"postgres://postgres@127.0.0.1:{self.port}/postgres", connect_timeout=2
            ) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def create_database(self) -> None:
        import psycopg

        with psycopg.connect(
            f"postgres://postgres@127.0.0.1:{self.port}/postgres", autocommit=True
        ) as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")

    def stop(self, *, immediate: bool = False) -> None:
        """Fast shutdown (SIGINT: clients are disconnected, a checkpoint is written) or
        immediate (SIGQUIT: what a crash looks like to clients; recovery at the next start)."""
        if self.process is None or self.process.poll() is not None:
            self.process = None
            return
        self.process.send_signal(signal.SIGQUIT if immediate else signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


class PrivateRedis:
    """A Redis server of our own without persistence: a restart loses every key."""

    def __init__(self, workdir: Path, name: str) -> None:
        binary = redis_server_bin()
        if binary is None:
            raise StackError("redis-server not found")
        self.binary = binary
        self.name = name
        self.port = free_port()
        self.dir = workdir / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_child_setup(None, signal.SIGTERM),
        )
        wait_for(f"redis ({self.name}) answering", self.answers, timeout=15)

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        """Gone at once, with every key it held."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def queue_length(self, queues: list[str]) -> int:
        """Messages waiting in these Celery queues (lists of the same name)."""
        import redis

        client = redis.Redis.from_url(self.url, socket_timeout=2)
        try:
            return sum(int(client.llen(queue)) for queue in queues)
        finally:
            client.close()


@dataclass
class Service:
    """One process of the product (gunicorn, a worker, a beat) in its own process group,
    so a stop or a kill -9 reaches its children too."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    ready_line: str = ""
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    started_at_offset: int = 0

    def start(self, *, timeout: float = 60, wait: bool = True) -> None:
        """Start it; with `wait`, return once its log says it is ready. Always from the
        main thread: the kernel's parent-death signal follows the thread that forked."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.started_at_offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.argv,
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_child_setup(None, signal.SIGTERM),
            )
        if wait:
            self.wait_ready(timeout=timeout)

    def wait_ready(self, *, timeout: float = 60) -> None:
        if self.ready_line:
            wait_for(f"{self.name} ready", self._ready, timeout=timeout, every=0.1)

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise StackError(f"{self.name} exited with {self.process.returncode}; see {self.log}")
        with self.log.open("rb") as log:
            log.seek(self.started_at_offset)
            return self.ready_line.encode() in log.read()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _signal_group(self, signum: int) -> None:
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)

    def stop(self, *, timeout: float = 20) -> None:
        """SIGTERM (gunicorn and Celery shut down warm), then SIGKILL when it lingers."""
        if not self.running:
            self.process = None
            return
        assert self.process is not None
        self._signal_group(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._signal_group(signal.SIGKILL)
            self.process.wait(timeout=10)
        self._signal_group(signal.SIGKILL)  # children that outlived their parent
        self.process = None

    def kill9(self) -> None:
        """kill -9 the whole process group: no warm shutdown, no acknowledgement, no
        rollback but the database's own."""
        if not self.running:
            return
        assert self.process is not None
        self._signal_group(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None


class Stack:
    """The private servers and the product's processes, configured like production."""

    def __init__(self, workdir: Path, *, beat_scale: float) -> None:
        self.workdir = workdir
        self.logs = workdir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.mail_dir = workdir / "mail"
        self.mail_dir.mkdir()
        self.beat_scale = beat_scale
        self.postgres = PrivatePostgres(workdir)
        self.cache = PrivateRedis(workdir, "redis-cache")
        self.broker = PrivateRedis(workdir, "redis-broker")
        self.web_port = free_port()
        self.secret_key = secrets.token_urlsafe(50)
        # The queues the worker consumes: every queue the settings route a task to.
        self.queues: list[str] = ["celery"]
        self.web: Service | None = None
        self.workers: list[Service] = []
        self.beats: list[Service] = []
        # What `supervise` restarted, for the report: "worker-1 exited with 1".
        self.restarted: list[str] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def env(self, role: str) -> dict[str, str]:
        """The environment of a product process: production settings on our servers."""
        # Nothing of the caller's own servers reaches the product: their variables are
        # dropped, and the ones a `.env` file could still supply are set empty.
        foreign = ("PYTEST", "COV_", "DATABASE_", "REDIS_", "CELERY_", "EMAIL_", "THRESHOLD_")
        env = {k: v for k, v in os.environ.items() if not k.startswith(foreign)}
        env.update(
            {
                "DATABASE_REPLICA_URL": "",
                "DJANGO_SETTINGS_MODULE": "faults.settings",
                "DEBUG": "0",
                "SECRET_KEY": self.secret_key,
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                # Plain HTTP on a loopback port: no TLS proxy in front to redirect to.
                "SECURE_SSL_REDIRECT": "0",
                "DATABASE_URL": f"{self.postgres.url}?application_name=faults-{role}",
                "DB_POOL": "1" if role == "web" else "0",
                "REDIS_URL": self.cache.url,
                "CELERY_BROKER_URL": self.broker.url,
                "CELERY_TASK_ALWAYS_EAGER": "0",
                "FAULTS_MAIL_DIR": str(self.mail_dir),
                "FAULTS_BEAT_SCALE": str(self.beat_scale),
                "THRESHOLD_HEARTBEAT_FILE": str(self.workdir / "worker-heartbeat"),
                "THRESHOLD_BASE_URL": self.base_url,
                "THRESHOLD_MARKETING_EMAIL": "marketing@faults.example",
                "LOG_LEVEL": "INFO",
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    def manage(self, *args: str) -> None:
        log = self.logs / "manage.log"
        with log.open("ab") as out:
            done = subprocess.run(
                [sys.executable, "manage.py", *args],
                cwd=ROOT,
                env=self.env("manage"),
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=_child_setup(None, signal.SIGTERM),
            )
        if done.returncode:
            raise StackError(f"manage.py {' '.join(args)} failed; see {log}")

    def start_servers(self) -> None:
        self.postgres.init()
        self.postgres.start()
        self.postgres.create_database()
        self.cache.start()
        self.broker.start()

    def start_web(self) -> None:
        self.web = Service(
            "web",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "crm.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.web_port}",
                "--workers",
                "2",
                "--threads",
                "4",
                "--timeout",
                "60",
                "--graceful-timeout",
                "5",
                # Its default control socket is one path in $HOME shared by every gunicorn.
                "--no-control-socket",
            ],
            self.env("web"),
            self.logs / "web.log",
            ready_line="Booting worker",
        )
        self.web.start(wait=False)

    def wait_web(self) -> None:
        assert self.web is not None
        self.web.wait_ready()
        wait_for("gunicorn listening", lambda: port_answers(self.web_port), timeout=60)

    def start_worker(self, *, wait: bool = True) -> Service:
        number = len(self.workers) + 1
        worker = Service(
            f"worker-{number}",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "crm",
                "worker",
                "--loglevel=INFO",
                "--concurrency=2",
                "--without-gossip",
                "--without-mingle",
                "-Q",
                ",".join(self.queues),
                "-n",
                f"faults-{number}@%h",
            ],
            self.env("worker"),
            self.logs / "worker.log",
            ready_line=" ready.",
        )
        worker.start(wait=wait)
        self.workers.append(worker)
        return worker

    def supervise(self) -> None:
        """Start again a worker or beat that exited on its own, as the deployment's restart
        policy does (docker-compose.yml: `restart: unless-stopped`). One stopped or killed
        on purpose (`stop`, `kill9`) has no process and stays down. From the main thread,
        as every start (the parent-death signal follows the forking thread)."""
        for service in [*self.workers, *self.beats]:
            if service.process is not None and service.process.poll() is not None:
                self.restarted.append(f"{service.name} exited with {service.process.returncode}")
                service.start(wait=False)

    def start_beat(self) -> Service:
        number = len(self.beats) + 1
        beat = Service(
            f"beat-{number}",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "crm",
                "beat",
                "--loglevel=INFO",
                "--schedule",
                str(self.workdir / f"celerybeat-schedule-{number}"),
            ],
            self.env("beat"),
            self.logs / f"beat-{number}.log",
            ready_line="beat: Starting",
        )
        beat.start()
        self.beats.append(beat)
        return beat

    def services(self) -> list[Service]:
        return [s for s in [self.web, *self.workers, *self.beats] if s is not None]

    def shutdown(self) -> None:
        """Stop everything we started, processes first, then the servers."""
        for service in self.services():
            with contextlib.suppress(Exception):
                service.stop(timeout=10)
        with contextlib.suppress(Exception):
            self.postgres.stop()
        self.cache.kill()
        self.broker.kill()
