"""AWS API names: facts of the shipped botocore table, the allowlist, and check_action's answers."""

from __future__ import annotations

import gzip
import importlib.util
import io
import json
import zipfile
from pathlib import Path

import pytest

from detection import aws_api
from detection.aws_api import SUGGESTION_KINDS, AwsApiTable, check_action, known_provider, operations

from .conftest import REPO

EXTRA_PATH = REPO / "detection" / "data" / "aws_extra_events.json"


@pytest.fixture(scope="module")
def table() -> AwsApiTable:
    return aws_api.load_aws_api()


# --- the shipped data ------------------------------------------------------------------------------


def test_table_is_pinned_and_attributed(table: AwsApiTable) -> None:
    assert table.botocore_version == "1.43.11"
    assert table.meta["license"] == "Apache-2.0"
    assert table.meta["models_date"] == "2026-05-19"
    assert table.meta["counts"]["services"] == 424
    assert len(table.api) == table.meta["counts"]["event_sources"]


def test_sts_has_assumerole_not_assumedrole() -> None:
    ops = operations("sts.amazonaws.com")
    assert {"AssumeRole", "AssumeRoleWithSAML", "AssumeRoleWithWebIdentity", "GetSessionToken"} <= ops
    assert "AssumedRole" not in ops


def test_iam_has_create_access_key() -> None:
    assert "CreateAccessKey" in operations("iam.amazonaws.com")
    assert check_action("iam.amazonaws.com", "CreateAccessKey") is None


def test_event_sources_include_signing_names_and_global_endpoints(table: AwsApiTable) -> None:
    # Bedrock runtime signs as "bedrock" and CloudTrail logs it under bedrock.amazonaws.com.
    assert "InvokeModel" in operations("bedrock.amazonaws.com")
    assert "bedrock-runtime" in table.services["bedrock.amazonaws.com"]
    # ECR's endpoint prefix is api.ecr; its signing name gives the source CloudTrail uses.
    assert "GetAuthorizationToken" in operations("ecr.amazonaws.com")
    # CloudWatch's endpoint prefix is monitoring.
    assert "DeleteAlarms" in operations("monitoring.amazonaws.com")
    # S3 Control signs as s3, so its account-level operations are filed under s3 too.
    assert {"s3", "s3control"} <= set(table.services["s3.amazonaws.com"])


def test_known_provider() -> None:
    assert known_provider("sts.amazonaws.com")
    assert known_provider("signin.amazonaws.com")
    assert known_provider("cloudshell.amazonaws.com")  # no model, but allowlisted as any-action
    assert not known_provider("st.amazonaws.com")
    assert operations("st.amazonaws.com") == frozenset()


def test_loading_parses_each_file_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real_loads = json.loads

    def counting_loads(*args, **kwargs):
        calls.append(1)
        return real_loads(*args, **kwargs)

    monkeypatch.setattr(aws_api.json, "loads", counting_loads)
    aws_api.load_aws_api.cache_clear()
    try:
        first = aws_api.load_aws_api()
        second = aws_api.load_aws_api()
        check_action("sts.amazonaws.com", "AssumeRole")
    finally:
        aws_api.load_aws_api.cache_clear()
    assert first is second
    assert len(calls) == 2  # the generated table and the hand-written allowlist, nothing more


def test_runtime_never_imports_botocore() -> None:
    source = (REPO / "detection" / "aws_api.py").read_text(encoding="utf-8")
    assert "import botocore" not in source and "from botocore" not in source
    assert "yaml" not in source


# --- the allowlist file ----------------------------------------------------------------------------


def test_allowlist_entries_are_documented() -> None:
    extra = json.loads(EXTRA_PATH.read_text(encoding="utf-8"))
    confidences = {"documented", "observed", "reported", "inferred"}
    for item in extra["events"]:
        assert item["provider"].endswith(".amazonaws.com"), item
        assert item["reason"].strip() and item["source"].strip(), item
        assert item["confidence"] in confidences, item
    for item in extra["any_action_providers"]:
        assert item["reason"].strip() and item["confidence"] in confidences, item
    for item in extra["known_mistakes"]:
        assert item["use"] and item["reason"].strip(), item
    pairs = [(i["provider"], i["action"]) for i in extra["events"]]
    assert len(pairs) == len(set(pairs)), "duplicate allowlist entries"


def test_allowlist_does_not_repeat_real_operations(table: AwsApiTable) -> None:
    # An allowlisted name that botocore already knows is dead weight (or a sign the model changed).
    for provider, events in table.extras.items():
        assert not (set(events) & table.api.get(provider, frozenset())), provider


def test_known_mistakes_point_at_real_names(table: AwsApiTable) -> None:
    for (provider, action), mistake in table.mistakes.items():
        assert action not in table.operations(provider)
        assert all(name in table.operations(provider) for name in mistake.use), mistake


def test_console_signin_events_are_allowed(table: AwsApiTable) -> None:
    for action in ("ConsoleLogin", "GetSigninToken", "PasswordRecoveryRequested", "CheckMfa", "SwitchRole",
                   "ExitRole", "RenewRole", "UserAuthentication"):
        assert check_action("signin.amazonaws.com", action) is None, action
    event = table.extra_event("signin.amazonaws.com", "ConsoleLogin")
    assert event is not None and event.event_type == "AwsConsoleSignIn" and event.confidence == "documented"
    # botocore's own signin model is tiny and has none of these
    assert "ConsoleLogin" not in table.api["signin.amazonaws.com"]


def test_s3_cloudtrail_names_that_differ_from_the_api() -> None:
    assert "GetBucketPublicAccessBlock" not in aws_api.load_aws_api().api["s3.amazonaws.com"]
    assert check_action("s3.amazonaws.com", "GetBucketPublicAccessBlock") is None
    assert check_action("s3.amazonaws.com", "GetPublicAccessBlock") is None  # the API name is real too
    listing = check_action("s3.amazonaws.com", "ListBucket")
    assert listing is not None and listing.kind == "known-mistake"
    assert listing.candidates[0] == "ListObjects"


# --- check_action ----------------------------------------------------------------------------------


def test_assumedrole_suggests_assumerole() -> None:
    found = check_action("sts.amazonaws.com", "AssumedRole")
    assert found is not None
    assert found.kind == "known-mistake"
    assert found.candidates == ("AssumeRole",)
    assert "userIdentity.type" in found.message


def test_closest_names_without_the_mistake_list(table: AwsApiTable) -> None:
    bare = AwsApiTable(table.meta, table.api, table.services, table.extras, table.any_action, {},
                       _names=table._names)
    found = bare.check_action("sts.amazonaws.com", "AssumedRole")
    assert found is not None and found.kind == "unknown-action"
    assert found.candidates[0] == "AssumeRole"
    typo = bare.check_action("iam.amazonaws.com", "CreateAccesKey")
    assert typo is not None and typo.candidates[0] == "CreateAccessKey"
    assert "CreateAccessKey" in typo.message


def test_probable_ec2_defect_is_caught() -> None:
    found = check_action("ec2.amazonaws.com", "ReplaceIamInstanceProfile")
    assert found is not None and found.candidates == ("ReplaceIamInstanceProfileAssociation",)


def test_case_matters_unless_asked_not_to() -> None:
    found = check_action("iam.amazonaws.com", "createaccesskey")
    assert found is not None and found.kind == "case-mismatch" and found.candidates == ("CreateAccessKey",)
    assert check_action("iam.amazonaws.com", "createaccesskey", case_insensitive=True) is None


def test_version_suffixed_names_are_accepted() -> None:
    assert check_action("lambda.amazonaws.com", "AddPermission20150331v2") is None
    assert check_action("lambda.amazonaws.com", "GetAccountSettings20160819") is None
    assert check_action("cloudfront.amazonaws.com", "UpdateDistribution2014_01_31") is None
    assert check_action("cloudfront.amazonaws.com", "UpdateDistribution") is None
    wrong = check_action("lambda.amazonaws.com", "AddPermissions20150331v2")
    assert wrong is not None and wrong.kind == "unknown-action"


def test_wildcards_are_patterns() -> None:
    assert check_action("sts.amazonaws.com", "AssumeRole*") is None
    assert check_action("sts.amazonaws.com", "Assume?ole") is None
    assert check_action("iam.amazonaws.com", "*AccessKey") is None
    missing = check_action("sts.amazonaws.com", "AssumedRole*")
    assert missing is not None and missing.kind == "no-match-for-pattern"
    assert "AssumeRole" in missing.candidates
    # an escaped star is a literal character, so this is not a pattern match for AssumeRoleX
    assert aws_api.wildcard_regex(r"AssumeRole\*").fullmatch("AssumeRole*")
    assert not aws_api.wildcard_regex(r"AssumeRole\*").fullmatch("AssumeRoleWithSAML")


def test_unjudgeable_providers_give_nothing() -> None:
    assert check_action("cloudshell.amazonaws.com", "CreateSession") is None  # any-action provider
    assert check_action("cloudshell.amazonaws.com", "Anything") is None
    assert check_action("nosuchservice.amazonaws.com", "Whatever") is None  # unknown provider
    assert check_action("*.amazonaws.com", "AssumeRole") is None  # wildcard provider
    assert aws_api.load_aws_api().suggest_providers("st.amazonaws.com")[0] == "sts.amazonaws.com"


def test_every_suggestion_kind_is_documented() -> None:
    answers = [
        check_action("sts.amazonaws.com", "AssumedRole"),
        check_action("iam.amazonaws.com", "createaccesskey"),
        check_action("iam.amazonaws.com", "CreateAccesKey"),
        check_action("sts.amazonaws.com", "Nothing*"),
    ]
    assert {a.kind for a in answers if a} == set(SUGGESTION_KINDS)


# --- the generator ---------------------------------------------------------------------------------


def load_generator():
    spec = importlib.util.spec_from_file_location("gen_aws_api", REPO / "scripts" / "gen_aws_api.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_wheel(tmp_path: Path, version: str, models: dict[str, dict]) -> Path:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(f"botocore-{version}.dist-info/METADATA", f"Name: botocore\nVersion: {version}\n")
        for member, model in models.items():
            zf.writestr(member, gzip.compress(json.dumps(model).encode()))
    path = tmp_path / f"botocore-{version}-py3-none-any.whl"
    path.write_bytes(buf.getvalue())
    return path


def test_generator_files_operations_under_every_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gen = load_generator()
    monkeypatch.setattr(gen, "BOTOCORE_VERSION", "9.9.9")
    models = {
        "botocore/data/sts/2011-06-15/service-2.json.gz": {
            "metadata": {"endpointPrefix": "sts", "globalEndpoint": "sts.amazonaws.com"},
            "operations": {"AssumeRole": {}, "GetCallerIdentity": {}}},
        "botocore/data/old/2010-01-01/service-2.json.gz": {
            "metadata": {"endpointPrefix": "old"}, "operations": {"Gone": {}}},
        "botocore/data/old/2020-01-01/service-2.json.gz": {
            "metadata": {"endpointPrefix": "old"}, "operations": {"Current": {}}},
        "botocore/data/rt/2023-01-01/service-2.json.gz": {
            "metadata": {"endpointPrefix": "rt-runtime", "signingName": "rt"}, "operations": {"Invoke": {}}},
        "botocore/data/rtc/2023-01-01/service-2.json.gz": {
            "metadata": {"endpointPrefix": "rt", "signingName": "rt"}, "operations": {"Create": {}}},
    }
    wheel = fake_wheel(tmp_path, "9.9.9", models)
    with zipfile.ZipFile(wheel) as zf:
        chosen = gen.newest_models(zf.namelist())
    assert chosen["old"].startswith("botocore/data/old/2020-01-01/")
    table = gen.build_table(wheel, min_services=1)
    assert table["sources"]["sts.amazonaws.com"] == ["AssumeRole", "GetCallerIdentity"]
    assert table["sources"]["old.amazonaws.com"] == ["Current"]
    assert table["sources"]["rt.amazonaws.com"] == ["Create", "Invoke"]  # two services share a source
    assert table["sources"]["rt-runtime.amazonaws.com"] == ["Invoke"]
    assert table["services"]["rt.amazonaws.com"] == ["rt", "rtc"]
    packed = gen.render(table)
    assert packed[4:8] == b"\0\0\0\0"  # gzip mtime zeroed: regeneration gives identical bytes
    assert json.loads(gzip.decompress(packed)) == table


def test_generator_refuses_the_wrong_botocore(tmp_path: Path) -> None:
    gen = load_generator()
    wheel = fake_wheel(tmp_path, "1.0.0", {})
    with pytest.raises(gen.GenerationError, match="pins"):
        gen.build_table(wheel)
