#!/usr/bin/env python3
"""Realtime benchmark: both backends (backend: inotify and backend: fanotify) side by side, beside
`inotifywait -m -r`, printed as one markdown table.

Usage: FIMBEAT_BIN=build/fimbeat bench_latency.py [--ops N] [--storm N] [--storm-procs N] [--dirs N]
                                                  [--backends inotify,fanotify] [--skip-rss]

(a) Latency, per backend. fimbeat (output.file, which writes each batch with write(2); this script
    is woken by inotify on the output directory) and `inotifywait -m -r -e close_write` (read from
    a pipe) watch the same tree at the same time. N times, one after another: write a new file
    (open, write 100 bytes, close) and wait until both have reported it. The latency of each tool
    is from just before the open to the arrival of its line: for fimbeat that is the whole
    pipeline (kernel event, coalescing, metadata, hash, diff against the RocksDB baseline, ECS
    document, write); inotifywait prints the raw kernel event. Each write is a new file (a file
    closed again soon after a look waits for the end of the burst, by design).
(b) Storm throughput, per backend. A small C program (compiled here with the system cc) makes
    random creates, appends, chmods, renames and deletes over 200 directories as fast as the
    kernel lets it, in several processes at once, so that fimbeat and not the generator is the
    limit. The clock runs from the start of the storm to the last document fimbeat writes about
    it, once its output has been quiet for a while after a barrier file made after the storm.
    Then the final state the documents describe (replayed: moves and deletions applied) is
    compared with the tree: type, size, mode and SHA-1 of every path. The ops/s count only when
    nothing is lost; a kernel queue overflow is allowed (fimbeat rescans) and shown.
(c) Peak RSS with 100,000 watched directories: fimbeat's VmHWM once its start-up scan is done
    (the watches or the mark are placed before the scan) for each backend, and inotifywait's once
    it says "Watches established". inotify needs fs.inotify.max_user_watches above 100,000
    (raised for the run and restored when root; skipped with a message otherwise); fanotify
    places one filesystem mark whatever the size of the tree.
fanotify needs root (CAP_SYS_ADMIN); without it its column says why it was skipped.
It is a benchmark: the exit code is 0 whether the target (fimbeat p99 within 2x of
inotifywait's) is met or not, non-zero only when a tool fails.
"""
import argparse
import ctypes
import glob
import hashlib
import json
import os
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
    """The metrics fimbeat logs (as JSON in a JSON log line) when it stops, flattened to dotted names."""
    tree = {}
    with open(log, "rb") as f:
        for raw in f:
            try:
                message = json.loads(raw).get("message", "")
            except ValueError:
                continue
            if message.startswith("fimbeat stopped; metrics: "):
                tree = json.loads(message.split(": ", 1)[1])
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


def hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


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
    events = metrics.get("watcher.realtime.kernel_events", 0) + metrics.get("watcher.fanotify.events", 0)
    return {"fimbeat_ms": fim_ms, "inotifywait_ms": iw_ms, "kernel_events": events}


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


def lost_paths(lines, root, skip):
    """Paths whose final state the documents get wrong (missing, extra or different)."""
    state = replay(lines, skip)
    actual = tree_state(root, skip)
    wrong = [p for p in sorted(set(state) | set(actual))
             if p not in state or p not in actual or
             (state[p]["type"], state[p].get("size"), int(state[p]["mode"], 8),
              state[p].get("hash", {}).get("sha1")) != actual[p]]
    for p in wrong[:5]:  # what went wrong, for whoever investigates
        print(f"  wrong final state: {p}: documents say {state.get(p, {}).get('type', 'nothing')}"
              f"{'' if p not in state else ' ' + str(state[p].get('size'))}, the tree has "
              f"{actual.get(p, 'nothing')}", file=sys.stderr)
    return len(wrong)


# The storm generator: `storm ROOT DIRS OPS SEED ID` makes OPS random operations on files of its
# own (named p<ID>-...) in ROOT/d0 .. ROOT/d<DIRS-1>, which exist. Any failure is fatal: no other
# process touches its files.
STORM_C = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t state;
static uint64_t next(void) {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return state;
}
static void fail(const char* what, const char* path) {
  perror(what);
  fprintf(stderr, "storm: %s %s\n", what, path);
  exit(1);
}
static void put(const char* path, int flags, size_t size, const char* data) {
  int fd = open(path, flags | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) fail("open", path);
  if (size > 0 && write(fd, data, size) != (ssize_t)size) fail("write", path);
  if (close(fd) != 0) fail("close", path);
}

int main(int argc, char** argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: storm ROOT DIRS OPS SEED ID\n");
    return 2;
  }
  const char* root = argv[1];
  const long dirs = atol(argv[2]), ops = atol(argv[3]), id = atol(argv[5]);
  state = strtoull(argv[4], NULL, 10) * 2654435761u + (uint64_t)id * 40503u + 1;
  static char data[4096];
  for (size_t i = 0; i < sizeof data; i++) data[i] = (char)next();
  char** files = calloc((size_t)ops + 1, sizeof *files);
  long count = 0;
  char path[4096];
  static const mode_t modes[] = {0600, 0644, 0640};
  for (long n = 0; n < ops; n++) {
    const uint64_t op = next() % 100;
    const char* payload = data + next() % 1024;
    if (op < 35 || count == 0) {
      snprintf(path, sizeof path, "%s/d%ld/p%ld-f%ld", root, (long)(next() % dirs), id, n);
      put(path, O_CREAT | O_TRUNC, next() % 2001, payload);
      files[count++] = strdup(path);
    } else if (op < 55) {
      put(files[next() % count], O_APPEND, 1 + next() % 500, payload);
    } else if (op < 65) {
      const char* f = files[next() % count];
      if (chmod(f, modes[next() % 3]) != 0) fail("chmod", f);
    } else if (op < 85) {
      const long i = (long)(next() % count);
      snprintf(path, sizeof path, "%s/d%ld/p%ld-r%ld", root, (long)(next() % dirs), id, n);
      if (rename(files[i], path) != 0) fail("rename", files[i]);
      free(files[i]);
      files[i] = strdup(path);
    } else {
      const long i = (long)(next() % count);
      if (unlink(files[i]) != 0) fail("unlink", files[i]);
      free(files[i]);
      files[i] = files[--count];
    }
  }
  return 0;
}
"""


def compile_storm(work):
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise RuntimeError("no C compiler (cc) for the storm generator")
    source, exe = os.path.join(work, "storm.c"), os.path.join(work, "storm")
    with open(source, "w") as f:
        f.write(STORM_C)
    subprocess.run([cc, "-O2", "-o", exe, source], check=True)
    return exe


def run_storm(exe, root, ops, procs, seed):
    """Runs the generator in `procs` processes at once; returns how long they took."""
    t0 = time.perf_counter()
    gens = [subprocess.Popen([exe, root, str(STORM_DIRS), str(ops // procs + (i < ops % procs)), str(seed), str(i)],
                             stdin=subprocess.DEVNULL) for i in range(procs)]
    failed = [g.args for g in gens if g.wait() != 0]
    if failed:
        raise RuntimeError(f"storm generator failed: {failed}")
    return time.perf_counter() - t0


STORM_DIRS = 200
QUIESCENCE_S = 1.0  # the output is done with the storm once it has been this quiet


def storm_parent(work):
    """Where the storm runs: tmpfs when there is one, because creating a file on a slow disk can
    cost the generator more than fimbeat spends on it; fimbeat's own files stay in `work`."""
    shm = "/dev/shm"
    with open("/proc/mounts") as f:
        tmpfs = any(line.split()[1:3] == [shm, "tmpfs"] for line in f)
    if tmpfs and os.access(shm, os.W_OK):
        return tempfile.mkdtemp(prefix="fimbeat-bench-storm-", dir=shm), "tmpfs"
    return tempfile.mkdtemp(prefix="storm-", dir=work), "the work directory's filesystem"


def bench_storm(binary, work, parent, backend, exe, ops, procs):
    root = os.path.join(parent, f"storm-{backend}")
    for i in range(STORM_DIRS):
        os.makedirs(os.path.join(root, f"d{i}"))
    barrier = os.path.join(root, "barrier")
    out = os.path.join(work, f"storm-{backend}-events")
    os.makedirs(out)
    fim = FileTail(out, fimbeat_key)
    proc, log = start_watching(binary, work, root, f"storm-{backend}", backend, "  realtime.quiet_period: 200ms\n",
                               out=out)
    try:
        fim.wait_quiet(QUIESCENCE_S)  # the start-up scan's documents are out
        t0 = time.perf_counter()
        made = run_storm(exe, root, ops, procs, seed=7)
        with open(barrier, "wb") as f:  # a new file, closed: reported as soon as it is read
            f.write(b"b")
        fim.wait((barrier, 1))
        # Quiet after the barrier: done, unless a rescan (after an overflow) still has work; then
        # a wrong final state waits for more documents until they stop coming.
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            count = fim.wait_quiet(QUIESCENCE_S)
            with fim.cond:
                lines, last = list(fim.lines), fim.last
            lost = lost_paths(lines, root, barrier)
            if lost == 0 or not fim.wait_more(count, max(0.0, min(10.0, deadline - time.monotonic()))):
                break
    finally:
        stop(proc)
    metrics = final_metrics(log)
    if not metrics:
        raise RuntimeError(f"fimbeat logged no metrics when it stopped; see {log}")
    overflowed = metrics.get("watcher.realtime.overflows_handled", 0) > 0
    events = metrics.get("watcher.realtime.kernel_events", 0) + metrics.get("watcher.fanotify.events", 0)
    return {"ops": ops, "procs": procs, "make_s": made, "total_s": last - t0, "lost": lost, "docs": len(lines),
            "overflowed": overflowed, "kernel_events": events}


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


def fimbeat_rss(binary, work, root, backend):
    t0 = time.perf_counter()
    proc, _ = start_watching(binary, work, root, f"rss-{backend}", backend, timeout=600)
    ready = time.perf_counter() - t0
    kib = hwm_kib(proc.pid)
    stop(proc)
    return {"kib": kib, "ready_s": ready}


def inotifywait_rss(root):
    iw = subprocess.Popen(["inotifywait", "-m", "-r", root], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          stdin=subprocess.DEVNULL)
    t0 = time.perf_counter()
    for line in iw.stderr:
        if b"Watches established" in line:
            break
    ready = time.perf_counter() - t0
    kib = hwm_kib(iw.pid)
    iw.terminate()
    iw.wait()
    return {"kib": kib, "ready_s": ready}


def bench_rss(binary, work, count, backends):
    """VmHWM per tool over `count` directories: {tool: result} and {tool: why it was skipped}."""
    results, skipped = {}, {}
    root = make_dirs(count)
    for _ in os.walk(root):  # every tool then starts with the same warm dentry cache
        pass
    if "fanotify" in backends:
        results["fanotify"] = fimbeat_rss(binary, work, root, "fanotify")
    knob = "/proc/sys/fs/inotify/max_user_watches"
    with open(knob) as f:
        saved = int(f.read())
    need = count * 2 + 10000  # fimbeat and inotifywait run one after the other; other users' watches count too
    if saved < need:
        if os.geteuid() != 0:
            why = f"fs.inotify.max_user_watches is {saved}; {need} needed (run as root to raise it)"
            skipped.update({"inotify": why, "inotifywait": why})
            return results, skipped
        with open(knob, "w") as f:
            f.write(str(need))
    try:
        if "inotify" in backends:
            results["inotify"] = fimbeat_rss(binary, work, root, "inotify")
        results["inotifywait"] = inotifywait_rss(root)
    finally:
        if saved < need:
            with open(knob, "w") as f:
                f.write(str(saved))
    return results, skipped


def fanotify_skip_reason():
    if os.geteuid() != 0:
        return "needs root (CAP_SYS_ADMIN)"
    return None


def fmt_ms(values, p):
    return f"{percentile(values, p):.2f}"


def table(args, backends, skipped, latency, storm, rss, rss_skipped):
    cols = ["inotify", "fanotify"]
    head = ["", *[f"fimbeat `backend: {b}`" for b in cols], "`inotifywait -m -r`"]
    rows = []

    def cell(backend, text):
        return f"skipped: {skipped[backend]}" if backend in skipped else text(backend)

    def iw(values_of):
        shown = [f"{values_of(latency[b]['inotifywait_ms'])} (beside {b})" for b in cols if b in latency]
        return "; ".join(shown) or "-"

    for p in (50, 99):
        rows.append([f"latency write+close → output, p{p} (ms, {args.ops} sequential ops)",
                     *[cell(b, lambda b: fmt_ms(latency[b]["fimbeat_ms"], p)) for b in cols],
                     iw(lambda v: fmt_ms(v, p))])
    rows.append(["latency max (ms)", *[cell(b, lambda b: f"{max(latency[b]['fimbeat_ms']):.2f}") for b in cols],
                 iw(lambda v: f"{max(v):.2f}")])

    def ratio(b):
        r = percentile(latency[b]["fimbeat_ms"], 99) / max(percentile(latency[b]["inotifywait_ms"], 99), 1e-9)
        return f"{r:.2f}× ({'met' if r <= 2 else 'MISSED'})"

    rows.append(["p99 / inotifywait's p99 (target ≤ 2×)", *[cell(b, ratio) for b in cols], "-"])
    rows.append(["kernel events fimbeat read during the latency run (a filesystem mark sees the whole "
                 "filesystem's changes)", *[cell(b, lambda b: f"{latency[b]['kernel_events']:,}") for b in cols], "-"])

    def throughput(b):
        s = storm[b]
        rate = f"{s['ops'] / s['total_s']:,.0f}" if s["lost"] == 0 else f"LOST {s['lost']} paths"
        return rate

    def storm_detail(b):
        s = storm[b]
        return (f"all out in {s['total_s']:.2f} s (generator: {s['make_s']:.2f} s, {s['ops'] / s['make_s']:,.0f} ops/s); "
                f"{s['kernel_events']:,} kernel events → {s['docs']:,} documents; lost {s['lost']}"
                f"{'; queue overflowed → rescan' if s['overflowed'] else ''}")

    rows.append([f"storm ops/s, no lost final state ({args.storm:,} ops, {args.storm_procs} processes, "
                 f"{STORM_DIRS} dirs on {args.storm_fs})", *[cell(b, throughput) for b in cols], "-"])
    rows.append(["storm detail", *[cell(b, storm_detail) for b in cols], "-"])

    def rss_cell(tool):
        if tool in skipped:
            return f"skipped: {skipped[tool]}"
        if tool in rss_skipped:
            return f"skipped: {rss_skipped[tool]}"
        if tool not in rss:
            return "-"
        return f"{rss[tool]['kib'] / 1024:.1f}"

    def ready_cell(tool):
        return f"{rss[tool]['ready_s']:.1f}" if tool in rss else "-"

    what = {"inotify": f"{args.dirs:,} watches", "fanotify": "1 filesystem mark", "inotifywait": f"{args.dirs:,} watches"}
    rows.append([f"peak RSS, {args.dirs:,} directories (MiB VmHWM)", *[rss_cell(t) for t in (*cols, "inotifywait")]])
    rows.append(["ready on that tree (s): watches/mark placed + start-up scan",
                 *[f"{ready_cell(t)} ({what[t]})" if t in rss else "-" for t in (*cols, "inotifywait")]])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ops", type=int, default=10000)
    parser.add_argument("--storm", type=int, default=100000)
    parser.add_argument("--storm-procs", type=int, default=2)
    parser.add_argument("--dirs", type=int, default=100000)
    parser.add_argument("--backends", default="inotify,fanotify")
    parser.add_argument("--skip-rss", action="store_true")
    args = parser.parse_args()
    binary = os.environ.get("FIMBEAT_BIN", "build/fimbeat")
    if not shutil.which("inotifywait"):
        sys.exit("inotifywait not found: install inotify-tools (make deps)")
    backends = [b for b in args.backends.split(",") if b]
    if any(b not in ("inotify", "fanotify") for b in backends):
        sys.exit(f"--backends: inotify and/or fanotify, not {args.backends}")
    skipped = {b: "not asked for (--backends)" for b in ("inotify", "fanotify") if b not in backends}
    if "fanotify" in backends and fanotify_skip_reason():
        skipped["fanotify"] = fanotify_skip_reason()
        backends.remove("fanotify")
    work = tempfile.mkdtemp(prefix="fimbeat-bench-latency-")
    latency, storm = {}, {}
    storm_dir, storm_fs = None, None
    try:
        exe = compile_storm(work)
        storm_dir, storm_fs = storm_parent(work)
        for b in backends:
            print(f"{b}: latency, {args.ops} operations", file=sys.stderr, flush=True)
            latency[b] = bench_latency(binary, work, b, args.ops)
            print(f"{b}: storm, {args.storm} operations", file=sys.stderr, flush=True)
            storm[b] = bench_storm(binary, work, storm_dir, b, exe, args.storm, args.storm_procs)
            shutil.rmtree(os.path.join(storm_dir, f"storm-{b}"), ignore_errors=True)
        if args.skip_rss:
            rss, rss_skipped = {}, {t: "--skip-rss" for t in ("inotify", "fanotify", "inotifywait")}
        else:
            print(f"peak RSS, {args.dirs} directories", file=sys.stderr, flush=True)
            rss, rss_skipped = bench_rss(binary, work, args.dirs, backends)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if storm_dir:
            shutil.rmtree(storm_dir, ignore_errors=True)
    args.storm_fs = storm_fs
    print()
    print(table(args, backends, skipped, latency, storm, rss, rss_skipped))


if __name__ == "__main__":
    main()
