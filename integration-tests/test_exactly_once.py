"""Exactly once through Elasticsearch: kill -9 at random points while files keep changing.

The durable queue stores each change's event in the same RocksDB write as its baseline record;
the Elasticsearch output sends it with a deterministic `_id` and acknowledges a batch only after
the bulk answer. So after a kill -9:
- an event stored and not yet acknowledged is sent again, under the same `_id`: Elasticsearch
  answers 409 for what it already has, nothing is indexed twice;
- a change whose baseline record had not moved yet (or that happened while fimbeat was dead) is
  found by the next start-up scan: a file created meanwhile appears as `created`, one modified
  meanwhile as `updated`, one deleted meanwhile as `deleted`.
What the pipeline does not promise: an intermediate state nobody observed (a file written twice
while fimbeat was dead has one event, with the final content). The checks below therefore ask
for every file's first appearance and final state, and for no event twice.
"""

from __future__ import annotations

import collections
import hashlib
import os
import random
import signal
import threading
from pathlib import Path
from typing import Optional

from conftest import Agent, poll, wait_for, write_config, yaml_str
from es_endpoint import EsEndpoint

DATA_STREAM = "logs-fim.event-default"
SEED = 20261121
KILLS = 10
KILL_INSIDE_BULK = 3  # this kill happens while the endpoint stores a bulk request: its answer never arrives
FIRST_SEEN = {"created", "initial_scan"}


def config_for(workspace: Path, tree: Path, url: str) -> Path:
    return write_config(workspace / "fimbeat.yml", f"""
fimbeat.modules:
- module: file_integrity
  paths: [{yaml_str(tree)}]
  hash_types: [sha256]
  mime_type: false
output.elasticsearch:
  hosts: [{yaml_str(url)}]
  max_retries: -1
  backoff.init: 50ms
  backoff.max: 200ms
""")


class Changer(threading.Thread):
    """Keeps changing the tree: creates files with unique names (sometimes a burst of them),
    rewrites some, deletes some. Only files whose first event is already indexed are deleted, so
    every file created must appear in the index (a file created and deleted while fimbeat is dead
    leaves no trace anywhere, and no agent could report it)."""

    def __init__(self, tree: Path, es: EsEndpoint, rng: random.Random):
        super().__init__(name="changer", daemon=True)
        self.tree = tree
        self.es = es
        self.rng = rng
        self.halt = threading.Event()
        self.content: dict[str, Optional[bytes]] = {}  # path -> final content, None once deleted
        self.counts = collections.Counter()
        self.error: Optional[BaseException] = None
        self._next = 0
        self._indexed: set[str] = set()

    def create(self) -> None:
        path = str(self.tree / f"c{self._next:05d}.txt")
        self._next += 1
        self.write(path)
        self.counts["created"] += 1

    def write(self, path: str) -> None:
        data = self.rng.randbytes(self.rng.randint(0, 2048))
        Path(path).write_bytes(data)
        self.content[path] = data

    def refresh_indexed(self) -> None:
        self._indexed = {d["file"]["path"] for d in self.es.documents(DATA_STREAM)
                         if FIRST_SEEN & set(d["event"]["action"])}

    def step(self) -> None:
        live = [p for p, c in self.content.items() if c is not None]
        roll = self.rng.random()
        if roll < 0.02:
            for _ in range(self.rng.randint(30, 120)):  # a burst: large bulk requests
                self.create()
        elif roll < 0.4 or len(live) < 10:
            self.create()
        elif roll < 0.75:
            self.write(self.rng.choice(live))
            self.counts["modified"] += 1
        else:
            deletable = [p for p in live if p in self._indexed]
            if deletable:
                path = self.rng.choice(deletable)
                os.unlink(path)
                self.content[path] = None
                self.counts["deleted"] += 1

    def run(self) -> None:
        try:
            steps = 0
            while not self.halt.is_set():
                self.step()
                steps += 1
                if steps % 25 == 0:
                    self.refresh_indexed()
                self.halt.wait(self.rng.uniform(0.0, 0.012))  # the pace of the workload
        except BaseException as e:  # reported by the test, not lost in a thread
            self.error = e

    def stop(self) -> None:
        self.halt.set()
        self.join(10)
        assert not self.is_alive(), "the changer thread did not stop"
        assert self.error is None, f"the changer failed: {self.error!r}"


def problems(docs: list[dict], content: dict[str, Optional[bytes]]) -> list[str]:
    """What the index does not yet say about the tree: missing first events, stale final states."""
    by_path: dict[str, list[dict]] = collections.defaultdict(list)
    for d in docs:  # the endpoint keeps arrival order, which is the durable queue's FIFO order
        by_path[d["file"]["path"]].append(d)
    found = []
    for path, data in sorted(content.items()):
        history = by_path.get(path, [])
        if not any(FIRST_SEEN & set(d["event"]["action"]) for d in history):
            found.append(f"{path}: no created/initial_scan document")
            continue
        last = history[-1]
        actions = set(last["event"]["action"])
        if data is None:
            if "deleted" not in actions:
                found.append(f"{path}: deleted, but its last document is {sorted(actions)}")
        else:
            want = hashlib.sha256(data).hexdigest()
            got = last["file"].get("hash", {}).get("sha256")
            if "deleted" in actions or got != want or last["file"].get("size") != len(data):
                found.append(f"{path}: last document {sorted(actions)} sha256 {got} size {last['file'].get('size')}, "
                             f"file has sha256 {want} size {len(data)}")
    return found


def kill_ten_times(start, victim: list, rng: random.Random) -> Agent:
    """Ten runs killed with SIGKILL while the changer goes on; returns the final, live run."""
    for k in range(KILLS):
        agent = start(f"run{k}")
        if k == KILL_INSIDE_BULK:
            victim[0] = agent
            poll(lambda: not agent.running(), timeout=15)
            assert agent.returncode == -signal.SIGKILL, \
                f"the endpoint did not kill fimbeat inside a bulk request\n{agent.describe()}"
        else:
            # The experiment: a random moment (start-up scan, replay, live changes, a bulk in flight).
            died = poll(lambda: not agent.running(), timeout=rng.uniform(0.02, 1.5))
            assert not died, f"fimbeat exited by itself\n{agent.describe()}"
            agent.proc.send_signal(signal.SIGKILL)
        agent.wait_exit(10)
    final = start("final")
    poll(lambda: not final.running(), timeout=1.0)  # changes go on for a moment with a live agent
    assert final.running(), final.describe()
    return final


def test_kill_9_ten_times_while_changing_every_change_indexed_exactly_once(workspace: Path, fimbeat_bin: Path) -> None:
    rng = random.Random(SEED)
    tree = workspace / "tree"
    tree.mkdir()
    agents: list[Agent] = []
    with EsEndpoint() as es:
        config = config_for(workspace, tree, es.url)
        victim: list[Optional[Agent]] = [None]

        def kill_while_storing(_doc: dict) -> bool:
            # Runs inside the endpoint while it stores a bulk request: the documents so far are
            # indexed, the answer will never reach fimbeat, so the batch stays unacknowledged.
            agent = victim[0]
            if agent is not None and agent.running():
                victim[0] = None
                agent.proc.send_signal(signal.SIGKILL)
            return False  # no injected failure: the document is stored as usual

        es.fail_items(500, kill_while_storing)

        def start(name: str) -> Agent:
            agent = Agent(fimbeat_bin, workspace, config, name=name)
            agents.append(agent)
            return agent.start()

        changer = Changer(tree, es, rng)
        for _ in range(20):
            changer.create()  # some files for the first (initial) scan
        changer.start()
        try:
            try:
                final = kill_ten_times(start, victim, rng)
            finally:
                changer.stop()
            try:
                wait_for(lambda: not problems(es.documents(DATA_STREAM), changer.content), timeout=30,
                         message="every file's first event and final state indexed", agent=final)
            except AssertionError:
                left = problems(es.documents(DATA_STREAM), changer.content)
                raise AssertionError(f"{len(left)} files not represented, e.g. {left[:5]}\n{final.describe()}") from None
            assert final.stop() == 0, final.describe()
        finally:
            for agent in agents:
                agent.kill()
        metrics = final.shutdown_metrics()
        assert metrics["queue"]["events"] == 0 and metrics["queue"]["bytes"] == 0, metrics

        docs = es.documents(DATA_STREAM)
        ids = es.ids(DATA_STREAM)
        assert not problems(docs, changer.content)  # nothing arrived after quiescence that undoes it
        # (a) one document per _id. The endpoint keys documents by _id, as Elasticsearch does; what
        # makes this meaningful is (c): a redelivery under a NEW _id would be a second document.
        assert len(ids) == len(set(ids)) == len(docs)
        # (c) exactly once: no event twice, under whatever _id.
        keys = collections.Counter((d["file"]["path"], tuple(d["event"]["action"]), d["@timestamp"]) for d in docs)
        twice = {k: n for k, n in keys.items() if n > 1}
        assert not twice, f"events indexed more than once: {list(twice.items())[:5]}"
        # The kill inside a bulk request left indexed events unacknowledged: the restart sent them
        # again under their _id and the endpoint answered 409 for each.
        conflicts = es.stat("conflicts")
        assert conflicts >= 1, "the batch stored when fimbeat was killed inside the bulk was not sent again"
        assert es.stat("rejected") == 0
        # Deleted files were deleted after their first event was indexed: each has a deleted event once.
        deleted = [p for p, c in changer.content.items() if c is None]
        deleted_docs = collections.Counter(d["file"]["path"] for d in docs if "deleted" in d["event"]["action"])
        assert all(deleted_docs[p] == 1 for p in deleted), [p for p in deleted if deleted_docs[p] != 1][:5]
        print(f"\nexactly once: {KILLS} kill -9, changes {dict(changer.counts)}, {len(docs)} documents, "
              f"{conflicts} redelivered events answered 409, actions "
              f"{dict(collections.Counter(a for d in docs for a in d['event']['action']))}")
