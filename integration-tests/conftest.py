"""Shared fixtures and helpers for fimbeat's integration tests.

The tests drive the real binary (FIMBEAT_BIN, default ../build/fimbeat from this directory) as a
subprocess and assert on the documents it writes and on its exit codes. Nothing here sleeps to
wait for something: `wait_for` polls a condition until a deadline.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
FIXTURES = HERE / "fixtures"

# fimbeat-20261121.ndjson, fimbeat-20261121-1.ndjson, ...
EVENT_FILE_RE = re.compile(r"^(?P<name>.+)-(?P<date>\d{8})(?:-(?P<index>[1-9]\d*))?\.ndjson$")
TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")

POLL_INTERVAL = 0.02
DEFAULT_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0  # fimbeat promises to exit within 5 s of SIGINT/SIGTERM


def binary_path() -> Path:
    raw = os.environ.get("FIMBEAT_BIN")
    return Path(raw).resolve() if raw else REPO / "build" / "fimbeat"


@pytest.fixture(scope="session")
def fimbeat_bin() -> Path:
    path = binary_path()
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(
            f"fimbeat binary not found or not executable at {path}: build it with "
            f"`cmake --build {REPO / 'build'}` or point FIMBEAT_BIN at it",
            pytrace=False,
        )
    return path


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A fresh directory per test; `home/` is the agent's --path.home."""
    (tmp_path / "home").mkdir()
    return tmp_path


def write_config(path: Path, text: str, mode: int = 0o600) -> Path:
    """Writes a config file with a mode fimbeat's strict permission check accepts."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chmod(path, mode)
    return path


def yaml_str(value: Any) -> str:
    """A YAML flow scalar for a path or string (JSON strings are valid YAML)."""
    return json.dumps(str(value))


def poll(predicate: Callable[[], Any], timeout: float, interval: float = POLL_INTERVAL) -> bool:
    """Like wait_for, but a timeout is not a failure: returns whether predicate became true."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)  # polling interval between checks, not a wait for the condition
    return True


def wait_for(
    predicate: Callable[[], Any],
    timeout: float = DEFAULT_TIMEOUT,
    message: str = "",
    agent: Optional["Agent"] = None,
    interval: float = POLL_INTERVAL,
) -> Any:
    """Polls predicate until it returns something truthy, which is returned.

    Fails with a helpful message at the deadline, or at once when `agent` has exited (waiting
    longer for a dead process cannot help).
    """
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = predicate()
        if last:
            return last
        if agent is not None and not agent.running():
            raise AssertionError(
                f"fimbeat exited with {agent.returncode} while waiting for {message or predicate!r}; "
                f"last value {last!r}\n{agent.describe()}"
            )
        if time.monotonic() >= deadline:
            details = f"\n{agent.describe()}" if agent is not None else ""
            raise AssertionError(
                f"timed out after {timeout:.1f} s waiting for {message or predicate!r}; "
                f"last value {last!r}{details}"
            )
        time.sleep(interval)  # polling interval between checks, not a wait for the condition


def event_files(directory: Path, filename: str = "fimbeat") -> list[Path]:
    """The output's files in rotation order: <name>-<date>.ndjson, then -1, -2, ..."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = []
    for entry in directory.iterdir():
        m = EVENT_FILE_RE.match(entry.name)
        if m and m.group("name") == filename:
            found.append((m.group("date"), int(m.group("index") or 0), entry))
    return [path for _, _, path in sorted(found)]


def parse_ndjson(data: bytes, source: str, complete_only: bool = False) -> list[dict]:
    """Parses NDJSON bytes; every line must be UTF-8 and a JSON object.

    With complete_only a trailing line without '\\n' (a write still in progress) is ignored.
    """
    if complete_only:
        data = data[: data.rfind(b"\n") + 1]
    docs = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw:
            continue
        try:
            doc = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise AssertionError(f"{source}:{number} is not a valid UTF-8 JSON line ({e}): {raw[:300]!r}") from e
        assert isinstance(doc, dict), f"{source}:{number} is not a JSON object: {raw[:300]!r}"
        docs.append(doc)
    return docs


def read_events(directory: Path, filename: str = "fimbeat", complete_only: bool = False) -> list[dict]:
    """Every document of every <filename>-*.ndjson file in directory, in rotation order."""
    docs = []
    for path in event_files(directory, filename):
        try:
            data = path.read_bytes()
        except FileNotFoundError:  # pruned by rotation while we listed
            continue
        docs.extend(parse_ndjson(data, str(path), complete_only))
    return docs


def total_metrics(records: Iterable[dict]) -> dict:
    """The `fimbeat` section of the one "Total metrics" log record (logged at stop)."""
    totals = [r for r in records if r.get("message") == "Total metrics"]
    assert len(totals) == 1, f"expected one \"Total metrics\" line, found {len(totals)}"
    return totals[0]["monitoring"]["metrics"]["fimbeat"]


def paths_of(docs: Iterable[dict]) -> list[str]:
    return [d["file"]["path"] for d in docs]


def summary(docs: Iterable[dict]) -> set[tuple[str, str, Optional[int]]]:
    """(path, type, size) of each document; size is None when the document has none."""
    return {(d["file"]["path"], d["file"]["type"], d["file"].get("size")) for d in docs}


def run_cli(binary: Path, *args: str, env: Optional[dict] = None, cwd: Optional[Path] = None,
            timeout: float = 10.0) -> subprocess.CompletedProcess:
    """Runs a short-lived fimbeat command (test config, export config, version, ...)."""
    return subprocess.run(
        [str(binary), *map(str, args)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        errors="replace",
        env=env if env is not None else os.environ.copy(),
        cwd=cwd,
        timeout=timeout,
    )


class Agent:
    """`fimbeat run` as a subprocess; stdout and stderr go to files in the workspace."""

    def __init__(self, binary: Path, workdir: Path, config: Path, home: Optional[Path] = None,
                 args: Iterable[str] = (), log_to_stderr: bool = True, env: Optional[dict] = None,
                 name: str = "agent", wrapper: Iterable[str] = ()):
        self.binary = Path(binary)
        self.workdir = Path(workdir)
        self.config = Path(config)
        self.home = Path(home) if home is not None else self.workdir / "home"
        self.args = list(args)
        self.log_to_stderr = log_to_stderr
        self.env = env if env is not None else os.environ.copy()
        self.wrapper = list(wrapper)  # e.g. setpriv ... --: runs the agent under another program
        self.stdout_path = self.workdir / f"{name}.stdout"
        self.stderr_path = self.workdir / f"{name}.stderr"
        self.proc: Optional[subprocess.Popen] = None
        self.started_at = 0.0
        self._files: list = []

    @property
    def command(self) -> list[str]:
        cmd = [*self.wrapper, str(self.binary), "run", "-c", str(self.config), "--path.home", str(self.home)]
        if self.log_to_stderr:
            cmd.append("-e")
        return cmd + self.args

    def start(self) -> "Agent":
        assert self.proc is None, "agent already started"
        out = open(self.stdout_path, "wb")
        err = open(self.stderr_path, "wb")
        self._files = [out, err]
        self.started_at = time.time()
        self.proc = subprocess.Popen(self.command, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                     cwd=self.workdir, env=self.env)
        return self

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def returncode(self) -> Optional[int]:
        return None if self.proc is None else self.proc.poll()

    def stdout_bytes(self) -> bytes:
        return self.stdout_path.read_bytes() if self.stdout_path.exists() else b""

    def stderr_text(self) -> str:
        return self.stderr_path.read_bytes().decode("utf-8", "replace") if self.stderr_path.exists() else ""

    def log_records(self) -> list[dict]:
        """stderr parsed as the JSON log lines `-e` produces; every line must be JSON."""
        return parse_ndjson(self.stderr_path.read_bytes(), str(self.stderr_path))

    def log_messages(self) -> list[str]:
        """Messages of the complete JSON log lines on stderr so far (needs `-e`)."""
        if not self.stderr_path.exists():
            return []
        records = parse_ndjson(self.stderr_path.read_bytes(), str(self.stderr_path), complete_only=True)
        return [str(r.get("message", "")) for r in records]

    def scan_done(self) -> bool:
        """The scanner logged its summary: every path was observed (documents may still be in flight)."""
        return any(m.startswith("scan done") for m in self.log_messages())

    def shutdown_metrics(self) -> dict:
        """fimbeat's own metrics from the one "Total metrics" line it logs when it stops (as Beats,
        `monitoring.metrics` holds every figure; fimbeat's registry is its `fimbeat` section)."""
        return total_metrics(self.log_records())

    def describe(self) -> str:
        return (f"command: {' '.join(self.command)}\nreturn code: {self.returncode}\n"
                f"stderr (last 3000 chars):\n{self.stderr_text()[-3000:]}")

    def wait_exit(self, timeout: float) -> int:
        assert self.proc is not None, "agent was never started"
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"fimbeat did not exit within {timeout} s\n{self.describe()}") from None
        finally:
            self._close_files()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> int:
        """Sends sig and returns the exit code; fails if the agent takes longer than timeout."""
        assert self.proc is not None, "agent was never started"
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.wait_exit(timeout)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._close_files()

    def _close_files(self) -> None:
        for f in self._files:
            f.close()
        self._files = []


@pytest.fixture
def start_agent(fimbeat_bin: Path, workspace: Path):
    """Starts `fimbeat run` agents for a test and kills any still running at teardown."""
    agents: list[Agent] = []

    def start(config: Path, **kwargs: Any) -> Agent:
        kwargs.setdefault("name", f"agent{len(agents)}")
        agent = Agent(fimbeat_bin, workspace, config, **kwargs)
        agents.append(agent)
        return agent.start()

    yield start
    for agent in agents:
        agent.kill()
