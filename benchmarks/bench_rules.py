"""N rules over the same events: the rule index against running every rule, and against one rule.

Generated CloudTrail rules (benchmarks/synthetic.py) are compiled with the shipped field schema
for their indices; the same pre-parsed events go through ``RuleIndex.matches`` and through the
plain loop ``[r.key for r in rules if r.predicate(e)]``. Figures are best-of-N per-event times;
the two paths must return the same alerts or the benchmark stops.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

SIZES = (1, 10, 100, 1000)
N_EVENTS = 5000
REPEATS = 3


def best_time(fn, repeats: int = REPEATS) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def compile_rules(queries: list[str]):
    from detection import kql
    from detection.fields import default_schema
    from detection.kql.requirements import required_terms
    from detection.rule_index import IndexedRule

    schema = default_schema().for_indices(["logs-aws*", "filebeat-*"])
    rules = []
    for i, query in enumerate(queries):
        predicate = kql.compile(query, schema)
        rules.append(IndexedRule(i, predicate, required_terms(predicate.kql_node, schema)))
    return rules


def main() -> dict:
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # for synthetic.py, under run.py too
    from synthetic import make_events, make_queries

    from detection.rule_index import RuleIndex, plain_matches

    started = time.perf_counter()
    rules = compile_rules(make_queries(max(SIZES)))
    compile_s = time.perf_counter() - started
    events = make_events(N_EVENTS)
    figures: dict[str, object] = {"events": len(events), "compile_ms_per_rule": round(compile_s * 1000 / len(rules), 3)}
    print(f"   {len(rules)} generated rules compiled in {compile_s:.2f} s; {len(events)} events")
    print(f"   {'rules':>6} {'plain us/event':>15} {'indexed us/event':>17} {'plain/indexed':>14} "
          f"{'candidates/event':>17} {'alerts':>7}")
    one_rule = None
    for n in SIZES:
        chosen = rules[:n]
        index = RuleIndex(chosen)
        t_plain, plain = best_time(lambda c=chosen: [plain_matches(c, e) for e in events], 1 if n >= 1000 else REPEATS)
        t_index, indexed = best_time(lambda i=index: [i.matches(e) for e in events])
        if plain != indexed:
            raise SystemExit(f"indexed and plain paths disagree at {n} rules")
        candidates = sum(len(index.candidates(e)) for e in events) / len(events)
        alerts = sum(len(m) for m in plain)  # type: ignore[union-attr]
        us_plain, us_index = t_plain * 1e6 / len(events), t_index * 1e6 / len(events)
        if n == 1:
            one_rule = us_plain
        print(f"   {n:>6} {us_plain:>15.2f} {us_index:>17.2f} {us_plain / us_index:>14.1f} {candidates:>17.1f} {alerts:>7}")
        figures[f"plain_us_per_event_{n}"] = round(us_plain, 2)
        figures[f"indexed_us_per_event_{n}"] = round(us_index, 2)
        figures[f"plain_over_indexed_{n}"] = round(us_plain / us_index, 2)
        figures[f"candidates_per_event_{n}"] = round(candidates, 2)
    assert one_rule is not None
    ratio = figures["indexed_us_per_event_1000"] / one_rule  # type: ignore[operator]
    stats = RuleIndex(rules).stats()
    print(f"   1,000 rules through the index cost {ratio:.0f}x one rule (1,000x without it: "
          f"{figures['plain_us_per_event_1000'] / one_rule:.0f}x measured)")  # type: ignore[operator]
    print(f"   filed by: {stats}")
    # How much of that is the few rules with no constant term (evaluated for every event)?
    filed = [r for r in rules if r.requirements.terms]
    filed_index = RuleIndex(filed)
    t_filed, _ = best_time(lambda: [filed_index.matches(e) for e in events])
    us_filed = t_filed * 1e6 / len(events)
    print(f"   the {len(filed)} rules with a constant term alone: {us_filed:.2f} us/event through the index "
          f"({us_filed / one_rule:.0f}x one rule)")
    figures["indexed_1000_over_one_rule"] = round(ratio, 1)
    figures["indexed_us_per_event_filed_only"] = round(us_filed, 2)
    figures["unindexed_rules_of_1000"] = stats["unindexed"]
    return figures


if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    sys.path[:0] = [str(here), str(here.parent)]
    main()
