#!/usr/bin/env python3
"""The include graph between stage folders (src/<stage>/) is acyclic, and a stage includes another
stage only through the interface headers docs/design/pipeline.md lists ("Include edges between
stages"). core/ includes only core/; events/ and config/ only core/; every stage may include core/,
events/ and config/; app/ includes every stage. Exits non-zero, naming each offending include."""
import os
import re
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(REPO, "src")
FOUNDATIONS = {"core": set(), "events": {"core"}, "config": {"core"}}


def allowed_edges():
    text = open(os.path.join(REPO, "docs", "design", "pipeline.md")).read()
    section = text.split("## Include edges between stages", 1)[1].split("\n## ", 1)[0]
    edges = set()
    for row in re.findall(r"^\| *([a-z_]+) *\| *([a-z_/]+\.h) *\|$", section, re.M):
        edges.add(row)
    if not edges:
        sys.exit("docs/design/pipeline.md lists no include edges")
    return edges


def includes():
    for stage in sorted(os.listdir(SRC)):
        for root, _, files in os.walk(os.path.join(SRC, stage)):
            for name in files:
                path = os.path.join(root, name)
                for number, line in enumerate(open(path, errors="replace"), 1):
                    m = re.match(r'\s*#\s*include\s+"([a-z_]+)/([^"]+)"', line)
                    if m:
                        yield stage, os.path.relpath(path, REPO), number, m.group(1), m.group(1) + "/" + m.group(2)


def main():
    edges = allowed_edges()
    problems, graph, used = [], {}, set()
    for stage, path, number, target, header in includes():
        if target == stage:
            continue
        graph.setdefault(stage, set()).add(target)
        if stage == "app":
            continue
        if stage in FOUNDATIONS:
            if target not in FOUNDATIONS[stage]:
                problems.append(f"{path}:{number}: {stage}/ may include only {sorted(FOUNDATIONS[stage]) or 'itself'}, "
                                f"not {header}")
            continue
        if target in FOUNDATIONS:
            continue
        if (stage, header) in edges:
            used.add((stage, header))
        else:
            problems.append(f"{path}:{number}: {stage}/ includes {header}, an edge docs/design/pipeline.md does not list")
    for stage, header in sorted(edges - used):
        problems.append(f"docs/design/pipeline.md lists {stage} -> {header}, which nothing includes")
    # Cycles between stages (app included: nothing may include it).
    state = {}

    def visit(node, trail):
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                problems.append("include cycle: " + " -> ".join(trail + [node, nxt]))
            elif nxt not in state:
                visit(nxt, trail + [node])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    for p in problems:
        print(p)
    if problems:
        return 1
    print(f"include graph: {sum(len(v) for v in graph.values())} edges between {len(graph)} stages, acyclic, "
          f"{len(used)} interface edges all listed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
