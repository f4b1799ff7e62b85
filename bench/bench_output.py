#!/usr/bin/env python3
"""Elasticsearch output benchmark: how fast fimbeat drains a backlog from its durable queue.

Usage: FIMBEAT_BIN=build/fimbeat QUEUE_FILL_BIN=build/bench_queue_fill bench_output.py
           [--events N] [--small N] [--replay-seconds S] [--perf]

For a backlog of N events (default 1,000,000) and a smaller one (default 200,000):
1. bench_queue_fill puts the synthetic events (a web server's page updates: sha1 and sha256,
   previous state, changed attributes) into the durable queue of a fresh path.data, as if the
   output had been down while they happened.
2. es_endpoint.py's EsEndpoint runs in fast mode (counts the items of each bulk request and
   answers 201 for each, storing nothing) in a separate process on 127.0.0.1.
3. fimbeat runs (`run -e -c CFG --path.home HOME`) with a module watching an empty directory and
   output.elasticsearch to the endpoint with its defaults (bulk_max_size 1600, worker 1, gzip
   level 1), setup.template/ilm disabled. The clock runs from the start of the process until the
   endpoint has counted N + 1 items (the backlog, then the watched directory's own event). Just
   before SIGTERM: utime+stime of the process (all threads, start-up included), per-thread CPU,
   and VmHWM (peak RSS).
4. The endpoint's own ceiling: the largest bulk body fimbeat sent (captured by the endpoint
   process) is gzipped as fimbeat does and replayed to a fresh fast endpoint by load generator
   processes over 1 and over 4 keep-alive connections.
The targets (issue "Elasticsearch output"): at least 50,000 events/s per core of fimbeat's CPU,
and a peak RSS that does not grow with the backlog. It is a benchmark: the exit code is 0 whether
the targets are met or not, non-zero only when a tool fails or an event is missing.
"""
from __future__ import annotations

import argparse
import gzip
import http.client
import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from results import provenance, write_section

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration-tests"))  # for es_endpoint

from es_endpoint import EsEndpoint  # noqa: E402

BULK_PATH = "/_bulk?filter_path=errors,items.*.error,items.*.status"  # what fimbeat asks for
TIMEOUT_S = 900
POLL_S = 0.02
CLK_TCK = os.sysconf("SC_CLK_TCK")
TARGET_PER_CPU_S = 50_000
ROOT_EVENTS = 1  # the watched (empty) directory's own initial_scan event, sent after the backlog
RSS_SLACK = 0.10  # "does not grow": the large backlog's peak RSS within 10 % (and 4 MiB) of the small one's


# ------------------------------------------------------------------------------ the endpoint process


class CapturingEndpoint(EsEndpoint):
    """The fast endpoint, keeping the largest bulk body it is sent (decompressed) for the replay."""

    largest_body: bytes = b""

    def bulk(self, body: bytes, default_index):
        if len(body) > len(self.largest_body):
            self.largest_body = body
        return super().bulk(body, default_index)


def serve_endpoint(pipe) -> None:
    """Runs in its own process: serves until told to stop, answers stats requests on the pipe."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    es = CapturingEndpoint(fast=True).start()
    pipe.send(es.url)
    while True:
        message = pipe.recv()
        if message == "stats":
            with es.lock:
                pipe.send(dict(es.stats))
        elif message == "body":
            pipe.send(es.largest_body)
        elif message == "stop":
            es.stop()
            pipe.send(None)
            return


class EndpointProcess:
    def __init__(self):
        context = multiprocessing.get_context("spawn")
        self.pipe, child = context.Pipe()
        self.process = context.Process(target=serve_endpoint, args=(child,), name="es-endpoint", daemon=True)
        self.process.start()
        self.url = self.pipe.recv()

    def stats(self) -> dict:
        self.pipe.send("stats")
        return self.pipe.recv()

    def largest_body(self) -> bytes:
        self.pipe.send("body")
        return self.pipe.recv()

    def cpu_seconds(self) -> float:
        return process_cpu(self.process.pid)

    def stop(self) -> None:
        self.pipe.send("stop")
        self.pipe.recv()
        self.process.join(10)


# ------------------------------------------------------------------------------ /proc


def process_cpu(pid: int) -> float:
    """utime + stime of every thread of pid, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds per thread name (fim-delivery, fim-baseline, ...), threads of one name summed."""
    out: dict[str, float] = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                raw = f.read()
        except FileNotFoundError:
            continue
        name = raw[raw.index("(") + 1: raw.rindex(")")]
        fields = raw.rsplit(")", 1)[1].split()
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / CLK_TCK
    return out


def status_kib(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {key} in /proc/{pid}/status")


def du_bytes(path: str) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except FileNotFoundError:
                pass
    return total


# ------------------------------------------------------------------------------ fimbeat runs


@dataclass
class Run:
    backlog: int
    fill_s: float = 0.0
    db_bytes: int = 0
    wall_s: float = 0.0
    first_item_s: float = 0.0
    cpu_s: float = 0.0
    cpu_rusage_s: float = 0.0
    hwm_kib: int = 0
    endpoint_cpu_s: float = 0.0
    threads: dict = field(default_factory=dict)
    endpoint: dict = field(default_factory=dict)
    acked: int = 0
    exit_code: int = 0
    perf: str = ""

    @property
    def expected(self) -> int:
        return self.backlog + ROOT_EVENTS

    @property
    def events_per_s(self) -> float:
        return self.backlog / self.wall_s

    @property
    def us_per_event(self) -> float:
        return self.cpu_s / self.backlog * 1e6

    @property
    def per_cpu_s(self) -> float:
        return self.backlog / self.cpu_s


def write_config(path: str, watched: str, url: str) -> None:
    with open(path, "w") as f:
        f.write(f"""fimbeat.modules:
- module: file_integrity
  paths: [{json.dumps(watched)}]
output.elasticsearch:
  hosts: [{json.dumps(url)}]
setup.template.enabled: false
setup.ilm.enabled: false
""")
    os.chmod(path, 0o600)


def profile(pid: int, work: str, seconds: float) -> str:
    """perf record of the running fimbeat for `seconds`; the report's top symbols (self time)."""
    data = os.path.join(work, "perf.data")
    record = subprocess.run(["perf", "record", "-F", "499", "-g", "-p", str(pid), "-o", data, "--", "sleep", str(seconds)],
                            capture_output=True, text=True)
    if record.returncode != 0:
        return f"perf record failed: {record.stderr.strip()[-300:]}"
    report = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children", "--sort", "dso,symbol",
                             "--percent-limit", "1", "-g", "none"], capture_output=True, text=True)
    lines = [l for l in report.stdout.splitlines() if l.strip() and not l.startswith("#")]
    return "\n".join(lines[:30])


def run_fimbeat(binary: str, fill: str, work: str, backlog: int, want_perf: bool) -> tuple[Run, EndpointProcess]:
    run = Run(backlog)
    home = os.path.join(work, f"home-{backlog}")
    data = os.path.join(home, "data")
    os.makedirs(data)
    started = time.perf_counter()
    subprocess.run([fill, data, str(backlog)], check=True, stdout=subprocess.DEVNULL)
    run.fill_s = time.perf_counter() - started
    run.db_bytes = du_bytes(os.path.join(data, "fimbeat.db"))
    watched = os.path.join(work, "empty")
    os.makedirs(watched, exist_ok=True)
    endpoint = EndpointProcess()
    config = os.path.join(work, f"fimbeat-{backlog}.yml")
    write_config(config, watched, endpoint.url)
    log_path = os.path.join(work, f"fimbeat-{backlog}.log")
    endpoint_cpu0 = endpoint.cpu_seconds()
    with open(log_path, "wb") as log:
        started = time.perf_counter()
        proc = subprocess.Popen([binary, "run", "-e", "-c", config, "--path.home", home], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=log)
    try:
        profiled = not want_perf
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            items = endpoint.stats()["items"]
            now = time.perf_counter()
            if items > 0 and not run.first_item_s:
                run.first_item_s = now - started
            if items >= run.expected:
                # Sampled before anything else: the process is idle from here on.
                run.wall_s = now - started
                run.cpu_s = process_cpu(proc.pid)
                run.threads = thread_cpu(proc.pid)
                run.hwm_kib = status_kib(proc.pid, "VmHWM")
                run.endpoint_cpu_s = endpoint.cpu_seconds() - endpoint_cpu0
                break
            if not profiled and items >= backlog // 10:
                profiled = True
                run.perf = profile(proc.pid, work, 3.0)
            if proc.poll() is not None:
                raise SystemExit(f"fimbeat exited with {proc.returncode} after {items} of {run.expected} items; see {log_path}")
            if time.monotonic() > deadline:
                raise SystemExit(f"only {items} of {run.expected} items after {TIMEOUT_S} s; see {log_path}")
            time.sleep(POLL_S)  # polling interval of the measurement, not a wait for a condition
        proc.send_signal(signal.SIGTERM)
        _, status, rusage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        run.exit_code = proc.returncode
        run.cpu_rusage_s = rusage.ru_utime + rusage.ru_stime
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    run.endpoint = endpoint.stats()
    with open(log_path, "rb") as f:
        for line in f:
            if b'"message":"Total metrics"' not in line:
                continue
            record = json.loads(line)
            if record.get("message") == "Total metrics":
                run.acked = record["monitoring"]["metrics"]["fimbeat"]["output"]["events"]["acked"]
    shutil.rmtree(home)  # a 1,000,000-event database is a few hundred MB
    return run, endpoint


# ------------------------------------------------------------------------------ the endpoint's ceiling


def generate_load(url: str, body: bytes, items: int, seconds: float, result) -> None:
    """One keep-alive connection sending the same gzipped bulk body for `seconds`."""
    split = urlsplit(url)
    connection = http.client.HTTPConnection(split.hostname, split.port, timeout=60)
    headers = {"Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"}
    sent = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        connection.request("POST", BULK_PATH, body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read()
        if response.status != 200 or b'"errors": false' not in answer[:40]:
            raise RuntimeError(f"the endpoint answered {response.status}: {answer[:200]!r}")
        sent += items
    connection.close()
    result.put(sent)


def endpoint_ceiling(body: bytes, connections: int, seconds: float) -> tuple[float, float]:
    """items/s of a fresh fast endpoint under `connections` load generator processes; its CPU s/s."""
    items = (body.count(b"\n") + (0 if body.endswith(b"\n") else 1)) // 2
    compressed = gzip.compress(body, compresslevel=1)
    endpoint = EndpointProcess()
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    try:
        cpu0 = endpoint.cpu_seconds()
        before = endpoint.stats()["items"]
        started = time.perf_counter()
        workers = [context.Process(target=generate_load, args=(endpoint.url, compressed, items, seconds, results))
                   for _ in range(connections)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(seconds + 120)
        wall = time.perf_counter() - started
        counted = endpoint.stats()["items"] - before
        cpu = endpoint.cpu_seconds() - cpu0
        sent = sum(results.get(timeout=10) for _ in workers)
        if sent != counted:
            raise SystemExit(f"the load generators sent {sent} items, the endpoint counted {counted}")
    finally:
        endpoint.stop()
    return counted / wall, cpu / wall


# ------------------------------------------------------------------------------ report


def mib(kib: int) -> float:
    return kib / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="the backlog measured (1,000,000)")
    parser.add_argument("--small", type=int, default=200_000, help="the smaller backlog for the RSS comparison (200,000)")
    parser.add_argument("--replay-seconds", type=float, default=5.0, help="length of each endpoint ceiling run (5)")
    parser.add_argument("--perf", action="store_true", help="perf record fimbeat for 3 s during the large run")
    args = parser.parse_args()
    build = os.path.join(HERE, "../build")
    binary = os.path.abspath(os.environ.get("FIMBEAT_BIN", os.path.join(build, "fimbeat")))
    fill = os.path.abspath(os.environ.get("QUEUE_FILL_BIN", os.path.join(build, "bench_queue_fill")))
    for path, what in ((binary, "fimbeat (set FIMBEAT_BIN)"), (fill, "bench_queue_fill (set QUEUE_FILL_BIN)")):
        if not os.access(path, os.X_OK):
            raise SystemExit(f"{what} not found: {path}")
    version = subprocess.run([binary, "version"], capture_output=True, text=True).stdout.strip()

    work = tempfile.mkdtemp(prefix="fimbeat-bench-output-")
    try:
        runs = []
        body = b""
        for backlog in (args.events, args.small):
            print(f"draining a backlog of {backlog:,} events ...", file=sys.stderr, flush=True)
            run, endpoint = run_fimbeat(binary, fill, work, backlog, args.perf and backlog == args.events)
            if not body:
                body = endpoint.largest_body()
            endpoint.stop()
            runs.append(run)
        print("measuring the endpoint's own ceiling ...", file=sys.stderr, flush=True)
        ceilings = [(n, *endpoint_ceiling(body, n, args.replay_seconds)) for n in (1, 4)]
    finally:
        shutil.rmtree(work, ignore_errors=True)

    items_per_bulk = (body.count(b"\n") + 1) // 2
    lines = ["## Output (`make bench-output`)", "", provenance(version), "",
             f"A backlog of queued events drained into a fast Elasticsearch stand-in (es_endpoint.py in fast mode: "
             f"counts items, stores nothing) on 127.0.0.1, with output.elasticsearch's defaults (bulk_max_size 1600, "
             f"worker 1, gzip level 1); every event goes through the one document path (enrich, map, schema check, "
             f"_id).", "",
             "| run | backlog | wall s | events/s | fimbeat CPU s | CPU µs/event | events/s per CPU-s | peak RSS MiB |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for run in runs:
        lines.append(f"| fimbeat → endpoint | {run.backlog:,} | {run.wall_s:.2f} | {run.events_per_s:,.0f} | "
                     f"{run.cpu_s:.2f} | {run.us_per_event:.2f} | {run.per_cpu_s:,.0f} | {mib(run.hwm_kib):.1f} |")
    for connections, rate, cpu in ceilings:
        lines.append(f"| load generator → endpoint alone, {connections} conn. | {items_per_bulk:,}/request | | "
                     f"{rate:,.0f} | | | | |")
    large, small = runs
    grows = large.hwm_kib > small.hwm_kib * (1 + RSS_SLACK) + 4096
    lines += ["", "| target | measured | |", "|---|---|---|",
              f"| at least {TARGET_PER_CPU_S:,} events/s per core of fimbeat's CPU | {large.per_cpu_s:,.0f} "
              f"({large.us_per_event:.2f} µs/event) | {'met' if large.per_cpu_s >= TARGET_PER_CPU_S else '**missed**'} |",
              f"| peak RSS does not grow with the backlog | {mib(large.hwm_kib):.1f} MiB at {large.backlog:,}, "
              f"{mib(small.hwm_kib):.1f} MiB at {small.backlog:,} | {'**missed**' if grows else 'met'} |", ""]
    for run in runs:
        threads = ", ".join(f"{name} {cpu:.2f}" for name, cpu in sorted(run.threads.items(), key=lambda t: -t[1])
                            if cpu >= 0.01)
        lines.append(f"Backlog {run.backlog:,}: queued in {run.fill_s:.1f} s ({run.db_bytes / 1e6:.0f} MB of RocksDB); "
                     f"first item at {run.first_item_s:.2f} s; {run.endpoint.get('bulk_requests', 0)} bulk requests, "
                     f"{run.endpoint.get('bytes_received', 0) / run.backlog:.0f} gzip bytes/event; CPU s per thread: "
                     f"{threads}.")
    one_connection = ceilings[0][1]  # fimbeat's default is worker: 1, one request at a time
    if large.events_per_s > 0.8 * one_connection:
        lines += ["", f"fimbeat's wall rate is within 20 % of what the endpoint answers over one connection "
                      f"({one_connection:,.0f} items/s): the wall figures are bounded by the endpoint's round trips; "
                      "CPU per event is what carries over to a real cluster."]
    for run in runs:
        if run.perf:
            lines += ["", f"perf (3 s of the {run.backlog:,} run, self time, top symbols):", "```", run.perf, "```"]
    text = "\n".join(lines)
    print("\n" + text)
    write_section("output", text)
    failed = [r for r in runs if r.exit_code != 0 or r.acked != r.expected or r.endpoint.get("items") != r.expected]
    if failed:
        raise SystemExit(f"runs that did not deliver exactly their backlog: "
                         f"{[(r.backlog, r.exit_code, r.acked, r.endpoint.get('items')) for r in failed]}")


if __name__ == "__main__":
    main()
