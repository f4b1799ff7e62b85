#!/usr/bin/env python3
"""Package verification's cost: the first scan of /usr with package_verification on and off.

Each round runs fimbeat twice on /usr with a fresh home (so both are first scans): hash_types
[sha1] (the default), no rate limit, MIME types on, once with `package_verification: true` (md5
computed in the same read pass for every file dpkg owns, the verdict looked up) and once with
it off. The page cache is warmed by a first unmeasured read of the tree. Wall is the scan's own
duration (fimbeat's "scan done" line); CPU is user+sys of the whole process until it stopped
after the scan. Writes the "packages" section of bench/RESULTS.md.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import shutil

import stat

from bench_latency import final_metrics
from bench_scan import BLOCK, median, run_fimbeat, scan_seconds
from results import provenance, write_section

TREE = "/usr"
TARGET = 0.20  # package verification adds at most 20 % to the first scan


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
    ]
    if deferred:
        lines += ["", f"**Not comparable**: {deferred:,} verdicts waited for a dpkg transaction that another process ran "
                      "during the measurement (dpkg's lock was held); measure again on a quiet machine."]
    text = "\n".join(lines) + "\n"
    print(text)
    write_section("packages", text)


if __name__ == "__main__":
    sys.exit(main())
