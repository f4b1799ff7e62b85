#!/usr/bin/env python3
"""Live latency: how soon a change is a written document, beside inotifywait's raw kernel event.

Usage: FIMBEAT_BIN=build/fimbeat bench_latency.py [--ops N] [--backends inotify,fanotify]

For each backend (fanotify needs root; its column says why when it cannot run), fimbeat (output.file,
which writes each batch with write(2); this script is woken by inotify on the output directory) and
`inotifywait -m -r -e close_write` (read from a pipe) watch the same tree at the same time. N times,
one after another, a new 100-byte file is written (open, write, close); each tool's latency runs from
just before the open to its line: for fimbeat the whole pipeline (kernel event, metadata, hash, diff
and write of the RocksDB baseline and durable queue, ECS document, write), for inotifywait the raw
kernel event. The same interval measured inside fimbeat, from reading the kernel event to writing
the document, comes from its metric pipeline.live_latency_us (logged at its stop). Target: fimbeat's
p99 within 2x of inotifywait's. The table is printed and written to bench/RESULTS.md. It is a
benchmark: the exit code is 0 whether the target is met or not.
"""
import argparse
import glob
import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from results import provenance, write_section

TIMEOUT_S = 120


class LineWatcher:
    """Reads a process's stdout line by line; records when each key (from key_of) first arrived."""

    def __init__(self, stream, key_of):
        self.arrived = {}
        self.lines = []
        self.cond = threading.Condition()
        self.key_of = key_of
        self.last = 0.0  # perf_counter() when the latest line arrived
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream):
        for raw in stream:
            now = time.perf_counter()
            key = self.key_of(raw)
            with self.cond:
                self.lines.append(raw)
                self.last = now
                if key is not None and key not in self.arrived:
                    self.arrived[key] = now
                self.cond.notify_all()

    def wait(self, key, timeout=TIMEOUT_S):
        deadline = time.monotonic() + timeout
        with self.cond:
            while key not in self.arrived:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeError(f"no report of {key} within {timeout} s")
                self.cond.wait(left)
            return self.arrived[key]

    def wait_quiet(self, quiet, timeout=TIMEOUT_S):
        """Waits until no line has arrived for `quiet` seconds; returns the number of lines."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                idle = time.perf_counter() - self.last
                if idle >= quiet:
                    return len(self.lines)
                if time.monotonic() > deadline:
                    raise RuntimeError(f"output never quiet for {quiet} s within {timeout} s")
                self.cond.wait(quiet - idle)

    def wait_more(self, count, timeout):
        """Whether more than `count` lines arrive within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.lines) <= count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(left)
            return True


class FileTail(LineWatcher):
    """Like LineWatcher, for the NDJSON files fimbeat's file output writes into `directory`
    (with write(2), so a document is visible at once): woken by inotify, never by polling."""

    IN_MODIFY, IN_CREATE = 0x2, 0x100

    def __init__(self, directory, key_of):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        self.fd = libc.inotify_init1(0)
        if self.fd < 0 or libc.inotify_add_watch(self.fd, directory.encode(), self.IN_MODIFY | self.IN_CREATE) < 0:
            raise OSError(ctypes.get_errno(), "inotify for the output directory")
        self.directory = directory
        self.offsets = {}
        self.partial = {}
        super().__init__(None, key_of)

    def _read(self, _):
        while True:
            try:
                os.read(self.fd, 65536)
            except OSError:
                return
            now = time.perf_counter()
            for path in sorted(glob.glob(os.path.join(self.directory, "*.ndjson"))):
                with open(path, "rb") as f:
                    f.seek(self.offsets.get(path, 0))
                    data = f.read()
                self.offsets[path] = self.offsets.get(path, 0) + len(data)
                data = self.partial.pop(path, b"") + data
                lines = data.split(b"\n")
                if lines[-1]:
                    self.partial[path] = lines[-1]
                with self.cond:
                    for raw in lines[:-1]:
                        key = self.key_of(raw)
                        self.lines.append(raw)
                        if key is not None and key not in self.arrived:
                            self.arrived[key] = now
                        self.last = now
                    self.cond.notify_all()


def fimbeat_key(raw):
    try:
        doc = json.loads(raw)
    except ValueError:
        return None
    f = doc.get("file", {})
    return (f.get("path"), f.get("size"))


def start_fimbeat(binary, work, root, name, backend, extra="", out=None):
    home = os.path.join(work, f"home-{name}")
    os.makedirs(home, exist_ok=True)
    config = os.path.join(work, f"{name}.yml")
    with open(config, "w") as f:
        f.write("fimbeat.modules:\n- module: file_integrity\n"
                f"  paths: [{json.dumps(root)}]\n  recursive: true\n  hash_types: [sha1]\n"
                f"  backend: {backend}\n  mime_type: false\n{extra}"
                + (f"output.file:\n  path: {json.dumps(out)}\n  rotate_every_kb: 10000000\n" if out else
                   "output.console:\n  pretty: false\n")
                + "logging.to_files: false\n")
    os.chmod(config, 0o600)
    log = open(os.path.join(work, f"{name}.log"), "wb")
    proc = subprocess.Popen([binary, "run", "-e", "-c", config, "--path.home", home], stdout=subprocess.DEVNULL,
                            stderr=log, stdin=subprocess.DEVNULL)
    path = os.path.join(work, f"{name}.log")
    return proc, path


def start_watching(binary, work, root, name, backend, extra="", out=None, timeout=TIMEOUT_S):
    """fimbeat on `root` with `backend`, once its start-up scan is done; checks that the backend
    asked for is the one running (fimbeat may fall back to inotify and only warn)."""
    proc, log = start_fimbeat(binary, work, root, name, backend, extra, out)
    try:
        wait_log(log, "scan done", proc, timeout)
        with open(log, "rb") as f:
            text = f.read()
        running = b"fanotify: " in text and b"filesystem mark" in text
        if running != (backend == "fanotify"):
            raise RuntimeError(f"fimbeat is not running backend: {backend}; see {log}")
    except BaseException:
        stop(proc)
        raise
    return proc, log


def final_metrics(log):
    """fimbeat's metrics from the "Total metrics" line it logs when it stops, flattened to dotted names."""
    tree = {}
    with open(log, "rb") as f:
        for raw in f:
            try:
                record = json.loads(raw)
            except ValueError:
                continue
            if record.get("message") == "Total metrics":
                tree = record["monitoring"]["metrics"]["fimbeat"]
    flat = {}

    def walk(prefix, node):
        for key, value in node.items():
            name = f"{prefix}.{key}" if prefix else key
            if isinstance(value, dict):
                walk(name, value)
            else:
                flat[name] = value

    walk("", tree)
    return flat


def wait_log(path, text, proc, timeout=TIMEOUT_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"fimbeat exited with {proc.returncode}; see {path}")
        with open(path, "rb") as f:
            if text.encode() in f.read():
                return
        time.sleep(0.02)  # polling interval
    raise RuntimeError(f"'{text}' not logged within {timeout} s; see {path}")


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]




def bench_latency(binary, work, backend, ops):
    root = os.path.join(work, f"latency-{backend}")
    for i in range(100):
        os.makedirs(os.path.join(root, f"d{i}"))
    out = os.path.join(work, f"latency-{backend}-events")
    os.makedirs(out)
    fim = FileTail(out, fimbeat_key)
    proc, log = start_watching(binary, work, root, f"latency-{backend}", backend, out=out)
    iw = subprocess.Popen(["inotifywait", "-m", "-r", "-q", "-e", "close_write", "--format", "%w%f", root],
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    iwatch = LineWatcher(iw.stdout, lambda raw: raw.decode("utf-8", "replace").rstrip("\n"))
    probe = os.path.join(root, "probe")  # inotifywait is ready once it reports a first close
    while probe not in iwatch.arrived:
        with open(probe, "wb") as f:
            f.write(b"p")
        time.sleep(0.05)  # retry interval until inotifywait's watches are in place
    payload = os.urandom(100)
    fim_ms, iw_ms = [], []
    try:
        for i in range(ops):
            path = os.path.join(root, f"d{i % 100}", f"f{i}")
            t0 = time.perf_counter()
            with open(path, "wb") as f:
                f.write(payload)
            fim_ms.append((fim.wait((path, 100)) - t0) * 1000)
            iw_ms.append((iwatch.wait(path) - t0) * 1000)
    finally:
        stop(proc)
        iw.terminate()
        iw.wait()
    metrics = final_metrics(log)
    inside = {p: metrics.get(f"pipeline.live_latency_us.{p}", 0) / 1000 for p in ("p50", "p99", "max")}
    inside["count"] = metrics.get("pipeline.live_latency_us.count", 0)
    return {"fimbeat_ms": fim_ms, "inotifywait_ms": iw_ms, "inside_ms": inside}


def fanotify_skip_reason():
    if os.geteuid() != 0:
        return "needs root (CAP_SYS_ADMIN)"
    return None


def fmt_ms(values, p):
    return f"{percentile(values, p):.2f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--ops", type=int, default=10000)
    parser.add_argument("--backends", default="inotify,fanotify")
    args = parser.parse_args()
    binary = os.path.abspath(os.environ.get("FIMBEAT_BIN", "build/fimbeat"))
    if not shutil.which("inotifywait"):
        sys.exit("inotifywait not found: install inotify-tools (make test-deps)")
    backends = [b for b in args.backends.split(",") if b]
    if any(b not in ("inotify", "fanotify") for b in backends):
        sys.exit(f"--backends: inotify and/or fanotify, not {args.backends}")
    skipped = {}
    if "fanotify" in backends and fanotify_skip_reason():
        skipped["fanotify"] = fanotify_skip_reason()
        backends.remove("fanotify")
    version = subprocess.run([binary, "version"], capture_output=True, text=True).stdout.strip()
    work = tempfile.mkdtemp(prefix="fimbeat-bench-latency-")
    latency = {}
    try:
        for b in backends:
            print(f"{b}: {args.ops} sequential write+close", file=sys.stderr, flush=True)
            latency[b] = bench_latency(binary, work, b, args.ops)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    lines = ["## Live latency (`make bench-latency`)", "", provenance(version), "",
             f"{args.ops:,} new 100-byte files written one after another (open, write, close) in a 100-directory "
             "tree on the same file system as the agent's data; milliseconds.", "",
             "| backend | fimbeat p50 | fimbeat p99 | inotifywait p50 | inotifywait p99 | p99 / inotifywait's "
             "(target <= 2x) | inside fimbeat p50 / p99 (kernel event read → document written) |",
             "|---|---:|---:|---:|---:|---|---|"]
    for b in ("inotify", "fanotify"):
        if b in skipped:
            lines.append(f"| {b} | skipped: {skipped[b]} | | | | | |")
            continue
        if b not in latency:
            continue
        r = latency[b]
        ratio = percentile(r["fimbeat_ms"], 99) / percentile(r["inotifywait_ms"], 99)
        inside = r["inside_ms"]
        lines.append(f"| {b} | {fmt_ms(r['fimbeat_ms'], 50)} | {fmt_ms(r['fimbeat_ms'], 99)} | "
                     f"{fmt_ms(r['inotifywait_ms'], 50)} | {fmt_ms(r['inotifywait_ms'], 99)} | "
                     f"{ratio:.2f}x ({'met' if ratio <= 2 else '**missed**'}) | "
                     f"{inside['p50']:.2f} / {inside['p99']:.2f} ({inside['count']:,} changes) |")
    lines += ["", "fimbeat's inside figures come from its pipeline.live_latency_us histogram (buckets an eighth of "
              "their value wide); the outside ones are measured here, so they include the notification of this "
              "script by inotify on the output directory."]
    text = "\n".join(lines)
    print("\n" + text)
    write_section("latency", text)


if __name__ == "__main__":
    main()
