"""Generated CloudTrail-like events and KQL rules for the rule, backtest and check benchmarks.

Everything is seeded, so two runs measure the same data. Providers and event names come from
the shipped AWS API table (detection/data/aws_api.json.gz), so rules look like real CloudTrail
rules: ``event.dataset:aws.cloudtrail and event.provider:P and event.action:(A or B) and ...``.
A few rules have no constant term at all (the index must still evaluate them for every event),
and a few events carry JSON escapes (the byte prefilter must decode those lines).
"""

from __future__ import annotations

import random
from functools import lru_cache

import orjson

PROVIDERS = (
    "sts.amazonaws.com", "iam.amazonaws.com", "s3.amazonaws.com", "ec2.amazonaws.com", "kms.amazonaws.com",
    "lambda.amazonaws.com", "cloudtrail.amazonaws.com", "guardduty.amazonaws.com", "rds.amazonaws.com",
    "secretsmanager.amazonaws.com", "ssm.amazonaws.com", "organizations.amazonaws.com", "logs.amazonaws.com",
    "config.amazonaws.com", "dynamodb.amazonaws.com", "sns.amazonaws.com", "sqs.amazonaws.com",
    "ecr.amazonaws.com", "eks.amazonaws.com", "route53.amazonaws.com",
)
READ_PREFIXES = ("Describe", "Get", "List")
WRITE_SHARE = 0.08  # most of a trail is read-only noise that no rule looks for
CATEGORIES = ("iam", "authentication", "configuration", "network", "database", "file", "web")
ESCAPED_SHARE = 0.03  # events whose JSON has a backslash somewhere (quotes in a user agent)


@lru_cache(maxsize=1)
def vocabulary() -> tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]:
    """(provider, read-only event names, other event names): real operation names, at most 20 + 30."""
    from detection import aws_api

    rng = random.Random(7)
    out = []
    for provider in PROVIDERS:
        names = sorted(aws_api.operations(provider))
        reads = [n for n in names if n.startswith(READ_PREFIXES)]
        writes = [n for n in names if not n.startswith(READ_PREFIXES)]
        out.append((provider, tuple(sorted(rng.sample(reads, min(20, len(reads))))),
                    tuple(sorted(rng.sample(writes, min(30, len(writes)))))))
    return tuple(out)


def make_event(rng: random.Random, i: int) -> dict:
    vocab = vocabulary()
    # A few providers and names dominate, as in real trails; most calls only read.
    provider, reads, writes = vocab[min(int(rng.paretovariate(1.0)) - 1, len(vocab) - 1)]
    actions = writes if rng.random() < WRITE_SHARE or not reads else reads
    action = actions[min(int(rng.paretovariate(0.8)) - 1, len(actions) - 1)]
    roll = rng.random()
    identity_type = "AssumedRole" if roll < 0.7 else "IAMUser" if roll < 0.85 else "AWSService" if roll < 0.999 else "Root"
    agent = rng.choice(("aws-cli/2.15.0 Python/3.11.6", "Boto3/1.34.0 Python/3.11", "console.amazonaws.com",
                        "Terraform/1.7.0"))
    if rng.random() < ESCAPED_SHARE:
        agent = 'custom "agent" \\ build'
    event: dict = {
        "@timestamp": f"2024-05-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:{(i * 7) % 60:02d}.000Z",
        "event": {
            "provider": provider,
            "action": action,
            "outcome": "success" if rng.random() < 0.9 else "failure",
            "kind": "event",
            "category": [rng.choice(CATEGORIES)] if rng.random() < 0.3 else [],
            "type": ["info"],
            "id": f"{rng.getrandbits(64):016x}-{i}",
        },
        "cloud": {"provider": "aws", "region": rng.choice(("us-east-1", "eu-west-1", "ap-south-1")),
                  "account": {"id": "111122223333"}},
        "source": {"ip": f"10.{i % 256}.{(i * 7) % 256}.{(i * 13) % 256}"},
        "user": {"name": f"user{i % 300}"},
        "user_agent": {"original": agent},
        "aws": {"cloudtrail": {
            "event_type": "AwsApiCall",
            "user_identity": {"type": identity_type, "arn": f"arn:aws:iam::111122223333:user/user{i % 300}"},
            "request_parameters": f"{{resource=arn:aws:{provider.split('.')[0]}:us-east-1:111122223333:r{i % 997}}}",
        }},
    }
    if rng.random() < 0.5:
        # Half the documents carry event.dataset in _source; for the others the data stream's
        # constant_keyword mapping supplies it.
        event["event"]["dataset"] = "aws.cloudtrail"
    return event


def make_events(n: int, seed: int = 20240517) -> list[dict]:
    rng = random.Random(seed)
    return [make_event(rng, i) for i in range(n)]


def event_lines(n: int, distinct: int = 20_000, seed: int = 20240517) -> list[bytes]:
    """``n`` NDJSON lines (newline included) drawn from ``distinct`` generated events."""
    pool = [orjson.dumps(e) + b"\n" for e in make_events(min(n, distinct), seed)]
    rng = random.Random(seed + 1)
    return pool if n <= len(pool) else [pool[rng.randrange(len(pool))] for _ in range(n)]


def make_query(rng: random.Random, i: int) -> str:
    vocab = vocabulary()
    roll = rng.random()
    if roll < 0.01:
        # No constant term: wildcards under an `or` (always evaluated by the index).
        return f"event.action:Delete{i % 7}* or aws.cloudtrail.user_identity.arn:*role/r{i}"
    if roll < 0.04:
        category = rng.choice(CATEGORIES)
        return f"event.category:{category} and event.outcome:failure and not user.name:user1"
    if roll < 0.06:
        return f"aws.cloudtrail.user_identity.type:Root and source.ip:10.{i % 256}.0.0/16"
    provider, reads, writes = vocab[rng.randrange(len(vocab))]
    # Rules watch changes mostly; a few watch sensitive reads (GetSecretValue, ListBuckets...).
    actions = reads if reads and rng.random() < 0.1 else writes
    chosen = rng.sample(actions, min(len(actions), rng.randint(1, 3)))
    action = chosen[0] if len(chosen) == 1 else "(" + " or ".join(chosen) + ")"
    query = f"event.dataset:aws.cloudtrail and event.provider:{provider} and event.action:{action}"
    extra = rng.random()
    if extra < 0.3:
        query += " and event.outcome:success"
    elif extra < 0.5:
        query += " and not aws.cloudtrail.user_identity.type:AssumedRole"
    elif extra < 0.6:
        query += " and aws.cloudtrail.user_identity.arn:*user1*"
    return query


def make_queries(n: int, seed: int = 99) -> list[str]:
    rng = random.Random(seed)
    return [make_query(rng, i) for i in range(n)]


def rule_yaml(i: int, query: str, *, description: str = "Generated for the benchmarks.",
              updated_month: int = 1, severity: str = "low", risk_score: int = 21, interval_minutes: int = 5,
              extra: str = "", history: str = "") -> str:
    """A complete rule file for ``query`` (schema-valid, lint-clean apart from generated names).

    ``extra`` is more rule keys (indented two spaces, ending in a newline) put before ``version``;
    ``history`` is a whole ``history:`` section put after the rule.
    """
    return f"""\
metadata:
  creation_date: 2024/01/{1 + i % 28:02d}
  updated_date: 2024/{updated_month:02d}/{1 + i % 28:02d}
  maturity: production
rule:
  rule_id: 00000000-0000-4000-8000-{i:012d}
  name: Generated CloudTrail rule {i}
  description: {description}
  type: query
  language: kuery
  index: [logs-aws*, filebeat-*]
  query: >-
    {query}
  severity: {severity}
  risk_score: {risk_score}
  interval: {interval_minutes}m
  from: now-{interval_minutes + 1}m
  max_signals: 100
  author: [Benchmark]
  license: Apache-2.0
{extra}  version: 1
{history}"""
