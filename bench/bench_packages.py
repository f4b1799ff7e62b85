#!/usr/bin/env python3
"""Package verification's cost: the first scan of /usr with package_verification on and off.

Each round runs fimbeat twice on /usr with a fresh home (so both are first scans): hash_types
[sha1] (the default), no rate limit, MIME types on, once with `package_verification: true` (md5
computed in the same read pass for every file dpkg owns, the verdict looked up) and once with
it off. The page cache is warmed by a first unmeasured read of the tree. Wall is the scan's own
duration (fimbeat's "scan done" line); CPU is user+sys of the whole process until it stopped
after the scan.

Then the cost per live event: fimbeat watches (inotify, hash_types [sha1]) a directory of files no
package owns and the directory of a tiny package this script builds with dpkg-deb and installs
(`fimbeat-bench-live`, 100 files of 4 KiB under /usr/share; purged at the end), once with
package_verification on and once off. Writes alternate between an unrelated file and a packaged
file; each latency runs from just before the write's open to the document in the output file.
Writes the "packages" section of bench/RESULTS.md.
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import shutil

import stat

from bench_latency import FileTail, fimbeat_key, final_metrics, percentile, start_watching, stop
from bench_scan import BLOCK, median, run_fimbeat, scan_seconds
from results import provenance, write_section

TREE = "/usr"
TARGET = 0.20  # package verification adds at most 20 % to the first scan
LIVE_PACKAGE = "fimbeat-bench-live"
LIVE_DIR = f"/usr/share/{LIVE_PACKAGE}"
LIVE_FILES = 100
LIVE_OPS = 300  # writes of each kind, per run
# "Nothing measurable" for unrelated files: their median within this much of the run without verification.
UNRELATED_NOISE_MS = 0.2


def warm(tree):
    """Reads every regular file once (page cache): (files, bytes). Symlinks are not followed."""
    buf = bytearray(BLOCK)
    files = total = 0
    for root, _, names in os.walk(tree):
        for name in names:
            path = os.path.join(root, name)
            try:
                if not stat.S_ISREG(os.lstat(path).st_mode):
                    continue
                with open(path, "rb", buffering=0) as f:
                    while (n := f.readinto(buf)):
                        total += n
            except OSError:
                continue
            files += 1
    return files, total


def config(path, events, verify, tree):
    with open(path, "w") as f:
        f.write("fimbeat.modules:\n"
                "- module: file_integrity\n"
                f"  paths: [{json.dumps(tree)}]\n"
                "  recursive: true\n"
                "  scan_rate_per_sec: 0\n"
                f"  package_verification: {'true' if verify else 'false'}\n"
                "output.file:\n"
                f"  path: {json.dumps(events)}\n"
                "  rotate_every_kb: 4194304\n")
    os.chmod(path, 0o600)


def verdicts(log_dir):
    """watcher.packages.* from the "Total metrics" line fimbeat logs when it stops."""
    metrics = final_metrics(os.path.join(log_dir, "stderr.ndjson"))
    return {k: v for k, v in metrics.items() if "packages" in k}


def dpkg(*args):
    subprocess.run(["dpkg", *args], check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def install_live_package(work):
    """Builds and installs the package whose files the live phase changes (md5sums included)."""
    root = os.path.join(work, "deb")
    os.makedirs(os.path.join(root, "DEBIAN"))
    os.makedirs(os.path.join(root, LIVE_DIR.lstrip("/")))
    sums = []
    for i in range(LIVE_FILES):
        content = os.urandom(4096)
        rel = f"{LIVE_DIR.lstrip('/')}/f{i}"
        with open(os.path.join(root, rel), "wb") as f:
            f.write(content)
        sums.append(f"{hashlib.md5(content).hexdigest()}  {rel}\n")
    with open(os.path.join(root, "DEBIAN", "control"), "w") as f:
        f.write(f"Package: {LIVE_PACKAGE}\nVersion: 1.0\nArchitecture: all\n"
                "Maintainer: fimbeat bench <bench@localhost>\nDescription: fimbeat package verification benchmark\n")
    with open(os.path.join(root, "DEBIAN", "md5sums"), "w") as f:
        f.writelines(sums)
    deb = os.path.join(work, f"{LIVE_PACKAGE}.deb")
    subprocess.run(["dpkg-deb", "--root-owner-group", "--build", root, deb], check=True, stdout=subprocess.DEVNULL)
    dpkg("--purge", LIVE_PACKAGE)
    dpkg("-i", deb)


def live_latencies(binary, work, verify):
    """(unrelated ms, packaged ms, verdicts) of LIVE_OPS writes of each kind, alternating."""
    name = f"live-{'on' if verify else 'off'}"
    tree = os.path.join(work, f"{name}-tree")
    os.makedirs(tree)
    out = os.path.join(work, f"{name}-events")
    os.makedirs(out)
    flag = "true" if verify else "false"
    extra = (f"  package_verification: {flag}\n"
             "- module: file_integrity\n"
             f"  paths: [{json.dumps(LIVE_DIR)}]\n  hash_types: [sha1]\n  backend: inotify\n  mime_type: false\n"
             f"  package_verification: {flag}\n")
    tail = FileTail(out, fimbeat_key)
    proc, log = start_watching(binary, work, tree, name, "inotify", extra=extra, out=out)
    unrelated, packaged = [], []
    try:
        for i in range(LIVE_OPS):
            for path, times in ((os.path.join(tree, f"u{i}"), unrelated), (f"{LIVE_DIR}/f{i % LIVE_FILES}", packaged)):
                size = 1000 + i  # a new size each time: the document of this write, not of an earlier one
                t0 = time.perf_counter()
                with open(path, "wb") as f:
                    f.write(b"x" * size)
                times.append((tail.wait((path, size)) - t0) * 1000)
    finally:
        stop(proc)
    return unrelated, packaged, {k: v for k, v in final_metrics(log).items() if "packages" in k}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each run; medians are reported (3)")
    parser.add_argument("--tree", default=TREE, help=f"the tree to scan ({TREE})")
    args = parser.parse_args()
    binary = os.path.abspath(os.environ.get("FIMBEAT_BIN", os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                                        "../build/fimbeat")))
    if not os.access(binary, os.X_OK):
        raise SystemExit(f"fimbeat binary not found: {binary} (set FIMBEAT_BIN)")
    if not os.path.exists("/var/lib/dpkg/status"):
        raise SystemExit("no dpkg database on this machine: package verification has nothing to check against")
    fimbeat_version = subprocess.run([binary, "version"], capture_output=True, text=True).stdout.strip()
    files, total_bytes = warm(args.tree)
    work = tempfile.mkdtemp(prefix="fimbeat-bench-packages-")
    runs = {"on": [], "off": []}
    notes = {}
    deferred = 0  # verdicts that waited for a dpkg transaction of another process: the runs are not alike
    try:
        for r in range(args.rounds):
            for key in ("on", "off") if r % 2 == 0 else ("off", "on"):  # alternate: neither always goes first
                base = os.path.join(work, f"round-{r}-{key}")
                os.makedirs(base)
                path = os.path.join(base, "fimbeat.yml")
                events = os.path.join(base, "events")
                config(path, events, key == "on", args.tree)
                log_dir = os.path.join(base, "log")
                m, docs, summary = run_fimbeat(f"({key})", binary, path, os.path.join(base, "home"), log_dir,
                                               events, None)
                runs[key].append((scan_seconds(summary), m))
                notes[key] = f"fimbeat: {summary}"
                if key == "on":
                    notes["verdicts"] = verdicts(log_dir)
                    deferred += notes["verdicts"].get("watcher.packages.deferred", 0)
                shutil.rmtree(events, ignore_errors=True)
        live_work = os.path.join(work, "live")
        os.makedirs(live_work)
        install_live_package(live_work)
        try:
            live = {key: live_latencies(binary, live_work, key == "on") for key in ("off", "on")}
        finally:
            dpkg("--purge", LIVE_PACKAGE)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def row(key):
        wall = median([w for w, _ in runs[key]])
        cpu = median([m.cpu for _, m in runs[key]])
        rss = median([m.rss for _, m in runs[key]])
        return wall, cpu, rss

    on, off = row("on"), row("off")
    wall_cost = on[0] / off[0] - 1
    cpu_cost = on[1] / off[1] - 1
    lines = [
        "## Package verification (`make bench-packages`)",
        "",
        provenance(fimbeat_version),
        "",
        f"First scan of {args.tree}: {files:,} files, {total_bytes / 1e9:.1f} GB, page cache warm; hash_types [sha1], "
        f"MIME types on, no rate limit. Medians of {args.rounds} rounds.",
        "",
        "| run | scan wall s | CPU s | peak RSS MiB |",
        "|---|---:|---:|---:|",
        f"| package_verification: true | {on[0]:.2f} | {on[1]:.2f} | {on[2]:.1f} |",
        f"| package_verification: false | {off[0]:.2f} | {off[1]:.2f} | {off[2]:.1f} |",
        "",
        "| target | measured | |",
        "|---|---|---|",
        f"| verification adds at most {TARGET:.0%} to the first scan (wall) | {wall_cost:+.1%} | "
        f"{'met' if wall_cost <= TARGET else '**missed**'} |",
        f"| the same, CPU | {cpu_cost:+.1%} | {'met' if cpu_cost <= TARGET else '**missed**'} |",
        "",
        f"Verdicts in the last round with verification: {notes.get('verdicts', {})}. {notes['on']}",
        "",
        f"Live events: {LIVE_OPS} writes each to files no package owns and to the {LIVE_FILES} files of an "
        f"installed package ({LIVE_DIR}, 4 KiB each), alternating; latency from the write's open to the "
        "document in the output file (inotify, hash_types [sha1]).",
        "",
        "| files | verification | p50 ms | p99 ms |",
        "|---|---|---:|---:|",
    ]
    for index, kind in ((0, "no package owns them"), (1, "an installed package's")):
        for key in ("off", "on"):
            values = live[key][index]
            lines.append(f"| {kind} | {key} | {percentile(values, 50):.2f} | {percentile(values, 99):.2f} |")
    unrelated_cost = percentile(live["on"][0], 50) - percentile(live["off"][0], 50)
    packaged_cost = percentile(live["on"][1], 50) - percentile(live["off"][1], 50)
    lines += [
        "",
        "| target | measured | |",
        "|---|---|---|",
        f"| nothing measurable added to unrelated files (p50 within {UNRELATED_NOISE_MS} ms) | "
        f"{unrelated_cost:+.2f} ms | {'met' if unrelated_cost <= UNRELATED_NOISE_MS else '**missed**'} |",
        f"| cost per live event of a packaged file (p50, on − off) | {packaged_cost:+.2f} ms | |",
        "",
        f"Verdicts of the live run with verification: {live['on'][2]}.",
    ]
    if deferred:
        lines += ["", f"**Not comparable**: {deferred:,} verdicts waited for a dpkg transaction that another process ran "
                      "during the measurement (dpkg's lock was held); measure again on a quiet machine."]
    text = "\n".join(lines) + "\n"
    print(text)
    write_section("packages", text)


if __name__ == "__main__":
    sys.exit(main())
