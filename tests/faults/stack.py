"""Throwaway services for fault tests: a PostgreSQL cluster and a RabbitMQ node of their own
(never the machine's shared ones), and the registry's processes on them. Every port is in
18130-18139 on 127.0.0.1; everything started here is stopped by id at the end."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pika

from tests.integration.required import required_command
from tests.integration.stack import start_process, stop_processes, wait_for_api

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PG_PORT, RABBIT_PORT, RABBIT_DIST_PORT, API_PORT, RECEIVER_PORT = 18130, 18131, 18132, 18133, 18134
PRIMARY_PORT, STANDBY_PORT = 18135, 18136  # the failover test's pair (a test of one PostgreSQL's own, PgBouncer)
API_PORTS = (API_PORT, 18137, 18138, 18139)  # API replicas: two in every stack, four in the budget test
SWEEP_TIMEOUT_SECONDS = 3
LEADER_SILENCE_SECONDS = 4  # a frozen leader's lock connection ends after this


def _pg_bin(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return str(found[-1]) if found else required_command(name, "run a throwaway PostgreSQL")


def _as_postgres(*command: str, timeout: float = 60) -> None:
    """PostgreSQL refuses to run as root: run its tools as the postgres OS user."""
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=timeout)


class ThrowawayPostgres:
    """A cluster of its own: made by initdb, or (``from_primary``) a streaming standby cloned
    from a running primary by pg_basebackup."""

    def __init__(self, port: int = PG_PORT, *settings: str, from_primary: "ThrowawayPostgres | None" = None) -> None:
        self.port = port
        self.dir = Path(tempfile.mkdtemp(prefix="mnr-faults-pg-"))
        shutil.chown(self.dir, "postgres") if os.geteuid() == 0 else None
        self.data = self.dir / "data"
        self.options = " ".join(
            [f"-p {port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off", *(f"-c {s}" for s in settings)]
        )
        if from_primary is None:
            _as_postgres(_pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync")
        else:  # -R: standby.signal and primary_conninfo; it streams from the primary once started
            _as_postgres(
                _pg_bin("pg_basebackup"),
                *("-h", "127.0.0.1", "-p", str(from_primary.port), "-U", "postgres"),
                *("-D", str(self.data), "-R", "-X", "stream", "--no-sync", "--checkpoint=fast"),
                timeout=120,
            )
        self.start()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _ctl(self, *args: str) -> None:
        _as_postgres(_pg_bin("pg_ctl"), "-D", str(self.data), "-w", *args)

    def start(self) -> None:
        self._ctl("-o", self.options, "-l", str(self.dir / "log"), "start")

    def stop(self, mode: str = "fast") -> None:
        """``immediate``: as a crash (no shutdown checkpoint; what the standby has is what survives)."""
        self._ctl("-m", mode, "stop")

    def restart(self) -> None:
        self._ctl("-m", "fast", "-o", self.options, "-l", str(self.dir / "log"), "restart")

    def promote(self) -> None:
        self._ctl("promote")

    def create_database(self, name: str, template: str | None = None) -> str:
        """``template``: a copy of that database (nothing may be connected to it)."""
        copy = ("-T", template) if template else ()
        _as_postgres(_pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", *copy, name)
        return self.url(name)

    def close(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass  # stopped already (a crashed primary)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


class ThrowawayRabbit:
    NODE = "mnr-faults@localhost"

    def __init__(self) -> None:
        self.server = required_command("rabbitmq-server", "run a throwaway RabbitMQ node")
        self.ctl = required_command("rabbitmqctl", "stop and start the throwaway RabbitMQ node")
        self.dir = Path(tempfile.mkdtemp(prefix="mnr-faults-rabbit-"))
        (self.dir / "enabled_plugins").write_text("[].\n")
        (self.dir / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{RABBIT_PORT}\n")
        (self.dir / "rabbitmq-env.conf").write_text("")
        if os.geteuid() == 0:  # the server script drops to the rabbitmq user
            subprocess.run(["chown", "-R", "rabbitmq", str(self.dir)], check=True)
        self.env = {
            **os.environ,
            "RABBITMQ_NODENAME": self.NODE,
            "RABBITMQ_CONF_ENV_FILE": str(self.dir / "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": str(self.dir / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.dir / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(self.dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.dir / "log"),
            "RABBITMQ_PID_FILE": str(self.dir / "pid"),
            "RABBITMQ_DIST_PORT": str(RABBIT_DIST_PORT),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }
        subprocess.run([self.server, "-detached"], env=self.env, check=True, capture_output=True, timeout=60)
        self._wait_until_up()

    url = f"amqp://guest:guest@127.0.0.1:{RABBIT_PORT}/%2F"

    def _rabbitmqctl(self, *args: str) -> None:
        subprocess.run([self.ctl, "-n", self.NODE, *args], env=self.env, check=True, capture_output=True, timeout=90)

    def _wait_until_up(self, within: float = 90) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            try:
                pika.BlockingConnection(pika.URLParameters(self.url)).close()
                return
            except pika.exceptions.AMQPError:
                time.sleep(0.5)
        raise AssertionError(f"the throwaway RabbitMQ did not start within {within} s")

    def stop_app(self) -> None:
        self._rabbitmqctl("stop_app")

    def start_app(self) -> None:
        self._rabbitmqctl("start_app")
        self._wait_until_up()

    def depth(self, queue: str = "default") -> int:
        """Messages in ``queue`` (ready and unacknowledged)."""
        connection = pika.BlockingConnection(pika.URLParameters(self.url))
        try:
            declared = connection.channel().queue_declare(queue, passive=True)
            return int(declared.method.message_count)
        except pika.exceptions.ChannelClosedByBroker:
            return 0
        finally:
            if connection.is_open:
                connection.close()

    def close(self) -> None:
        try:
            self._rabbitmqctl("stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


class Processes:
    """The registry's processes, each in its own process group, logging to ``log_dir``."""

    def __init__(self, log_dir: Path, env: dict[str, str]) -> None:
        self.log_dir = log_dir
        self.env = env
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *command: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """``env``: settings of this process only (its port, its pool), over the stack's."""
        self.running[name] = start_process(self.log_dir / f"{name}.log", {**self.env, **(env or {})}, *command)
        return self.running[name]

    def api(self, name: str = "api", port: int = API_PORT, env: dict[str, str] | None = None) -> None:
        self.apis(((name, port),), env=env)

    def apis(self, replicas: "tuple[tuple[str, int], ...]", env: dict[str, str] | None = None) -> None:
        """API replicas (name, port), started side by side, then each waited for."""
        for name, port in replicas:
            self.start(name, "registry", "serve", env={**(env or {}), "PORT": str(port)})
        for name, port in replicas:
            wait_for_api(f"http://127.0.0.1:{port}", lambda name=name: self.log(name), within=60)

    def worker(self, name: str = "worker", env: dict[str, str] | None = None) -> None:
        self.start(
            name,
            "dramatiq",
            "worker.main:setup",
            "--processes",
            "1",
            "--threads",
            "4",
            "--worker-shutdown-timeout",
            "95000",
            env=env,
        )

    def scheduler(self, name: str = "scheduler", env: dict[str, str] | None = None) -> None:
        self.start(name, "registry", "scheduler", env=env)

    def signal(self, name: str, sig: signal.Signals) -> None:
        """SIGKILL the whole process group; any other signal to the main process only, as an
        orchestrator does (dramatiq forwards it to its worker processes itself)."""
        if sig == signal.SIGKILL:
            os.killpg(self.running[name].pid, sig)
        else:
            os.kill(self.running[name].pid, sig)

    def wait(self, name: str, within: float) -> int:
        try:
            return self.running[name].wait(timeout=within)
        except subprocess.TimeoutExpired as error:
            raise AssertionError(f"{name} did not exit within {within} s:\n{self.log(name)[-4000:]}") from error

    def log(self, name: str) -> str:
        return (self.log_dir / f"{name}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        stop_processes(list(self.running.values()), within=40)


def registry_env(database_url: str, broker_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "BROKER_URL": broker_url,
        "PORT": str(API_PORT),
        "HOST": "127.0.0.1",
        "LOG_LEVEL": "INFO",
        "WEBHOOK_ALLOWED_PRIVATE_HOSTS": '["127.0.0.1"]',
        "WEBHOOK_LEASE_SECONDS": "3",
        "SCHEDULER_INTERVAL_SECONDS": "0.5",
        "SCHEDULER_SWEEP_TIMEOUT_SECONDS": str(SWEEP_TIMEOUT_SECONDS),
        "SCHEDULER_LEADER_SILENCE_SECONDS": str(LEADER_SILENCE_SECONDS),
        "DELIVERY_QUEUE_HOLD_SECONDS": "20",  # longer than the 10 s the worker-stopped test watches
        "RATE_LIMIT_BURST": "100000",
        "RATE_LIMIT_PER_MINUTE": "1000000",
        "SHUTDOWN_DRAIN_SECONDS": "5",
        "API_METRICS_PORT": "0",  # two schedulers and two workers run side by side
        "WORKER_METRICS_PORT": "0",
        "SCHEDULER_METRICS_PORT": "0",
    }


def migrate(env: dict[str, str]) -> None:
    subprocess.run([str(BIN / "registry"), "migrate"], cwd=ROOT, env=env, check=True, capture_output=True, timeout=300)


def admin_key(env: dict[str, str]) -> str:
    output = subprocess.run(
        [str(BIN / "registry"), "create-admin-key", "--name", "fault tests"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    return next(word for word in output.split() if word.startswith("mnr_"))
