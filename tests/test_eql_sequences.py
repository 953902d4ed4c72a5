"""EQL sequences and samples.

Cases cite the EQL syntax reference ("syntax"), the EQL search page ("search"), and for
missing events the acceptance rule of Elasticsearch's sequence matcher ("matcher").
Events carry an ``id`` so expectations read as event ids, not input positions.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detection import eql

SECOND = 1000  # epoch milliseconds


def ev(id_: int, t: float, category: str = "process", **fields: object) -> dict:
    out: dict = {"id": id_, "@timestamp": int(t * SECOND), "event": {"category": category}}
    out.update(fields)
    return out


def ids(query: str, events: list[dict], **options: object) -> list[list[int | None]]:
    results = eql.compile(query, **options).run(events)  # type: ignore[arg-type]
    return [[None if i is None else events[i]["id"] for i in m.indexes] for m in results]


# ---- the documented state machine ----------------------------------------------------------

STATE_MACHINE = [  # syntax: "How sequence queries handle matches", the 11-event example
    ev(1, 1, user={"name": "root"}, process={"name": "attrib"}),
    ev(2, 2, user={"name": "root"}, process={"name": "attrib"}),
    ev(3, 3, user={"name": "elkbee"}, process={"name": "bash"}),
    ev(4, 4, user={"name": "root"}, process={"name": "bash"}),
    ev(5, 5, user={"name": "root"}, process={"name": "bash"}),
    ev(6, 6, user={"name": "elkbee"}, process={"name": "attrib"}),
    ev(7, 7, user={"name": "root"}, process={"name": "attrib"}),
    ev(8, 8, user={"name": "elkbee"}, process={"name": "bash"}),
    ev(9, 9, user={"name": "root"}, process={"name": "cat"}),
    ev(10, 10, user={"name": "elkbee"}, process={"name": "cat"}),
    ev(11, 11, user={"name": "root"}, process={"name": "cat"}),
]
STATE_QUERY = """
sequence by user.name
  [process where process.name == "attrib"]
  [process where process.name == "bash"]
  [process where process.name == "cat"]
"""


def test_documented_state_machine_example() -> None:
    # [2] overwrites [1] in state A; [2, 4, 9] and [6, 8, 10] complete; [7] is left pending.
    assert ids(STATE_QUERY, STATE_MACHINE) == [[2, 4, 9], [6, 8, 10]]


def test_join_keys_are_reported() -> None:
    results = eql.compile(STATE_QUERY).run(STATE_MACHINE)
    assert [m.join_keys for m in results] == [("root",), ("elkbee",)]


def test_out_of_order_input_is_sorted_by_timestamp_first() -> None:
    shuffled = STATE_MACHINE[:]
    random.Random(7).shuffle(shuffled)
    assert shuffled != STATE_MACHINE
    assert ids(STATE_QUERY, shuffled) == [[2, 4, 9], [6, 8, 10]]


def test_match_lines_for_sequences() -> None:
    # line numbers of each sequence's events, in step order
    assert eql.match_lines(STATE_QUERY, STATE_MACHINE) == [[2, 4, 9], [6, 8, 10]]


# ---- maxspan ---------------------------------------------------------------------------------

@pytest.mark.parametrize("gap,maxspan,matched,doc", [
    (10, "15m", True, "syntax: with maxspan - within the span"),
    (16 * 60, "15m", False, "syntax: with maxspan - after the span"),
    (15 * 60, "15m", True, "matcher: rejected only when strictly longer than maxspan"),
    (0.5, "500ms", True, "syntax: maxspan accepts time units (ms)"),
    (0.501, "500ms", False, "syntax: maxspan accepts time units (ms)"),
    (3600, "1h", True, "syntax: maxspan accepts time units (h)"),
    (86401, "1d", False, "syntax: maxspan accepts time units (d)"),
])
def test_maxspan(gap: float, maxspan: str, matched: bool, doc: str) -> None:
    events = [ev(1, 100, "file", file={"extension": "exe"}), ev(2, 100 + gap, "process")]
    query = f'sequence with maxspan={maxspan} [file where file.extension == "exe"] [process where true]'
    assert ids(query, events) == ([[1, 2]] if matched else [])


def test_maxspan_counts_from_the_first_event() -> None:
    # syntax: "All events in a matching sequence must occur within this duration,
    # starting at the first event's timestamp"
    events = [ev(1, 0, "a"), ev(2, 4, "b"), ev(3, 8, "c")]
    assert ids("sequence with maxspan=8s [a where true] [b where true] [c where true]", events) == [[1, 2, 3]]
    assert ids("sequence with maxspan=7s [a where true] [b where true] [c where true]", events) == []


def test_expired_sequence_gives_way_to_a_fresh_one() -> None:
    events = [ev(1, 0, "a"), ev(2, 10, "a"), ev(3, 12, "b")]
    assert ids("sequence with maxspan=5s [a where true] [b where true]", events) == [[2, 3]]


# ---- join keys -------------------------------------------------------------------------------

def test_sequence_by_keeps_keys_apart() -> None:
    # syntax: by keyword - only events sharing the join key values pair up
    events = [ev(1, 1, "file", user={"name": "a"}), ev(2, 2, "process", user={"name": "b"}),
              ev(3, 3, "process", user={"name": "a"})]
    assert ids("sequence by user.name [file where true] [process where true]", events) == [[1, 3]]


def test_per_step_keys_join_different_fields() -> None:
    # syntax: by keyword - file.path of the file event equals process.executable of the process event
    events = [
        ev(1, 1, "file", user={"name": "u"}, file={"extension": "exe", "path": "C:\\a.exe"}),
        ev(2, 2, "process", user={"name": "u"}, process={"executable": "C:\\b.exe"}),
        ev(3, 3, "process", user={"name": "v"}, process={"executable": "C:\\a.exe"}),
        ev(4, 4, "process", user={"name": "u"}, process={"executable": "C:\\a.exe"}),
    ]
    per_step = """sequence
      [file where file.extension == "exe"] by user.name, file.path
      [process where true] by user.name, process.executable"""
    shared = """sequence by user.name
      [file where file.extension == "exe"] by file.path
      [process where true] by process.executable"""
    assert ids(per_step, events) == [[1, 4]]
    # syntax: "The following sequence is equivalent to the prior one."
    assert ids(shared, events) == [[1, 4]]


def test_null_join_keys_need_an_optional_field() -> None:
    # syntax: Optional by fields - "By default, a join key must be a non-null field value."
    events = [ev(1, 1, "process", process={"name": "regsvr32.exe", "pid": 5}),
              ev(2, 2, "network", process={"pid": 5})]
    strict = 'sequence by process.pid, process.entity_id [process where process.name == "regsvr32.exe"] [network where true]'
    optional = strict.replace("process.entity_id", "?process.entity_id")
    assert ids(strict, events) == []
    assert ids(optional, events) == [[1, 2]]
    assert eql.compile(optional).run(events)[0].join_keys == (5, None)


def test_join_key_values_compare_by_value() -> None:
    # 2012 and 2012.0 are the same number, so the same key
    events = [ev(1, 1, "a", pid=2012), ev(2, 2, "b", pid=2012.0)]
    assert ids("sequence by pid [a where true] [b where true]", events) == [[1, 2]]


# ---- until -----------------------------------------------------------------------------------

def _abc(*letters: str, id0: int = 1, key: str = "k") -> list[dict]:
    return [ev(id0 + i, id0 + i, "x", ID=key, step=letter) for i, letter in enumerate(letters)]


def test_until_documented_example() -> None:
    # syntax: until keyword - with sequences "A, B", "A, B, C", "A, C, B" the query
    # "sequence by ID A B until C" matches "A, B" and "A, B, C" but not "A, C, B".
    events = _abc("A", "B", key="1") + _abc("A", "B", "C", id0=10, key="2") + _abc("A", "C", "B", id0=20, key="3")
    query = 'sequence by ID [x where step == "A"] [x where step == "B"] until [x where step == "C"]'
    assert ids(query, events) == [[1, 2], [10, 11]]


def test_until_only_expires_its_own_key() -> None:
    events = _abc("A", key="1") + [ev(5, 5, "x", ID="2", step="C")] + [ev(6, 6, "x", ID="1", step="B")]
    query = 'sequence by ID [x where step == "A"] [x where step == "B"] until [x where step == "C"]'
    assert ids(query, events) == [[1, 6]]


def test_until_event_is_not_part_of_the_result_and_restarting_works() -> None:
    # PID reuse (syntax: until tip): a stop ends the pending sequence; a later start begins anew
    events = [ev(1, 1, pid=4, type="start"), ev(2, 2, pid=4, type="stop"), ev(3, 3, pid=4, type="start"),
              ev(4, 4, "file", pid=4)]
    query = ('sequence by pid [process where type == "start"] [file where true] '
             'until [process where type == "stop"]')
    assert ids(query, events) == [[3, 4]]


# ---- runs ------------------------------------------------------------------------------------

def test_runs_equals_repeating_the_step() -> None:
    # syntax: with runs - "[library where ...] with runs=3" is equivalent to writing it three times
    events = [ev(1, 1, "process", type="creation")] + [
        ev(i, i, "library", process={"name": "regsvr32.exe"}) for i in range(2, 6)] + [ev(6, 6, "registry")]
    runs = ('sequence [process where type == "creation"] '
            '[library where process.name == "regsvr32.exe"] with runs=3 [registry where true]')
    spelled = ('sequence [process where type == "creation"] ' + '[library where process.name == "regsvr32.exe"] ' * 3
               + "[registry where true]")
    # the first three libraries after the creation fill the three steps; the fourth finds none pending
    assert ids(runs, events) == ids(spelled, events) == [[1, 2, 3, 4, 6]]


def test_runs_on_one_filter_find_overlapping_runs() -> None:
    events = [ev(i, i, "a") for i in range(1, 5)]
    assert ids("sequence [a where true] with runs=2", events) == [[1, 2], [2, 3], [3, 4]]


def test_runs_with_join_keys() -> None:
    # syntax: "You can use a with runs statement with the by keyword"
    events = [ev(1, 1, "process", exe="x"), ev(2, 2, "library", path="x"), ev(3, 3, "library", path="y"),
              ev(4, 4, "library", path="x")]
    query = "sequence [process where true] by exe [library where true] by path with runs=2"
    assert ids(query, events) == [[1, 2, 4]]


# ---- missing events --------------------------------------------------------------------------

def _logons(*spec: tuple[int, float, str, str]) -> list[dict]:
    return [ev(i, t, "authentication", event={"category": "authentication", "code": code},
               host={"name": "h"}, user={"name": user}) for i, t, code, user in spec]


LOGOFF_QUERY = """
sequence by host.name, user.name with maxspan=5s
  [ authentication where event.code : "4624" ]
  ![ authentication where event.code : "4647" ]
"""


def test_missing_event_documented_example() -> None:
    # syntax: Missing events - logons not followed within 5 seconds by a logoff
    events = _logons((1, 0, "4624", "a"), (2, 3, "4647", "a"),  # logged off in time
                     (3, 10, "4624", "b"), (4, 16, "4647", "b"),  # logged off too late
                     (5, 20, "4624", "c"), (6, 21, "4647", "d"))  # someone else logged off
    assert ids(LOGOFF_QUERY, events) == [[3, None], [5, None]]


def test_missing_event_at_exactly_maxspan_still_counts() -> None:
    # matcher: a trailing missing event discards the sequence unless it is more than maxspan away
    events = _logons((1, 0, "4624", "a"), (2, 5, "4647", "a"))
    assert ids(LOGOFF_QUERY, events) == []


TAGS = "sequence with maxspan=1s [t where tag == \"A\"] ![t where tag == \"M\"] [t where tag == \"B\"]"


@pytest.mark.parametrize("tags,expected,doc", [
    ("A B", [[1, None, 2]], "syntax: missing events in the middle - none between A and B"),
    ("A M B", [], "syntax: a missing-step event between the neighbours discards the sequence"),
    ("M A B M", [[2, None, 3]], "only events strictly between the neighbouring steps count"),
    ("A B M A M B", [[1, None, 2]], "each candidate is checked against its own window"),
])
def test_missing_event_in_the_middle(tags: str, expected: list, doc: str) -> None:
    events = [ev(i, i / 100, "t", tag=tag) for i, tag in enumerate(tags.split(), 1)]
    assert ids(TAGS, events) == expected


def test_missing_event_check_does_not_skip_to_an_earlier_candidate() -> None:
    # matcher: the state machine picks candidates first; a discarded one is not replaced by an older one
    events = [ev(i, i / 100, "t", tag=tag) for i, tag in enumerate("A A M B".split(), 1)]
    assert ids(TAGS, events) == []


LEADING = 'sequence with maxspan=3m ![t where tag == "M"] [t where tag == "N"]'
BOTH = 'sequence with maxspan={span} ![t where tag == "M"] [t where tag == "N"] ![t where tag == "M"]'
MINUTE = 60


def _timeline() -> list[dict]:
    # M at 0:00, N at 10:00, M at 20:00, N at 21:00, N at 29:00, N at 31:00
    spec = [(0, "M"), (10, "N"), (20, "M"), (21, "N"), (29, "N"), (31, "N")]
    return [ev(i, minutes * MINUTE, "t", tag=tag) for i, (minutes, tag) in enumerate(spec, 1)]


def test_leading_missing_event_within_maxspan_discards() -> None:
    # matcher: with only leading missing steps, discard when the nearest earlier one is within maxspan
    assert ids(LEADING, _timeline()) == [[None, 2], [None, 5], [None, 6]]


@pytest.mark.parametrize("span,expected", [
    ("19m", [[None, 2, None], [None, 4, None], [None, 5, None], [None, 6, None]]),
    ("21m", [[None, 4, None], [None, 5, None], [None, 6, None]]),
])
def test_leading_and_trailing_missing_events_must_both_fit_in_maxspan(span: str, expected: list) -> None:
    # matcher: with leading and trailing missing steps, a sequence is discarded only when the
    # nearest leading and trailing events are both present and at most maxspan apart
    # (N at 10:00 sits between M at 0:00 and M at 20:00: 20 minutes apart).
    assert ids(BOTH.format(span=span), _timeline()) == expected


def test_missing_step_uses_its_own_join_keys() -> None:
    # matcher: the missing step is searched with its own by fields set to the sequence's key values
    events = [ev(1, 0.001, "t", tag="A", k1="foo"), ev(2, 0.002, "t", tag="M", k1="foo", k2="bar"),
              ev(3, 0.003, "t", tag="B", k1="foo")]
    by_k1 = 'sequence with maxspan=1s [t where tag == "A"] by k1 ![t where tag == "M"] by k1 [t where tag == "B"] by k1'
    by_k2 = by_k1.replace('![t where tag == "M"] by k1', '![t where tag == "M"] by k2')
    assert ids(by_k1, events) == []
    assert ids(by_k2, events) == [[1, None, 3]]


def test_missing_step_with_runs() -> None:
    events = [ev(1, 0.001, "t", tag="A"), ev(2, 0.002, "t", tag="B")]
    q = 'sequence with maxspan=1s [t where tag == "A"] ![t where tag == "M"] with runs=2 [t where tag == "B"]'
    assert ids(q, events) == [[1, None, None, 2]]


# ---- ordering, tiebreaker, pipes ---------------------------------------------------------------

def test_tiebreaker_orders_events_with_the_same_timestamp() -> None:
    # search: Specify a sort tiebreaker (event.sequence is the ECS recommendation)
    events = [ev(1, 5, "b", event={"category": "b", "sequence": 2}),
              ev(2, 5, "a", event={"category": "a", "sequence": 1})]
    query = "sequence [a where true] [b where true]"
    assert ids(query, events, tiebreaker_field="event.sequence") == [[2, 1]]
    assert ids(query, events) == []  # by input position, b comes first


def test_events_without_a_timestamp_take_no_part_in_sequences() -> None:
    events = [ev(1, 1, "a"), {"id": 2, "event": {"category": "b"}}, ev(3, 3, "b")]
    assert ids("sequence [a where true] [b where true]", events) == [[1, 3]]


def test_timestamps_in_mixed_formats_sort_together() -> None:
    events = [
        {"id": 1, "@timestamp": "2024-01-01T00:00:02Z", "event": {"category": "b"}},
        {"id": 2, "@timestamp": 1704067201000, "event": {"category": "a"}},  # epoch millis, 00:00:01
        {"id": 3, "@timestamp": "1704067200000", "event": {"category": "b"}},  # epoch millis as text, 00:00:00
    ]
    assert ids("sequence [a where true] [b where true]", events) == [[2, 1]]


def test_timestamp_field_is_configurable() -> None:
    events = [{"id": 1, "ts": 2, "event": {"category": "b"}}, {"id": 2, "ts": 1, "event": {"category": "a"}}]
    assert ids("sequence [a where true] [b where true]", events, timestamp_field="ts") == [[2, 1]]


def test_sequence_head_and_tail() -> None:
    # pipes: head and tail apply to sequences too; sequences are ordered by their first event
    events = [ev(i, i, "a" if i % 2 else "b") for i in range(1, 9)]
    query = "sequence [a where true] [b where true]"
    assert ids(query, events) == [[1, 2], [3, 4], [5, 6], [7, 8]]
    assert ids(query + " | head 2", events) == [[1, 2], [3, 4]]
    assert ids(query + " | tail 1", events) == [[7, 8]]


def test_sequence_results_are_ordered_by_first_event() -> None:
    # key "x" starts first but completes last
    events = [ev(1, 1, "a", k="x"), ev(2, 2, "a", k="y"), ev(3, 3, "b", k="y"), ev(4, 4, "b", k="x")]
    assert ids("sequence by k [a where true] [b where true]", events) == [[1, 4], [2, 3]]


# ---- samples ----------------------------------------------------------------------------------

HOSTS = [
    {"id": 11, "host": "doom", "uptime": 0, "port": 1234, "os": "win10"},
    {"id": 13, "host": "farcry", "uptime": 1, "port": 1234, "bool": False, "os": "win10"},
    {"id": 16, "host": "doom", "port": 65123, "bool": True, "os": "redhat"},
    {"id": 17, "host": "doom", "uptime": 15, "port": 1234, "bool": True, "os": "redhat"},
    {"id": 110, "host": "farcry", "uptime": 1, "port": 1234, "bool": True, "os": "win10"},
    {"id": 23, "host": "farcry", "uptime": 1, "port": 1234, "bool": False, "op_sys": "win10"},
    {"id": 26, "host": "doom", "port": 65123, "bool": True, "op_sys": "redhat"},
    {"id": 33, "host": "farcry", "bool": True, "os": "win10"},
    {"id": 50, "host": "GTA", "uptime": 3, "port": 12, "os": "slack"},
]


def test_sample_picks_one_distinct_event_per_filter() -> None:
    # search: "Sample chronologically unordered events" - one matching event for each filter,
    # returned in filter order, one sample per join key; no timestamp needed
    query = "sample by host [any where uptime > 0] [any where port > 100] [any where bool == true]"
    results = eql.compile(query).run(HOSTS)
    got = {m.join_keys: [HOSTS[i]["id"] for i in m.indexes] for m in results}
    assert set(got) == {("doom",), ("farcry",)}  # GTA has no port > 100
    for key, picked in got.items():
        assert len(set(picked)) == 3
        rows = [next(h for h in HOSTS if h["id"] == i) for i in picked]
        assert rows[0].get("uptime", 0) > 0 and rows[1].get("port", 0) > 100 and rows[2].get("bool") is True
        assert all(r["host"] == key[0] for r in rows)
    assert got[("doom",)] == [17, 11, 16]  # 17 matches all three filters but is used once


def test_sample_per_filter_keys_may_name_different_fields() -> None:
    # search: "each of the events shares the same value for os or op_sys, as well as for host"
    query = ("sample by host [any where uptime > 0] by os [any where port > 100] by op_sys "
             "[any where bool == true] by os")
    results = eql.compile(query).run(HOSTS)
    assert [m.join_keys for m in results] == [("doom", "redhat"), ("farcry", "win10")]
    doom = [HOSTS[i]["id"] for i in results[0].indexes]
    assert doom == [17, 26, 16]


def test_sample_backtracks_to_find_distinct_events() -> None:
    # one event fits both filters, the other only the first: the first filter must take the other
    events = [{"id": 1, "k": 1, "a": True, "b": True}, {"id": 2, "k": 1, "a": True}]
    results = eql.compile("sample by k [any where a == true] [any where b == true]").run(events)
    assert [[events[i]["id"] for i in m.indexes] for m in results] == [[2, 1]]


def test_sample_without_enough_distinct_events_is_dropped() -> None:
    events = [{"k": 1, "a": True}]
    assert eql.compile("sample by k [any where a == true] [any where a == true]").run(events) == []


def test_sample_skips_events_with_null_join_keys() -> None:
    events = [{"a": 1}, {"a": 1, "k": None}, {"a": 1, "k": "x"}]
    assert [m.indexes for m in eql.compile("sample by k [any where a == 1]").run(events)] == [(2,)]


# ---- properties -------------------------------------------------------------------------------

_STEP_EVENTS = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c", "u"]), st.sampled_from(["x", "y"])), min_size=0, max_size=25)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_STEP_EVENTS, st.randoms(use_true_random=False))
def test_input_order_does_not_change_sequence_results(steps: list[tuple[str, str]], rnd: random.Random) -> None:
    events = [ev(i, i * 0.5, cat, k=key) for i, (cat, key) in enumerate(steps)]
    query = ("sequence by k with maxspan=2s [a where true] ![u where true] [b where true] [c where true] "
             "until [u where k == \"y\"]")
    shuffled = events[:]
    rnd.shuffle(shuffled)
    assert ids(query, shuffled) == ids(query, events)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_STEP_EVENTS)
def test_every_sequence_result_satisfies_its_constraints(steps: list[tuple[str, str]]) -> None:
    events = [ev(i, i * 0.5, cat, k=key) for i, (cat, key) in enumerate(steps)]
    query = "sequence by k with maxspan=3s [a where true] [b where true] [c where true]"
    for match in eql.compile(query).run(events):
        rows = [events[i] for i in match.indexes]
        assert [r["event"]["category"] for r in rows] == ["a", "b", "c"]
        assert len({r["k"] for r in rows}) == 1
        times = [r["@timestamp"] for r in rows]
        assert times == sorted(times) and times[-1] - times[0] <= 3 * SECOND


# ---- the command line -------------------------------------------------------------------------

def test_match_command_prints_one_line_per_match(tmp_path, capsys) -> None:
    from detection.cli import main

    path = tmp_path / "events.ndjson"
    path.write_text(
        '{"@timestamp": "2024-01-01T00:00:01Z", "event": {"category": "process"}, "process": {"name": "cmd.exe", "pid": 4}}\n'
        "\n"  # blank lines keep their line numbers
        '{"@timestamp": "2024-01-01T00:00:02Z", "event": {"category": "file"}, "process": {"pid": 4}}\n'
        '{"@timestamp": "2024-01-01T00:00:03Z", "event": {"category": "process"}, "process": {"name": "CMD.EXE", "pid": 5}}\n',
        encoding="utf-8")
    assert main(["match", "--language", "eql", 'process where process.name : "cmd.exe"', str(path)]) == 0
    assert capsys.readouterr().out.split("\n") == ["1", "4", ""]
    assert main(["match", "--language", "eql", "sequence by process.pid [process where true] [file where true]",
                 str(path)]) == 0
    assert capsys.readouterr().out == "1 3\n"
    assert main(["match", "--language", "eql", 'file where process.pid == 5', str(path)]) == 1
    assert main(["match", "--language", "eql", 'file where process.pid = 5', str(path)]) == 2
    err = capsys.readouterr().err
    assert "line 1, column 24" in err and "^" in err
