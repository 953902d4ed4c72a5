"""Compiled EQL vs hand-written Python over the same endpoint-like events.

The event query is compared with a hand-written predicate for the same condition (ratio
= hand-written time / compiled time, 1.0 = as fast). The sequence query has no hand-written
twin; its figure is events per second through ``run()``, sorting included.
"""

from __future__ import annotations

import random
import sys
import time

EVENT_QUERY = (
    'process where process.name : ("cmd.exe", "powershell.exe") and not user.name == "SYSTEM" '
    "and process.pid > 100"
)
SEQUENCE_QUERY = (
    'sequence by host.name with maxspan=1m [process where process.name == "cmd.exe"] '
    '[network where true] [file where user.name == "bob"]'
)
N_EVENTS = 100_000
REPEATS = 3

_NAMES = ["cmd.exe", "CMD.EXE", "powershell.exe", "svchost.exe", "explorer.exe", "regsvr32.exe"]


def make_events(n: int = N_EVENTS, seed: int = 20240601) -> list[dict]:
    rng = random.Random(seed)
    return [
        {
            "@timestamp": 1_700_000_000_000 + i * 10,
            "event": {"category": rng.choice(["process", "file", "network"]), "type": "start"},
            "process": {"name": rng.choice(_NAMES), "pid": rng.randint(1, 500), "args": ["/c", "x"]},
            "user": {"name": rng.choice(["SYSTEM", "bob", "alice"])},
            "host": {"name": f"h{rng.randint(1, 20)}"},
        }
        for i in range(n)
    ]


def hand_written(e: dict) -> bool:
    """The same condition written directly, for well-formed nested events."""
    if (e.get("event") or {}).get("category") != "process":
        return False
    proc = e.get("process") or {}
    name = proc.get("name")
    if not isinstance(name, str) or name.lower() not in ("cmd.exe", "powershell.exe"):
        return False
    if (e.get("user") or {}).get("name") == "SYSTEM":
        return False
    pid = proc.get("pid")
    return isinstance(pid, int) and pid > 100


def best(fn, repeats: int = REPEATS) -> tuple[float, object]:
    fastest, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        fastest = min(fastest, time.perf_counter() - start)
    return fastest, out


def main() -> dict:
    from detection import eql

    events = make_events()
    compiled = eql.compile(EVENT_QUERY)
    t_hand, n_hand = best(lambda: sum(1 for e in events if hand_written(e)))
    t_eql, n_eql = best(lambda: sum(1 for e in events if compiled.matches(e)))
    if n_hand != n_eql:
        raise SystemExit(f"predicates disagree: hand-written {n_hand}, compiled {n_eql}")
    seq = eql.compile(SEQUENCE_QUERY)
    t_seq, found = best(lambda: seq.run(events))
    t_compile, _ = best(lambda: [eql.compile(SEQUENCE_QUERY) for _ in range(200)])
    ratio = t_hand / t_eql
    print(f"   events: {len(events)}, event-query matches: {n_eql}, sequences: {len(found)}")
    print(f"   hand-written: {t_hand * 1e9 / len(events):.0f} ns/event")
    print(f"   compiled EQL: {t_eql * 1e9 / len(events):.0f} ns/event (ratio {ratio:.2f})")
    print(f"   sequence run: {len(events) / t_seq:,.0f} events/s")
    print(f"   compile a sequence query: {t_compile / 200 * 1e6:.0f} us")
    return {
        "events": len(events),
        "matches": n_eql,
        "sequences": len(found),
        "hand_ns_per_event": round(t_hand * 1e9 / len(events), 1),
        "eql_ns_per_event": round(t_eql * 1e9 / len(events), 1),
        "ratio": round(ratio, 3),
        "sequence_events_per_s": round(len(events) / t_seq),
        "compile_us": round(t_compile / 200 * 1e6, 1),
    }


if __name__ == "__main__":
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent))
    main()
