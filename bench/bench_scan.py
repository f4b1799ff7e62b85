#!/usr/bin/env python3
"""Scan benchmark: what an operator notices of fimbeat's scans, beside the tools it is compared with.

Usage: FIMBEAT_BIN=build/fimbeat bench_scan.py [--files N] [--total-mb M] [--second-files N] [--rounds R]

Two generated trees, kept under /tmp/fimbeat-bench-tree between runs (a params.json marker, written
last, says one is complete) and read once to warm the page cache:
- the first-scan tree: 50,000 files of varied sizes (600 MB by default);
- the second-scan tree: 200,000 small files.
Runs, each repeated R times (3 by default); the table gives each run's median:
  (a)  fimbeat's first scan with the default configuration (hash_types [sha1, sha256], MIME types
       on): wall from the start until its last document is written (output.file), then SIGTERM;
  (a') the same with mime_type: false;
  (b)  aide --init: the p+i+n+u+g+s+m+c+sha256 attributes, 2 workers, a plain database;
  (c)  find TREE -type f -print0 | xargs -0 -P2 sha256sum > /dev/null: the hashing floor;
  (d)  fimbeat's second scan of the unchanged 200,000-file tree, on fimbeat's own clock: from the
       scan's start to its "scan done" log line (which says how long the scan took);
  (e)  find TREE -printf '%i %s %T@ %C@ %m %U %G\\n' > /dev/null on the same tree: a single-threaded
       stat walk.
Targets: (a) at least 3x faster than (b) and no slower than (c); (d) no slower than (e); the peak RSS
of (a) at most 48 MiB (VmHWM, every library shared). The table is printed and written to
bench/RESULTS.md. CPU is user+sys from os.wait4; the CPU other processes used during each run is
reported, as the numbers mean something only on an otherwise idle machine. It is a benchmark: the
exit code is 0 whether the targets are met or not, non-zero only when a tool fails.
"""
import argparse
import json
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from results import provenance, write_section

CACHE_ROOT = "/tmp/fimbeat-bench-tree"
TREE_VERSION = 1  # bump when the generator changes, so cached trees are regenerated
BLOCK = 1 << 20
MB = 1e6
TIMEOUT_S = 1800
EXTENSIONS = [".txt", ".conf", ".so", ".bin", ".log", ".py", ".json", ".dat", ".gz", ""]


def plan_tree(files, total_bytes, seed):
    """Returns ([[relative path, size, size class, content offset]], class counts, scale
    factor), all from one seeded random.Random: 1 directory per 50 files, 2 to 5 levels deep; 97.5% small files (0-16 KiB, skewed small), 2.475% medium (16 KiB-1 MiB,
    log-uniform), 0.025% large (1-20 MiB, log-uniform); the medium and large sizes are then
    scaled by one factor so the total is total_bytes (about 1.0 at the default size)."""
    rng = random.Random(seed)
    leaves = set()
    for _ in range(max(1, files // 50)):
        depth = rng.randint(2, 5)
        fanout = [6, 10, 16, 16, 16]
        leaves.add("/".join(f"l{level}_{rng.randrange(fanout[level])}" for level in range(depth)))
    leaves = sorted(leaves)
    counts = {"small": 0, "medium": 0, "large": 0}
    plan = []
    for i in range(files):
        u, v = rng.random(), rng.random()
        if u < 0.975:
            kind, size = "small", int(16384 * v ** 3)
        elif u < 0.99975:
            kind, size = "medium", int(16384 * 64 ** v)
        else:
            kind, size = "large", int(BLOCK * 20 ** v)
        counts[kind] += 1
        name = f"{leaves[rng.randrange(len(leaves))]}/f{i:06}{EXTENSIONS[rng.randrange(len(EXTENSIONS))]}"
        plan.append([name, size, kind, rng.randrange(BLOCK)])
    small = sum(p[1] for p in plan if p[2] == "small")
    rest = sum(p[1] for p in plan if p[2] != "small")
    if rest > 0 and total_bytes > small:
        factor, scaled = (total_bytes - small) / rest, ("medium", "large")
    else:  # a tiny total: scale everything down
        factor, scaled = total_bytes / max(1, small + rest), ("small", "medium", "large")
    for p in plan:
        if p[2] in scaled:
            p[1] = int(p[1] * factor)
    return plan, counts, factor


def write_tree(tree, plan, seed):
    """Content: a seeded 1 MiB random block, read cyclically from a per-file offset (a
    different offset for every MiB of a large file), after an 8-byte file number, so no two
    files of 8 bytes or more are alike and generating costs little more than the writes."""
    block = random.Random(seed ^ 0x5EED).randbytes(BLOCK)
    ring = memoryview(block + block)
    made_dirs = set()
    for index, (name, size, _, offset) in enumerate(plan):
        path = os.path.join(tree, name)
        directory = os.path.dirname(path)
        if directory not in made_dirs:
            os.makedirs(directory, exist_ok=True)
            made_dirs.add(directory)
        with open(path, "wb", buffering=0) as f:
            header = index.to_bytes(8, "little")[:size]
            f.write(header)
            left, chunk = size - len(header), 0
            while left > 0:
                start = (offset + chunk * 104729) % BLOCK
                n = min(left, BLOCK)
                f.write(ring[start:start + n])
                left -= n
                chunk += 1


def ensure_tree(files, total_mb, seed):
    """The cached tree for these parameters, generated (in a forked child, so this process's
    peak RSS, which every child it spawns inherits as a floor, stays small) if missing or
    incomplete. Returns (tree, the parameters with the size classes and generation time)."""
    params = {"version": TREE_VERSION, "files": files, "total_mb": total_mb, "seed": seed}
    base = os.path.join(CACHE_ROOT, f"f{files}_mb{total_mb:g}_s{seed}")
    tree, marker = os.path.join(base, "tree"), os.path.join(base, "params.json")

    def cached():
        try:
            with open(marker) as f:
                found = json.load(f)
        except (OSError, ValueError):
            return None
        return found if all(found.get(k) == v for k, v in params.items()) else None

    found, generated = cached(), False
    if found is None:
        pid = os.fork()
        if pid == 0:
            try:
                shutil.rmtree(base, ignore_errors=True)
                os.makedirs(tree)
                start = time.monotonic()
                plan, counts, factor = plan_tree(files, int(total_mb * MB), seed)
                write_tree(tree, plan, seed)
                os.sync()
                with open(marker, "w") as f:  # last: its presence means the tree is complete
                    json.dump(dict(params, counts=counts, factor=factor,
                                   generation_s=round(time.monotonic() - start, 2)), f)
                os._exit(0)
            except BaseException:
                import traceback
                traceback.print_exc()
                os._exit(1)
        _, status = os.waitpid(pid, 0)
        found, generated = cached(), True
        if os.waitstatus_to_exitcode(status) != 0 or found is None:
            raise SystemExit(f"generating the tree in {base} failed")
    os.sync()  # no writeback of the generated tree during the timed runs
    return tree, found, generated


def warm(tree):
    """Reads every file once (page cache) and counts what is there: (files, bytes, paths),
    paths being what fimbeat reports: every file and directory, the root included."""
    buf = bytearray(BLOCK)
    files = total = dirs = 0
    for root, dirnames, names in os.walk(tree):
        dirs += len(dirnames)
        for name in names:
            with open(os.path.join(root, name), "rb", buffering=0) as f:
                while (n := f.readinto(buf)):
                    total += n
            files += 1
    return files, total, files + dirs + 1


class LineCounter:
    """Counts the lines of the files in a directory, reading only what is new at each call
    (so polling does not compete with the measured process for the CPU) and at most 1 MiB
    at a time (so this process stays small: see spawn_floor). With a pattern, it also keeps
    the first complete line containing it."""

    def __init__(self, directory, pattern=None):
        self.directory, self.pattern = directory, pattern
        self.offsets, self.lines, self.matched = {}, 0, None

    def poll(self):
        names = sorted(os.listdir(self.directory)) if os.path.isdir(self.directory) else []
        for name in names:
            with open(os.path.join(self.directory, name), "rb") as f:
                f.seek(self.offsets.get(name, 0))
                while (chunk := f.read(BLOCK)):
                    complete = chunk[:chunk.rfind(b"\n") + 1]  # a partial last line is read again
                    if not complete:
                        break  # no complete line yet (or one longer than 1 MiB): next poll
                    if self.pattern is not None and self.matched is None and self.pattern in complete:
                        self.matched = next(line for line in complete.split(b"\n") if self.pattern in line)
                    self.offsets[name] = self.offsets.get(name, 0) + len(complete)
                    self.lines += complete.count(b"\n")
                    if len(chunk) < BLOCK:
                        break  # at the end of what is written so far
                    f.seek(self.offsets[name])  # go on from the first incomplete line
        return self.lines


def spawn_floor():
    """The least ru_maxrss a child spawned now can report: Linux charges the address space a
    child replaces at exec (this process's, shared by vfork) to the child's ru_maxrss."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class TreeSampler(threading.Thread):
    """Samples /proc every 20 ms for a process and all its descendants: the largest VmHWM of
    any one of them, and the largest sum of their VmRSS at one instant. VmHWM belongs to the
    address space made at exec, so unlike ru_maxrss it does not include the spawning Python
    process's pages; but a process living less than a sample period (one sha256sum) can be
    missed."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.stop, self.hwm, self.rss_sum, self.own_hwm = pid, threading.Event(), 0, 0, 0

    @staticmethod
    def status(pid):
        hwm = rss = 0
        try:
            with open(f"/proc/{pid}/status", "rb") as f:
                for line in f:
                    if line.startswith(b"VmHWM:"):
                        hwm = int(line.split()[1])
                    elif line.startswith(b"VmRSS:"):
                        rss = int(line.split()[1])
        except (OSError, ValueError):
            pass
        return hwm, rss

    def sample(self):
        pending, total = [self.pid], 0
        while pending:
            pid = pending.pop()
            hwm, rss = self.status(pid)
            if pid == self.pid:
                self.own_hwm = max(self.own_hwm, hwm)
            self.hwm, total = max(self.hwm, hwm), total + rss
            try:
                with open(f"/proc/{pid}/task/{pid}/children", "rb") as f:
                    pending.extend(int(child) for child in f.read().split())
            except (OSError, ValueError):
                pass
        self.rss_sum = max(self.rss_sum, total)

    def run(self):
        while not self.stop.is_set():
            self.sample()
            self.stop.wait(0.02)


def busy_cpu_s():
    """CPU seconds the whole machine has been busy (user, nice, system, irq, softirq, steal)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return (sum(fields[:3]) + sum(fields[5:8])) / os.sysconf("SC_CLK_TCK")


def self_cpu_s():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Measure:
    def __init__(self, wall, cpu, rss, floor, sampled, others):
        self.wall, self.cpu, self.rss, self.floor, self.sampled = wall, cpu, rss, floor, sampled
        self.others = others  # CPU s used by other processes of the machine during the run


def run_measured(name, argv, done=None, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, started=None,
                 wait=time.sleep):
    """Runs argv; `done()` says when the work is finished (then SIGTERM), None = wait for exit.
    `started(proc)` is called right after the spawn; `wait(seconds)` is the pause between two
    checks of done() (an Event's wait returns as soon as it is set). Wall time, CPU (user+sys)
    and ru_maxrss come from os.wait4 on the process, which on Linux includes the descendants it
    waited for; `sampled` is the TreeSampler."""
    os.sync()
    floor = spawn_floor()
    busy, own = busy_cpu_s(), self_cpu_s()
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdout=stdout, stderr=stderr)
    if started is not None:
        started(proc)
    sampler = TreeSampler(proc.pid)
    sampler.start()
    if done is not None:
        deadline = start + TIMEOUT_S
        while not done():
            if proc.poll() is not None:
                sampler.stop.set()
                raise SystemExit(f"{name}: {argv[0]} exited with {proc.returncode} before finishing")
            if time.monotonic() > deadline:
                proc.kill()
                raise SystemExit(f"{name}: {argv[0]} did not finish within {TIMEOUT_S} s")
            wait(0.01)
        wall = time.monotonic() - start
        sampler.sample()  # the peak of the work itself, before the shutdown
        proc.send_signal(signal.SIGTERM)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if done is None:
        wall = time.monotonic() - start
    sampler.stop.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"{name}: {argv[0]} exited with {proc.returncode}")
    cpu = usage.ru_utime + usage.ru_stime
    others = max(0.0, busy_cpu_s() - busy - cpu - (self_cpu_s() - own))
    return Measure(wall, cpu, usage.ru_maxrss / 1024.0, floor, sampler, others)


def tail(path, lines=20):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


def fimbeat_config(path, tree, events, mime_type=True):
    """The default configuration a user starts from (hash_types [sha1] plus sha256, the hash aide
    and sha256sum compute; MIME types on unless asked otherwise); no rate limit, so that the
    machine, not a setting, is measured."""
    with open(path, "w") as f:
        f.write("fimbeat.modules:\n"
                "- module: file_integrity\n"
                f"  paths: [{json.dumps(tree)}]\n"
                "  recursive: true\n"
                "  hash_types: [sha1, sha256]\n"
                "  scan_rate_per_sec: 0\n"
                + ("" if mime_type else "  mime_type: false\n") +
                "output.file:\n"
                f"  path: {json.dumps(events)}\n"
                "  rotate_every_kb: 4194304\n")
    os.chmod(path, 0o600)


class LogPump(threading.Thread):
    """Copies fimbeat's stderr (a pipe) to a file line by line and sets `event` at the first
    line containing `pattern`: the line is seen the moment it is written, where polling a file
    would see it up to one polling interval late (10 ms, a few % of a second scan)."""

    def __init__(self, pipe, path, pattern):
        super().__init__(daemon=True)
        self.pipe, self.path, self.pattern = pipe, path, pattern
        self.event, self.matched = threading.Event(), None

    def run(self):
        with open(self.path, "wb") as out:
            for line in self.pipe:
                out.write(line)
                if self.matched is None and self.pattern in line:
                    self.matched = line
                    self.event.set()
                    out.flush()


def run_fimbeat(name, binary, config, home, log_dir, events, paths_expected):
    """One fimbeat run: done when the "scan done" line is logged and, when paths_expected is
    set, that many documents are in the events directory. Returns the measure, the number
    of documents written and the "scan done" message."""
    os.makedirs(log_dir)
    log_path = os.path.join(log_dir, "stderr.ndjson")
    pumps = []
    docs = LineCounter(events)

    def started(proc):
        pumps.append(LogPump(proc.stderr, log_path, b'"scan done'))
        pumps[0].start()

    def done():
        if not pumps[0].event.is_set():
            return False
        return paths_expected is None or docs.poll() >= paths_expected  # as they come: no catch-up at the end

    def wait(seconds):
        # Only the log line to wait for: woken by it. Documents too: they are counted by polling.
        if paths_expected is None:
            pumps[0].event.wait(seconds)
        else:
            time.sleep(seconds)  # polling interval: the documents are counted by polling

    try:
        measured = run_measured(name, [binary, "run", "-e", "-c", config, "--path.home", home],
                                done, stderr=subprocess.PIPE, started=started, wait=wait)
    except SystemExit:
        if pumps:
            pumps[0].join(timeout=5)
        sys.stderr.write(tail(log_path))
        raise
    pumps[0].join(timeout=30)  # the process has exited: its pipe is at its end
    docs.poll()
    try:
        scan_done = json.loads(pumps[0].matched).get("message", "")
    except (TypeError, ValueError):
        scan_done = (pumps[0].matched or b"").decode(errors="replace")
    return measured, docs.lines, scan_done


def aide_rule_path(tree):
    """aide's rule paths are regular expressions: escape whatever is not plain."""
    return re.sub(r"([^A-Za-z0-9_/-])", r"\\\1", tree)


def scan_seconds(message):
    """The duration fimbeat's "scan done: ... in 1.23 s (...)" line gives."""
    m = re.search(r" in ([0-9.]+) s \(", message)
    if not m:
        raise SystemExit(f"no duration in fimbeat's scan summary: {message!r}")
    return float(m.group(1))


def median(values, key=lambda v: v):
    return sorted(values, key=key)[len(values) // 2]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=50000, help="files in the first-scan tree (50000)")
    parser.add_argument("--total-mb", type=float, default=600, help="their total size, MB of 10^6 bytes (600)")
    parser.add_argument("--second-files", type=int, default=200000, help="files in the second-scan tree (200000)")
    parser.add_argument("--seed", type=int, default=20261121)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each run; medians are reported (3)")
    args = parser.parse_args()
    if args.files < 1 or args.second_files < 1 or args.total_mb < 0 or args.rounds < 1:
        parser.error("--files, --second-files and --rounds must be at least 1 and --total-mb not negative")
    binary = os.path.abspath(os.environ.get("FIMBEAT_BIN", os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                                        "../build/fimbeat")))
    aide = shutil.which("aide")
    if not os.access(binary, os.X_OK):
        raise SystemExit(f"fimbeat binary not found: {binary} (set FIMBEAT_BIN)")
    if aide is None:
        raise SystemExit("aide not found: apt-get install -y aide")
    aide_version = subprocess.run([aide, "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    fimbeat_version = subprocess.run([binary, "version"], capture_output=True, text=True).stdout.strip()

    tree, info, _ = ensure_tree(args.files, args.total_mb, args.seed)
    files, total_bytes, paths = warm(tree)
    if files != args.files:
        raise SystemExit(f"the cached tree {tree} has {files} files, not {args.files}: remove it")
    big, big_info, _ = ensure_tree(args.second_files, args.second_files / 2000, args.seed)  # ~0.5 kB a file
    big_files, _, big_paths = warm(big)

    work = tempfile.mkdtemp(prefix="fimbeat-bench-scan-")
    quoted = "'" + tree.replace("'", "'\\''") + "'"
    runs = {key: [] for key in ("a", "a2", "b", "c", "d", "e")}
    notes = {}

    def fimbeat_first(key, base, mime_type):
        home = os.path.join(base, f"home-{key}")
        config = os.path.join(base, f"fimbeat-{key}.yml")
        events = os.path.join(base, f"events-{key}")
        fimbeat_config(config, tree, events, mime_type=mime_type)
        m, docs, summary = run_fimbeat(f"({key})", binary, config, home, os.path.join(base, f"log-{key}"), events, paths)
        notes[key] = f"{docs} documents (expected {paths}); fimbeat: {summary}"
        return m

    try:
        for r in range(args.rounds):
            base = os.path.join(work, f"round-{r}")
            os.makedirs(base)
            runs["a"].append(fimbeat_first("a", base, True))
            runs["a2"].append(fimbeat_first("a2", base, False))
            aide_dir = os.path.join(base, "aide")
            os.makedirs(aide_dir)
            aide_conf = os.path.join(aide_dir, "aide.conf")
            with open(aide_conf, "w") as f:
                f.write(f"database_out=file:{aide_dir}/aide.db.new\n"
                        "gzip_dbout=no\n"
                        "num_workers=2\n"
                        "report_url=stdout\n"
                        "FIMB = p+i+n+u+g+s+m+c+sha256\n"
                        f"{aide_rule_path(tree)} FIMB\n")
            with open(os.path.join(aide_dir, "out.txt"), "wb") as out, \
                    open(os.path.join(aide_dir, "err.txt"), "wb") as err:
                try:
                    runs["b"].append(run_measured("(b)", [aide, "--init", "--config", aide_conf], None,
                                                  stdout=out, stderr=err))
                except SystemExit:
                    sys.stderr.write(tail(os.path.join(aide_dir, "out.txt")) + tail(os.path.join(aide_dir, "err.txt")))
                    raise
            runs["c"].append(run_measured("(c)", ["bash", "-c", f"set -o pipefail; find {quoted} -type f -print0 | "
                                                                 "xargs -0 -P2 sha256sum > /dev/null"], None))
            shutil.rmtree(base, ignore_errors=True)

        # The second scan: one first scan records the 200,000 files, then each round scans them again.
        base = os.path.join(work, "second")
        os.makedirs(base)
        home = os.path.join(base, "home")
        config = os.path.join(base, "fimbeat.yml")
        events = os.path.join(base, "events")
        fimbeat_config(config, big, events)
        run_fimbeat("(d) first", binary, config, home, os.path.join(base, "log-first"), events, big_paths)
        for r in range(args.rounds):
            m, docs, summary = run_fimbeat("(d)", binary, config, home, os.path.join(base, f"log-{r}"), events, None)
            runs["d"].append((scan_seconds(summary), m, docs, summary))
            big_quoted = "'" + big.replace("'", "'\\''") + "'"
            runs["e"].append(run_measured("(e)", ["bash", "-c", f"find {big_quoted} -printf '%i %s %T@ %C@ %m %U %G\\n' "
                                                                 "> /dev/null"], None))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    a, a2, b, c, e = (median(runs[k], key=lambda m: m.wall) for k in ("a", "a2", "b", "c", "e"))
    d_seconds, d, d_docs, d_summary = median(runs["d"], key=lambda run: run[0])
    peak_a = max(m.sampled.own_hwm for m in runs["a"]) / 1024
    verdict = lambda ok: "met" if ok else "**missed**"
    rows = [
        ("(a) fimbeat first scan, default config (sha1+sha256, MIME types on)", a.wall, a.cpu, a.sampled.own_hwm / 1024),
        ("(a') the same, `mime_type: false`", a2.wall, a2.cpu, a2.sampled.own_hwm / 1024),
        ("(b) `aide --init`, 2 workers, p+i+n+u+g+s+m+c+sha256", b.wall, b.cpu, b.sampled.hwm / 1024),
        ("(c) `find \\| xargs -P2 sha256sum`", c.wall, c.cpu, c.sampled.hwm / 1024),
        (f"(d) fimbeat second scan, {big_files:,} unchanged files (its own clock)", d_seconds, d.cpu,
         d.sampled.own_hwm / 1024),
        (f"(e) `find -printf` stat walk of the same {big_files:,} files, one thread", e.wall, e.cpu, e.sampled.hwm / 1024),
    ]
    counts = info["counts"]
    lines = [
        "## Scans (`make bench-scan`)",
        "",
        provenance(fimbeat_version),
        "",
        f"First-scan tree: {files:,} files ({counts['small']:,} small, {counts['medium']:,} medium, {counts['large']:,} "
        f"large), {paths:,} paths, {total_bytes / MB:.0f} MB of random content; second-scan tree: {big_files:,} "
        f"files, {big_paths:,} paths. Page cache warm. Medians of {args.rounds} rounds. {aide_version}.",
        "",
        "| run | wall s | CPU s | peak RSS MiB |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {name} | {wall:.3f} | {cpu:.3f} | {rss:.1f} |" for name, wall, cpu, rss in rows]
    lines += [
        "",
        "| target | measured | |",
        "|---|---|---|",
        f"| (a) at least 3x faster than aide --init | {b.wall / a.wall:.2f}x | {verdict(b.wall / a.wall >= 3)} |",
        f"| (a) no slower than the sha256sum floor (c) | (c)/(a) = {c.wall / a.wall:.2f} | {verdict(c.wall >= a.wall)} |",
        f"| (d) second scan no slower than the stat walk (e) | (e)/(d) = {e.wall / d_seconds:.2f} | "
        f"{verdict(e.wall >= d_seconds)} |",
        f"| (a) peak RSS at most 48 MiB | {peak_a:.1f} MiB (largest round) | {verdict(peak_a <= 48)} |",
        "",
        "Wall: (a) from the start until every document is written; (b), (c), (e) until they exit; (d) the "
        "duration fimbeat's \"scan done\" line gives (its scan, not its start-up). Peak RSS: VmHWM sampled from "
        "/proc every 20 ms (fimbeat's own process; for (b), (c), (e) the largest process of the run).",
        "",
        "Rounds (wall s): " + "; ".join(
            f"({k}) " + " ".join(f"{m.wall:.2f}" for m in runs[k]) for k in ("a", "a2", "b", "c", "e")) +
        "; (d) " + " ".join(f"{run[0]:.2f}" for run in runs["d"]) + ".",
        "",
        f"(a): {notes['a']}. (d): {d_summary}.",
    ]
    busy = [(k, m.others / (m.wall * os.cpu_count())) for k, m in (("a", a), ("a'", a2), ("b", b), ("c", c), ("e", e))]
    if any(share > 0.05 for _, share in busy):
        lines += ["", "**Other processes took more than 5% of the CPUs during a run: the figures are not reliable** (" +
                  ", ".join(f"({k}) {share:.0%}" for k, share in busy) + ")."]
    text = "\n".join(lines)
    print("\n" + text)
    write_section("scan", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
