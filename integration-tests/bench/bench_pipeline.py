#!/usr/bin/env python3
"""Pipeline benchmark: fimbeat's one-pass scan of a generated tree shipped to output.file,
beside `find -printf` doing the same lstat walk. Prints a table: wall, CPU, peak RSS, rates.

Usage: FIMBEAT_BIN=build/fimbeat bench_pipeline.py [--files N]
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time


def make_tree(root, files):
    """A deterministic tree: 100 files per directory, three levels deep, sizes 0..4095 bytes."""
    made = 0
    d = 0
    while made < files:
        directory = os.path.join(root, f"d{d // 100:03}", f"e{d % 100:02}")
        os.makedirs(directory, exist_ok=True)
        for i in range(min(100, files - made)):
            with open(os.path.join(directory, f"f{i:03}.dat"), "wb") as f:
                f.write(b"x" * ((made * 7919) % 4096))
            made += 1
        d += 1
    return sum(len(dirs) + len(names) for _, dirs, names in os.walk(root)) + 1


def run_measured(argv, done, stdout=subprocess.DEVNULL):
    """Runs argv; `done()` says when the work is finished (then SIGTERM), None = wait for exit."""
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.DEVNULL)
    if done is not None:
        deadline = start + 600
        while not done():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{argv[0]} stopped before finishing")
            time.sleep(0.01)
        wall = time.monotonic() - start
        proc.send_signal(signal.SIGTERM)
    _, status, usage = os.wait4(proc.pid, 0)
    if done is None:
        wall = time.monotonic() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{argv[0]} exited with {os.waitstatus_to_exitcode(status)}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=50000)
    args = parser.parse_args()
    binary = os.environ.get("FIMBEAT_BIN", os.path.join(os.path.dirname(__file__), "../../build/fimbeat"))
    work = tempfile.mkdtemp(prefix="fimbeat-bench-")
    try:
        tree = os.path.join(work, "tree")
        paths = make_tree(tree, args.files)
        subprocess.run(["find", tree, "-printf", ""], check=True)  # warm the dentry and inode caches
        config = os.path.join(work, "fimbeat.yml")
        with open(config, "w") as f:
            f.write(f"fimbeat.modules:\n- module: file_integrity\n  paths: [{tree}]\n  recursive: true\n"
                    f"output.file:\n  path: {work}/events\n  rotate_every_kb: 1048576\n")
        os.chmod(config, 0o600)

        seen = {"lines": 0, "offsets": {}}

        def events_written():
            """Counts new lines only, so polling does not compete with the agent for the CPU."""
            events = os.path.join(work, "events")
            for name in os.listdir(events) if os.path.isdir(events) else []:
                with open(os.path.join(events, name), "rb") as f:
                    f.seek(seen["offsets"].get(name, 0))
                    chunk = f.read()
                    seen["offsets"][name] = seen["offsets"].get(name, 0) + len(chunk)
                    seen["lines"] += chunk.count(b"\n")
            return seen["lines"] >= paths

        rows = []
        wall, cpu, rss = run_measured([binary, "run", "-c", config, "--path.home", work], events_written)
        rows.append(("fimbeat scan → output.file", wall, cpu, rss))
        wall, cpu, rss = run_measured(["find", tree, "-printf", "%p %y %s\n"], None)
        rows.append(("find -printf (lstat walk)", wall, cpu, rss))

        print(f"\nPipeline benchmark: {paths} paths ({args.files} files), warm cache, {os.cpu_count()} cores\n")
        print(f"| {'run':<28} | {'wall s':>7} | {'CPU s':>6} | {'peak RSS MiB':>12} | {'paths/s':>9} |")
        print(f"|{'-' * 30}|{'-' * 9}|{'-' * 8}|{'-' * 14}|{'-' * 11}|")
        for name, wall, cpu, rss in rows:
            print(f"| {name:<28} | {wall:7.3f} | {cpu:6.3f} | {rss:12.1f} | {paths / wall:9.0f} |")
        print(f"\nfimbeat wall / find wall: {rows[0][1] / rows[1][1]:.2f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
