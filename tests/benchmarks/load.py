"""Processes under load and wrk: start an app, read its CPU time and RSS from /proc, run wrk
with a Lua script, parse what it says."""

import contextlib
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
LOGS = ROOT / "test-artifacts" / "bench-logs"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process (its threads included), from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(c) for c in text]
    return found


class Process:
    """One app under test, in its own process group, logging to test-artifacts/bench-logs/."""

    def __init__(self, name: str, command: list[str], env: dict[str, str]) -> None:
        LOGS.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.log_path = LOGS / f"{name}.log"
        self.popen = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=self.log_path.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.peak_rss = 0.0
        self._sampling = threading.Event()

    @property
    def pid(self) -> int:
        return self.popen.pid

    def pids(self) -> list[int]:
        """This process, or (a dramatiq parent) the worker processes it forked."""
        kids = children(self.pid)
        return kids or [self.pid]

    def wait_http(self, url: str, within: float = 60, poll: float = 0.1) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.popen.returncode}):\n{self.log_tail()}")
            try:
                httpx.get(url, timeout=1)
                return
            except httpx.TransportError:
                time.sleep(poll)
        raise RuntimeError(f"{self.name} did not answer {url} within {within} s:\n{self.log_tail()}")

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def cpu(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.pids())

    def rss(self) -> float:
        """Per process, the largest (a worker's processes each count alone)."""
        return max(rss_mb(pid) for pid in self.pids())

    def sample_rss(self) -> "Process":
        """Track the peak RSS until stop() (every 0.2 s)."""

        def run() -> None:
            while not self._sampling.is_set():
                with contextlib.suppress(FileNotFoundError, ProcessLookupError, ValueError):
                    self.peak_rss = max(self.peak_rss, self.rss())
                self._sampling.wait(0.2)

        threading.Thread(target=run, daemon=True).start()
        return self

    def stop(self) -> None:
        self._sampling.set()
        if self.popen.poll() is None:
            os.killpg(self.pid, 15)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, 9)
                self.popen.wait()


@dataclass
class WrkResult:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    bad_statuses: dict[str, int] = field(default_factory=dict)
    cpu_us_per_request: float | None = None
    rss_mb: float | None = None

    def as_dict(self) -> dict[str, object]:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


# Counts every status other than the expected ones; printed by done() for the runner to check.
STATUS_LUA = """
bad = {}
response = function(status, headers, body)
  if not expected[status] then
    bad[status] = (bad[status] or 0) + 1
  end
end
done = function(summary, latency, requests)
  for status, count in pairs(bad) do
    io.write(string.format("BAD_STATUS %d %d\\n", status, count))
  end
end
"""


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(
    url: str,
    script: str,
    *,
    connections: int,
    seconds: float,
    expected: tuple[int, ...] = (200,),
    headers: dict[str, str] | None = None,
    server: Process | None = None,
) -> WrkResult:
    """One wrk run (`-t1 -c<connections> --latency`) with ``script`` (Lua: a request function)
    plus a status check; the server's CPU time per request and its RSS when given."""
    lua = "expected = {" + ", ".join(f"[{s}] = true" for s in expected) + "}\n" + script + STATUS_LUA
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(lua)
    command = ["wrk", "-t1", f"-c{connections}", f"-d{int(seconds)}s", "--latency", "--timeout", "10s", "-s", f.name]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    command.append(url)
    cpu_before = server.cpu() if server else 0.0
    completed = subprocess.run(command, capture_output=True, text=True)
    cpu_after = server.cpu() if server else 0.0
    os.unlink(f.name)
    out = completed.stdout
    if completed.returncode != 0 or "Requests/sec" not in out:
        raise RuntimeError(f"wrk failed ({completed.returncode}):\n{out}\n{completed.stderr}")
    done = re.search(r"(\d+) requests in ([\d.]+)(\w+)", out)
    assert done is not None
    requests = int(done.group(1))
    duration = _ms(done.group(2), done.group(3)) / 1000
    percentiles = dict(re.findall(r"^\s+(\d+)%\s+([\d.]+\w+)\s*$", out, re.M))
    if "99" not in percentiles:
        raise RuntimeError(f"wrk printed no latency distribution:\n{out}")

    def pct(p: str) -> float:
        m = re.match(r"([\d.]+)(\w+)", percentiles[p])
        assert m is not None
        return _ms(m.group(1), m.group(2))

    errors = 0
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if socket_errors:
        errors = sum(int(x) for x in socket_errors.groups())
    bad = {status: int(count) for status, count in re.findall(r"BAD_STATUS (\d+) (\d+)", out)}
    result = WrkResult(
        requests=requests,
        seconds=duration,
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        p50_ms=pct("50"),
        p99_ms=pct("99"),
        errors=errors,
        bad_statuses=bad,
    )
    if server is not None:
        result.cpu_us_per_request = (cpu_after - cpu_before) / max(requests, 1) * 1e6
        result.rss_mb = server.rss()
    return result


def lua_list(values: list[str]) -> str:
    return "{" + ", ".join(f'"{v}"' for v in values) + "}"


def get_script(paths: list[str], headers: list[dict[str, str]] | None = None) -> str:
    """GET each path in turn (and per path headers, e.g. If-None-Match)."""
    lines = [f"paths = {lua_list(paths)}", "counter = 0"]
    if headers is not None:
        lines.append(
            "extra = {"
            + ", ".join("{" + ", ".join(f'["{k}"] = "{v}"' for k, v in h.items()) + "}" for h in headers)
            + "}"
        )
    lines.append("request = function()")
    lines.append("  counter = counter + 1")
    lines.append("  local i = (counter % #paths) + 1")
    if headers is not None:
        lines.append("  local h = {}")
        lines.append("  for k, v in pairs(wrk.headers) do h[k] = v end")
        lines.append("  for k, v in pairs(extra[i]) do h[k] = v end")
        lines.append('  return wrk.format("GET", paths[i], h)')
    else:
        lines.append('  return wrk.format("GET", paths[i])')
    lines.append("end")
    return "\n".join(lines) + "\n"


def entity_post_script(prefix: str, path: str = "/v1/entities") -> str:
    """POST /v1/entities (or the baseline's ``path``) with a new acronym each time (``prefix``
    makes it unique to the run)."""
    return f"""
counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  counter = counter + 1
  local body = string.format('{{"acronym": "{prefix}-%d", "name": "Benchmark write %d", "kind": "un_system"}}',
                             counter, counter)
  return wrk.format("POST", "{path}", nil, body)
end
"""


def membership_post_script(
    network_ids: list[str], entity_ids: list[str], days: list[str], path: str = "/v1/memberships"
) -> str:
    """POST /v1/memberships (or the baseline's ``path``): (network, entity) pairs in turn, each a
    two-day past period of its own (slot by slot), so no two overlap."""
    return f"""
networks = {lua_list(network_ids)}
entities = {lua_list(entity_ids)}
days = {lua_list(days)}
counter = 0
wrk.headers["Content-Type"] = "application/json"
request = function()
  local pairs_count = #networks * #entities
  local pair = counter % pairs_count
  local slot = math.floor(counter / pairs_count)
  counter = counter + 1
  local network = networks[(pair % #networks) + 1]
  local entity = entities[math.floor(pair / #networks) + 1]
  local body = string.format(
    '{{"network_id": "%s", "entity_id": "%s", "tier": "extended", "start_date": "%s", "end_date": "%s"}}',
    network, entity, days[slot * 2 + 1], days[slot * 2 + 2])
  return wrk.format("POST", "{path}", nil, body)
end
"""
