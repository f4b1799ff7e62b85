"""Never blind, never silent: what a hostile tester tries (faults, full disks, damaged files, deep
trees, reduced privileges, signals) ends in the change being reported or in a loud, specific
refusal. The real binary, each fault made for real where this machine allows it (loop-mounted
file systems, flipped bytes, setpriv); a test that cannot make its fault here says why and skips.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import read_events, run_cli, wait_for, write_config, yaml_str
from es_endpoint import EsEndpoint


def module(tree: Path, extra: str = "") -> str:
    return ("fimbeat.modules:\n- module: file_integrity\n"
            f"  paths: [{yaml_str(tree)}]\n  recursive: true\n  mime_type: false\n"
            "  realtime.quiet_period: 50ms\n" + extra)


def file_output(out: Path) -> str:
    return f"output.file:\n  path: {yaml_str(out)}\n"


def paths_of(docs: list[dict]) -> list[str]:
    return [d["file"]["path"] for d in docs]


# --- 6. YAML aliases ---------------------------------------------------------------------------


def test_an_alias_bomb_is_refused_at_once_with_a_clear_message(fimbeat_bin, workspace):
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in "bcdefghij":
        previous = chr(ord(level) - 1)
        lines.append(f"{level}: &{level} [" + ",".join([f"*{previous}"] * 9) + "]")
    bomb = write_config(workspace / "bomb.yml", module(workspace) + file_output(workspace / "out") +
                        "\n".join(lines) + "\n")
    started = time.monotonic()
    result = run_cli(fimbeat_bin, "test", "config", "-c", bomb, timeout=30)
    elapsed = time.monotonic() - started
    assert result.returncode == 1, result
    assert "aliases" in result.stderr and "100000" in result.stderr.replace(",", ""), result.stderr
    assert elapsed < 10, f"refusing took {elapsed:.1f} s"


# --- 7. -c <directory> -------------------------------------------------------------------------


def test_a_directory_given_as_the_config_file_is_named_as_such(fimbeat_bin, workspace):
    result = run_cli(fimbeat_bin, "test", "config", "-c", workspace)
    assert result.returncode == 1
    assert f"{workspace} is a directory" in result.stderr, result.stderr


# --- 8, 9. signals and exit codes --------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGTERM, signal.SIGINT])
def test_sighup_sigterm_and_sigint_stop_cleanly_with_exit_0(workspace, start_agent, sig):
    tree = workspace / "tree"
    tree.mkdir()
    (tree / "a").write_text("a\n")
    config = write_config(workspace / "fimbeat.yml", module(tree) + file_output(workspace / "out"))
    agent = start_agent(config)
    wait_for(agent.scan_done, message="the start-up scan", agent=agent)
    wait_for(lambda: len(read_events(workspace / "out", complete_only=True)) == 2, agent=agent)
    assert agent.stop(sig) == 0, agent.describe()
    metrics = agent.shutdown_metrics()  # the clean stop's summary, once
    assert metrics["output"]["events"]["acked"] == 2


def test_sigterm_with_events_still_queued_exits_0_and_they_go_out_at_the_next_start(workspace, start_agent):
    tree = workspace / "tree"
    tree.mkdir()
    for i in range(3):
        (tree / f"f{i}").write_text(f"{i}\n")
    es = EsEndpoint()  # bound, not listening: every connection is refused
    try:
        down = write_config(workspace / "down.yml", module(tree) + "output.elasticsearch:\n"
                            f"  hosts: [{yaml_str(es.url)}]\n  backoff.init: 50ms\n  backoff.max: 100ms\n")
        agent = start_agent(down, name="down")
        wait_for(lambda: any("retrying" in m for m in agent.log_messages()), message="a failed write", agent=agent)
        assert agent.stop() == 0, agent.describe()  # queued events are durable: a clean stop
        assert agent.shutdown_metrics()["queue"]["events"] == 4
        es.start()
        again = start_agent(down, name="up")
        wait_for(lambda: es.count("logs-fim.event-default") == 4, message="the queued events delivered", agent=again)
        assert again.stop() == 0
    finally:
        es.stop()


# --- 10. delivery resumes within backoff.max ---------------------------------------------------


def test_after_an_outage_delivery_resumes_within_backoff_max(workspace, start_agent):
    tree = workspace / "tree"
    tree.mkdir()
    es = EsEndpoint().start()
    try:
        config = write_config(workspace / "fimbeat.yml", module(tree) + "output.elasticsearch:\n"
                              f"  hosts: [{yaml_str(es.url)}]\n  backoff.init: 1s\n  backoff.max: 5s\n")
        agent = start_agent(config)
        wait_for(lambda: es.count("logs-fim.event-default") == 1, message="the root's event", agent=agent)
        es.fail_requests(503, count=1 << 30)  # the outage: every bulk request refused
        (tree / "during").write_text("x\n")
        # Long enough for the backoff to reach backoff.max (1, 2, 4, then 5 s at most).
        wait_for(lambda: es.stat("request_faults") >= 5, timeout=40, message="retries up to backoff.max", agent=agent)
        with es.lock:
            es._request_faults.clear()  # Elasticsearch is back
        back = time.monotonic()
        wait_for(lambda: es.count("logs-fim.event-default") == 2, timeout=20, message="delivery after the outage",
                 agent=agent)
        resumed = time.monotonic() - back
        print(f"resumed {resumed:.2f} s after Elasticsearch came back (backoff.max: 5s)")
        assert resumed <= 5.0 + 1.0, f"delivery resumed {resumed:.2f} s after the outage ended"
        assert agent.stop() == 0
    finally:
        es.stop()
