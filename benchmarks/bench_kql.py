"""Compiled KQL predicate vs a hand-written Python predicate over the same CloudTrail-like events.

Both run in the same process on the same pre-parsed events (nested dicts, as json.loads gives);
the figure is best-of-N time, and the ratio is hand-written time / compiled time (1.0 = as fast).
"""

from __future__ import annotations

import random
import sys
import time

QUERY = (
    "event.dataset:aws.cloudtrail and event.provider:sts.amazonaws.com and event.action:AssumeRole"
    " and aws.cloudtrail.user_identity.session_context.session_issuer.type:Role and event.outcome:success"
)
N_EVENTS = 100_000
REPEATS = 5

_PROVIDERS = {
    "sts.amazonaws.com": ["AssumeRole", "GetCallerIdentity", "GetSessionToken", "AssumeRoleWithSAML"],
    "iam.amazonaws.com": ["CreateUser", "AttachUserPolicy", "ListRoles", "CreateAccessKey"],
    "s3.amazonaws.com": ["GetObject", "PutObject", "ListBuckets", "PutBucketPolicy"],
    "ec2.amazonaws.com": ["RunInstances", "DescribeInstances", "AuthorizeSecurityGroupIngress"],
    "signin.amazonaws.com": ["ConsoleLogin"],
}


def make_events(n: int = N_EVENTS, seed: int = 20240517) -> list[dict]:
    rng = random.Random(seed)
    providers = list(_PROVIDERS)
    events = []
    for i in range(n):
        # STS is over-represented so that a fair share of events reach the later clauses.
        provider = "sts.amazonaws.com" if rng.random() < 0.4 else rng.choice(providers)
        action = rng.choice(_PROVIDERS[provider])
        issuer_type = rng.choice(["Role", "Role", "IAMUser", "Root"])
        identity: dict = {"type": "AssumedRole" if issuer_type == "Role" else issuer_type, "arn": f"arn:aws:iam::1234:x/{i}"}
        if rng.random() < 0.8:
            identity["session_context"] = {
                "mfa_authenticated": rng.choice(["true", "false"]),
                "session_issuer": {"type": issuer_type, "arn": f"arn:aws:iam::1234:role/r{i % 50}"},
            }
        events.append(
            {
                "@timestamp": f"2024-05-17T10:{i % 60:02d}:00.000Z",
                "event": {
                    "dataset": "aws.cloudtrail",
                    "provider": provider,
                    "action": action,
                    "outcome": "success" if rng.random() < 0.85 else "failure",
                    "kind": "event",
                },
                "cloud": {"region": rng.choice(["us-east-1", "eu-west-1"]), "account": {"id": "1234"}},
                "source": {"ip": f"10.0.{i % 256}.{(i * 7) % 256}"},
                "aws": {"cloudtrail": {"user_identity": identity, "event_type": "AwsApiCall", "read_only": False}},
            }
        )
    return events


def hand_written(e: dict) -> bool:
    """What a careful engineer would write for the same query on well-formed nested events."""
    ev = e.get("event") or {}
    if ev.get("dataset", "aws.cloudtrail") != "aws.cloudtrail":
        return False
    if ev.get("provider") != "sts.amazonaws.com" or ev.get("action") != "AssumeRole":
        return False
    issuer = (((e.get("aws") or {}).get("cloudtrail") or {}).get("user_identity") or {}).get("session_context") or {}
    if (issuer.get("session_issuer") or {}).get("type") != "Role":
        return False
    return ev.get("outcome") == "success"


def best_time(predicate, events: list[dict], repeats: int = REPEATS) -> tuple[float, int]:
    best, count = float("inf"), 0
    for _ in range(repeats):
        start = time.perf_counter()
        count = sum(1 for e in events if predicate(e))
        best = min(best, time.perf_counter() - start)
    return best, count


def main() -> dict:
    from detection.kql import compile as kql_compile

    events = make_events()
    compiled = kql_compile(QUERY)
    t_hand, n_hand = best_time(hand_written, events)
    t_kql, n_kql = best_time(compiled, events)
    if n_hand != n_kql:
        raise SystemExit(f"predicates disagree: hand-written {n_hand} matches, compiled {n_kql}")
    ratio = t_hand / t_kql
    print(f"   events: {len(events)}, matches: {n_kql}")
    print(f"   hand-written: {t_hand * 1e9 / len(events):.0f} ns/event")
    print(f"   compiled KQL: {t_kql * 1e9 / len(events):.0f} ns/event")
    print(f"   speed ratio (hand-written time / compiled time): {ratio:.2f} (target >= 0.5)")
    return {
        "events": len(events),
        "matches": n_kql,
        "hand_ns_per_event": round(t_hand * 1e9 / len(events), 1),
        "kql_ns_per_event": round(t_kql * 1e9 / len(events), 1),
        "ratio": round(ratio, 3),
    }


if __name__ == "__main__":
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent))
    main()
