"""Sequence and sample matching over events already sorted into time order.

Sequences follow the state machine the EQL syntax reference describes in "How sequence
queries handle matches": each step is a state, only one pending sequence sits in a state
per join key, and a newer sequence entering a state replaces the older one. An event is
offered to the later steps first, so one event can both extend a pending sequence and
start a new one (the same event never fills two steps of one sequence).

* ``maxspan``: an event extends a sequence only if it is at most ``maxspan`` after the
  sequence's first event; a sequence that is too old is dropped.
* ``until``: an expiry event ends the pending sequences of its join key. Completions by
  the same event still count; sequences it would start or extend are ended with the rest.
* Missing events ``![...]``: a candidate is checked after its positive steps match. An
  event of a middle missing step strictly between its neighbours discards it; leading and
  trailing missing steps discard it only when the nearest such event(s) fall within
  ``maxspan`` of the sequence (the rule Elasticsearch's sequence matcher applies).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from detection.eql.values import sort_key

Pred = Callable[[Mapping], bool]
KeyFn = Callable[[Mapping], "tuple | None"]


@dataclass(frozen=True)
class Step:
    matches: Pred
    key: KeyFn
    missing: bool = False


Found = tuple[tuple, tuple[int | None, ...]]  # (join key, event index per step or None)


def run_sequence(steps: list[Step], until: Step | None, maxspan: int | None,
                 events: Sequence[Mapping], order: list[int], ts: dict[int, int]) -> list[Found]:
    positive = [i for i, s in enumerate(steps) if not s.missing]
    pos_steps = [steps[i] for i in positive]
    last = len(pos_steps) - 1
    # Pending sequences per positive step (all but the last): join key -> (indexes, times)
    states: list[dict] = [{} for _ in range(last)]
    preds = list(dict.fromkeys(s.matches for s in pos_steps))
    slot = [preds.index(s.matches) for s in pos_steps]
    candidates: list[tuple[tuple, tuple[int, ...], tuple[int, ...]]] = []

    for idx in order:
        ev = events[idx]
        t = ts[idx]
        hits = [p(ev) for p in preds]
        for j in range(last, -1, -1):
            if not hits[slot[j]]:
                continue
            key = pos_steps[j].key(ev)
            if key is None:
                continue
            if j == 0:
                seq = ((idx,), (t,))
            else:
                prev = states[j - 1].pop(key, None)
                if prev is None:
                    continue
                if maxspan is not None and t - prev[1][0] > maxspan:
                    continue
                seq = (prev[0] + (idx,), prev[1] + (t,))
            if j == last:
                candidates.append((key, seq[0], seq[1]))
            else:
                states[j][key] = seq
        if until is not None and until.matches(ev):
            key = until.key(ev)
            if key is not None:
                for st in states:
                    st.pop(key, None)

    check = _missing_checker(steps, positive, maxspan, events, order, ts)
    out: list[Found] = []
    for key, idxs, times in candidates:
        if check is not None and not check(key, times):
            continue
        full: list[int | None] = [None] * len(steps)
        for p, i in zip(positive, idxs, strict=True):
            full[p] = i
        out.append((key, tuple(full)))
    return out


def _missing_checker(steps: list[Step], positive: list[int], maxspan: int | None,
                     events: Sequence[Mapping], order: list[int], ts: dict[int, int]):
    missing = [i for i, s in enumerate(steps) if s.missing]
    if not missing:
        return None
    # For each missing step: join key -> sorted times of events that match it.
    index: dict[int, dict] = {m: {} for m in missing}
    for idx in order:
        ev = events[idx]
        for m in missing:
            if steps[m].matches(ev):
                key = steps[m].key(ev)
                if key is not None:
                    index[m].setdefault(key, []).append(ts[idx])
    first_pos, last_pos = positive[0], positive[-1]
    leading = [m for m in missing if m < first_pos]
    trailing = [m for m in missing if m > last_pos]
    # middle step -> (position of the positive step before it, in the positive list)
    middle = [(m, sum(1 for p in positive if p < m) - 1) for m in missing if first_pos < m < last_pos]
    span = maxspan if maxspan is not None else 0

    def beyond(a: int | None, b: int | None) -> bool:
        return a is None or b is None or b - a > span

    def check(key: tuple, times: tuple[int, ...]) -> bool:
        for m, j in middle:
            lst = index[m].get(key)
            if lst:
                k = bisect.bisect_right(lst, times[j])
                if k < len(lst) and lst[k] < times[j + 1]:
                    return False
        last_leading = None
        for m in leading:
            lst = index[m].get(key)
            if lst:
                k = bisect.bisect_left(lst, times[0])
                if k > 0 and (last_leading is None or lst[k - 1] > last_leading):
                    last_leading = lst[k - 1]
        first_trailing = None
        for m in trailing:
            lst = index[m].get(key)
            if lst:
                k = bisect.bisect_right(lst, times[-1])
                if k < len(lst) and (first_trailing is None or lst[k] < first_trailing):
                    first_trailing = lst[k]
        lead, trail = bool(leading), bool(trailing)
        return ((first_trailing is None and last_leading is None)
                or (last_leading is None and lead)
                or (first_trailing is None and trail)
                or (lead and trail and beyond(last_leading, first_trailing))
                or (lead and not trail and beyond(last_leading, times[-1]))
                or (trail and not lead and beyond(times[0], first_trailing)))
    return check


def run_sample(steps: list[Step], events: Sequence[Mapping]) -> list[Found]:
    """One sample per join key: a distinct event for each filter, in filter order.

    Like Elasticsearch, it considers the first few matching events of each filter per key
    (as many as there are filters) and backtracks to pick distinct ones. Candidates are
    taken in input order; samples come out ordered by join key.
    """
    n = len(steps)
    groups: dict[tuple, list[list[int]]] = {}
    for idx, ev in enumerate(events):
        if not isinstance(ev, Mapping):
            continue
        for i, step in enumerate(steps):
            if step.matches(ev):
                key = step.key(ev)
                if key is None:
                    continue
                lists = groups.get(key)
                if lists is None:
                    lists = groups[key] = [[] for _ in range(n)]
                if len(lists[i]) < n:
                    lists[i].append(idx)
    out: list[Found] = []
    for key in sorted(groups, key=sort_key):
        pick = _distinct(groups[key])
        if pick is not None:
            out.append((key, tuple(pick)))
    return out


def _distinct(lists: list[list[int]]) -> list[int] | None:
    chosen: list[int] = []

    def go(i: int) -> bool:
        if i == len(lists):
            return True
        for idx in lists[i]:
            if idx not in chosen:
                chosen.append(idx)
                if go(i + 1):
                    return True
                chosen.pop()
        return False
    return chosen if go(0) else None
