"""The KQL benchmark stays honest: its hand-written predicate and the compiled query agree."""

from __future__ import annotations

import importlib.util

from .conftest import REPO


def _bench_kql():
    spec = importlib.util.spec_from_file_location("bench_kql", REPO / "benchmarks" / "bench_kql.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_hand_written_and_compiled_predicates_agree_event_by_event() -> None:
    from detection.kql import compile as kql_compile

    bench = _bench_kql()
    events = bench.make_events(3000)
    compiled = kql_compile(bench.QUERY)
    verdicts = [(bench.hand_written(e), compiled(e)) for e in events]
    assert all(hand is kql for hand, kql in verdicts)
    # both outcomes occur, and the query is the seed rule's (fixed) query
    assert 0 < sum(kql for _, kql in verdicts) < len(events)
    seed = (REPO / "rules" / "aws" / "privilege_escalation_sts_assumerole_usage.yaml").read_text(encoding="utf-8")
    assert all(clause in " ".join(seed.split()) for clause in bench.QUERY.split(" and "))
