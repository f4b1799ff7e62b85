#!/usr/bin/env python3
"""Realtime benchmark: how fast a change becomes an event, beside `inotifywait -m -r`.

Usage: FIMBEAT_BIN=build/fimbeat bench_latency.py [--ops N] [--storm N] [--dirs N] [--skip-rss]

(a) Latency. fimbeat (output.file, which writes each batch with write(2); this script is woken
    by inotify on the output directory) and `inotifywait -m -r -e close_write` (read from a
    pipe) watch the same tree at the same time. N times, one after another: write a new file (open,
    write 100 bytes, close) and wait until both have reported it. The latency of each tool is
    from just before the open to the arrival of its line on the pipe: for fimbeat that is the
    whole pipeline (read metadata, hash, diff against the RocksDB baseline, build the ECS
    document, write it); inotifywait prints the raw kernel event. Each write is a new file (a
    file closed again soon after a look waits for the end of the burst, by design).
(b) Storm throughput. Random creates, appends, chmods, renames and deletes over 200 directories
    at full speed from this script; the clock stops when a barrier change made after the last
    operation is reported (everything before it has been). Then the final state the events
    describe (replayed: moves and deletions applied) is compared with the tree: type, size,
    mode and SHA-1 of every path. ops/s counts only a run that lost nothing.
(c) Peak RSS with 100,000 watched directories: fimbeat's VmHWM once its start-up scan is done
    (the watches are placed before the scan), and inotifywait's once it says "Watches
    established". Needs fs.inotify.max_user_watches above 100,000 (raised for the run and
    restored when root; skipped with a message otherwise).
It is a benchmark: the exit code is 0 whether the target (fimbeat p99 within 2x of
inotifywait's) is met or not, non-zero only when a tool fails.
"""
import argparse
import ctypes
import glob
import hashlib
import json
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time

TIMEOUT_S = 120
DIRS_CACHE = "/tmp/fimbeat-bench-dirs"


class LineWatcher:
    """Reads a process's stdout line by line; records when each key (from key_of) first arrived."""

    def __init__(self, stream, key_of):
        self.arrived = {}
        self.lines = []
        self.cond = threading.Condition()
        self.key_of = key_of
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream):
        for raw in stream:
            now = time.perf_counter()
            key = self.key_of(raw)
            with self.cond:
                self.lines.append(raw)
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
                    self.cond.notify_all()


def fimbeat_key(raw):
    try:
        doc = json.loads(raw)
    except ValueError:
        return None
    f = doc.get("file", {})
    return (f.get("path"), f.get("size"))


def start_fimbeat(binary, work, root, name, extra="", out=None):
    home = os.path.join(work, f"home-{name}")
    os.makedirs(home, exist_ok=True)
    config = os.path.join(work, f"{name}.yml")
    with open(config, "w") as f:
        f.write("fimbeat.modules:\n- module: file_integrity\n"
                f"  paths: [{json.dumps(root)}]\n  recursive: true\n  hash_types: [sha1]\n{extra}"
                + (f"output.file:\n  path: {json.dumps(out)}\n  rotate_every_kb: 10000000\n" if out else
                   "output.console:\n  pretty: false\n")
                + "logging.to_files: false\n")
    os.chmod(config, 0o600)
    log = open(os.path.join(work, f"{name}.log"), "wb")
    proc = subprocess.Popen([binary, "run", "-e", "-c", config, "--path.home", home], stdout=subprocess.DEVNULL,
                            stderr=log, stdin=subprocess.DEVNULL)
    return proc, os.path.join(work, f"{name}.log")


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


def hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def bench_latency(binary, work, ops):
    root = os.path.join(work, "latency")
    for i in range(100):
        os.makedirs(os.path.join(root, f"d{i}"))
    out = os.path.join(work, "latency-events")
    os.makedirs(out)
    fim = FileTail(out, fimbeat_key)
    proc, log = start_fimbeat(binary, work, root, "latency", "  mime_type: false\n", out=out)
    wait_log(log, "scan done", proc)
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
    return fim_ms, iw_ms


def replay(lines, skip):
    state = {}
    for raw in lines:
        doc = json.loads(raw)
        path = doc["file"]["path"]
        if path == skip:
            continue
        action = doc["event"]["action"]
        action = action if isinstance(action, list) else [action]
        if "deleted" in action:
            state.pop(path, None)
            continue
        previous = doc.get("file_integrity", {}).get("previous", {}).get("path")
        if "moved" in action and previous:
            state.pop(previous, None)
        state[path] = doc["file"]
    return state


def tree_state(root, skip):
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        found[dirpath] = ("dir", None, stat.S_IMODE(os.lstat(dirpath).st_mode), None)
        for name in filenames:
            p = os.path.join(dirpath, name)
            if p == skip:
                continue
            st = os.lstat(p)
            with open(p, "rb") as f:
                digest = hashlib.sha1(f.read()).hexdigest()
            found[p] = ("file", st.st_size, stat.S_IMODE(st.st_mode), digest)
    return found


def storm_ops(root, ops, rng):
    dirs = [os.path.join(root, f"d{i}") for i in range(200)]
    for d in dirs:
        os.mkdir(d)
    files = []
    for n in range(ops):
        op = rng.random()
        try:
            if op < 0.35 or not files:
                p = os.path.join(rng.choice(dirs), f"f{n}")
                with open(p, "wb") as f:
                    f.write(os.urandom(rng.randint(0, 2000)))
                files.append(p)
            elif op < 0.55:
                with open(rng.choice(files), "ab") as f:
                    f.write(os.urandom(rng.randint(1, 500)))
            elif op < 0.65:
                os.chmod(rng.choice(files), rng.choice([0o600, 0o644, 0o640]))
            elif op < 0.85:
                i = rng.randrange(len(files))
                dst = os.path.join(rng.choice(dirs), f"r{n}")
                os.rename(files[i], dst)
                files[i] = dst
            else:
                os.unlink(files.pop(rng.randrange(len(files))))
        except FileNotFoundError:
            pass


def bench_storm(binary, work, ops):
    root = os.path.join(work, "storm")
    os.makedirs(root)
    barrier = os.path.join(root, "barrier")
    with open(barrier, "wb"):
        pass
    out = os.path.join(work, "storm-events")
    os.makedirs(out)
    fim = FileTail(out, fimbeat_key)
    proc, log = start_fimbeat(binary, work, root, "storm", "  mime_type: false\n  realtime.quiet_period: 200ms\n",
                              out=out)
    wait_log(log, "scan done", proc)
    try:
        t0 = time.perf_counter()
        storm_ops(root, ops, random.Random(7))
        made = time.perf_counter()
        os.truncate(barrier, 1)  # settled after the quiet period: everything before it is in by then
        done = fim.wait((barrier, 1))
    finally:
        stop(proc)
    with open(log, "rb") as f:
        overflowed = b"overflowed" in f.read()
    state = replay(fim.lines, barrier)
    actual = tree_state(root, barrier)
    lost = sum(1 for p in set(state) | set(actual)
               if p not in state or p not in actual or
               (state[p]["type"], state[p].get("size"), int(state[p]["mode"], 8),
                state[p].get("hash", {}).get("sha1")) != actual[p])
    quiet = 0.2  # the barrier's own quiet period is not the pipeline's work
    return {"ops": ops, "make_s": made - t0, "total_s": done - t0 - quiet, "lost": lost, "overflowed": overflowed,
            "events": len(fim.lines)}


def make_dirs(count):
    marker = os.path.join(DIRS_CACHE, f"complete-{count}")
    if os.path.exists(marker):
        return os.path.join(DIRS_CACHE, "tree")
    shutil.rmtree(DIRS_CACHE, ignore_errors=True)
    root = os.path.join(DIRS_CACHE, "tree")
    per = 1000
    for i in range((count + per - 1) // per):
        for j in range(min(per, count - i * per)):
            os.makedirs(os.path.join(root, f"a{i}", f"b{j}"))
    open(marker, "w").close()
    return root


def bench_rss(binary, work, count):
    knob = "/proc/sys/fs/inotify/max_user_watches"
    with open(knob) as f:
        saved = int(f.read())
    need = count * 2 + 10000  # fimbeat and inotifywait at once would need both; they run one after the other
    if saved < need:
        if os.geteuid() != 0:
            return None, f"fs.inotify.max_user_watches is {saved}; {need} needed (run as root to raise it)"
        with open(knob, "w") as f:
            f.write(str(need))
    try:
        root = make_dirs(count)
        proc, log = start_fimbeat(binary, work, root, "rss", "  mime_type: false\n")
        t0 = time.perf_counter()
        wait_log(log, "scan done", proc, timeout=600)
        ready = time.perf_counter() - t0
        fim_kib = hwm_kib(proc.pid)
        stop(proc)
        iw = subprocess.Popen(["inotifywait", "-m", "-r", root], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL)
        t0 = time.perf_counter()
        for line in iw.stderr:
            if b"Watches established" in line:
                break
        iw_ready = time.perf_counter() - t0
        iw_kib = hwm_kib(iw.pid)
        iw.terminate()
        iw.wait()
        return {"fimbeat_kib": fim_kib, "inotifywait_kib": iw_kib, "fimbeat_s": ready, "inotifywait_s": iw_ready}, None
    finally:
        if saved < need:
            with open(knob, "w") as f:
                f.write(str(saved))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ops", type=int, default=10000)
    parser.add_argument("--storm", type=int, default=20000)
    parser.add_argument("--dirs", type=int, default=100000)
    parser.add_argument("--skip-rss", action="store_true")
    args = parser.parse_args()
    binary = os.environ.get("FIMBEAT_BIN", "build/fimbeat")
    if not shutil.which("inotifywait"):
        sys.exit("inotifywait not found: install inotify-tools (make deps)")
    work = tempfile.mkdtemp(prefix="fimbeat-bench-latency-")
    try:
        fim_ms, iw_ms = bench_latency(binary, work, args.ops)
        storm = bench_storm(binary, work, args.storm)
        rss, why = (None, "skipped (--skip-rss)") if args.skip_rss else bench_rss(binary, work, args.dirs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nLatency, write+close of a new 100-byte file to its report, {args.ops} sequential operations")
    print(f"{'tool':<40}{'p50 ms':>10}{'p90 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    for name, values in (("fimbeat (ECS document in output.file)", fim_ms), ("inotifywait -m -r (raw event)", iw_ms)):
        print(f"{name:<40}{percentile(values, 50):>10.3f}{percentile(values, 90):>10.3f}"
              f"{percentile(values, 99):>10.3f}{max(values):>10.3f}")
    ratio = percentile(fim_ms, 99) / max(percentile(iw_ms, 99), 1e-9)
    print(f"p99 ratio fimbeat/inotifywait: {ratio:.2f} (target <= 2.0: {'met' if ratio <= 2 else 'MISSED'})")
    print(f"\nStorm: {storm['ops']} random operations over 200 directories")
    print(f"  made in {storm['make_s']:.2f} s; all reported after {storm['total_s']:.2f} s "
          f"-> {storm['ops'] / storm['total_s']:.0f} ops/s; {storm['events']} events; "
          f"paths whose final state the events get wrong: {storm['lost']}"
          f"{'; the kernel queue overflowed (rescan)' if storm['overflowed'] else ''}")
    print(f"\nPeak RSS with {args.dirs} watched directories")
    if rss is None:
        print(f"  {why}")
    else:
        print(f"  fimbeat:     {rss['fimbeat_kib'] / 1024:.1f} MiB VmHWM (watches placed and scan done in "
              f"{rss['fimbeat_s']:.1f} s)")
        print(f"  inotifywait: {rss['inotifywait_kib'] / 1024:.1f} MiB VmHWM (watches established in "
              f"{rss['inotifywait_s']:.1f} s)")


if __name__ == "__main__":
    main()
