"""--dry-run of the GCP deploy scripts: the exact commands each would run, in order, and that nothing is called.

The bucket's versioning and lifecycle, the least-privilege IAM bindings, the transfer job and its AWS role, the
function builds and deploys with their triggers, and deploy-all.sh's whole ordered sequence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.gcp_scripts import commands_of, dry_run, option, options, real_run, starting
from helpers.serverless import ROOT

PROJECT = "wattline-demo"
BUCKET = f"{PROJECT}-wattline-daily"
AWS = {"AWS_BUCKET": "wattline-data-123456789012-eu-central-1"}
ROLE_ARN = "arn:aws:iam::123456789012:role/wattline-gcs-transfer"


def sa(name: str) -> str:
    return f"serviceAccount:{name}@{PROJECT}.iam.gserviceaccount.com"


def bindings(commands: list[list[str]]) -> set[tuple[str, str, str]]:
    """(resource, member, role) of every `gcloud … add-iam-policy-binding` and `bq add-iam-policy-binding`."""
    found = set()
    for command in commands:
        if "add-iam-policy-binding" not in command:
            continue
        member, role = option(command, "--member"), option(command, "--role")
        if command[0] == "bq":
            found.add((command[-1], member, role))
        else:
            verb = command.index("add-iam-policy-binding")
            found.add((" ".join(command[1:verb]) + " " + command[verb + 1], member, role))
    return found


def lifecycle(notes: list[str]) -> dict[str, object]:
    (note,) = [n for n in notes if "lifecycle.json:" in n]
    loaded: dict[str, object] = json.loads(note.split(": ", 1)[1])
    return loaded


def post_body(commands: list[list[str]]) -> dict[str, object]:
    """The transfer job the dry run would create (the body of its POST)."""
    (post,) = [c for c in starting(commands, "curl") if "POST" in c and c[-3].endswith("/transferJobs")]
    body: dict[str, object] = json.loads(post[-1])
    return body


# --- bucket.sh: versioning and the noncurrent-version lifecycle ----------------------------------------------------


def test_the_bucket_is_versioned_and_noncurrent_versions_go_after_30_days_or_3_newer_versions(tmp_path: Path) -> None:
    result = dry_run(tmp_path, "infra/gcp/bucket.sh", PROJECT=PROJECT)
    assert result.returncode == 0 and result.calls == ""
    (update,) = starting(result.commands, "gcloud", "storage", "buckets", "update")
    assert update[4] == f"gs://{BUCKET}" and "--versioning" in update and "--no-versioning" not in update
    assert option(update, "--lifecycle-file").endswith("lifecycle.json")
    assert lifecycle(result.notes) == {
        "rule": [
            {"action": {"type": "Delete"}, "condition": {"isLive": False, "daysSinceNoncurrentTime": 30}},
            {"action": {"type": "Delete"}, "condition": {"isLive": False, "numNewerVersions": 3}},
        ]
    }


def test_the_lifecycle_never_deletes_a_live_object(tmp_path: Path) -> None:
    result = dry_run(tmp_path, "infra/gcp/bucket.sh", PROJECT=PROJECT)
    rules = lifecycle(result.notes)["rule"]
    assert isinstance(rules, list)
    assert all(rule["condition"]["isLive"] is False for rule in rules)


def test_the_retention_comes_from_flags_or_the_environment(tmp_path: Path) -> None:
    flags = dry_run(tmp_path, "infra/gcp/bucket.sh", "--noncurrent-days", "7", "--newer-versions", "2", PROJECT=PROJECT)
    env = dry_run(tmp_path, "infra/gcp/bucket.sh", PROJECT=PROJECT, NONCURRENT_DAYS="7", NEWER_VERSIONS="2")
    for result in (flags, env):
        conditions = [rule["condition"] for rule in lifecycle(result.notes)["rule"]]  # type: ignore[attr-defined]
        assert conditions == [
            {"isLive": False, "daysSinceNoncurrentTime": 7},
            {"isLive": False, "numNewerVersions": 2},
        ]


@pytest.mark.parametrize("args", [("--newer-versions", "0"), ("--noncurrent-days", "a week"), ("--colour", "red")])
def test_a_bad_retention_stops_the_script_before_any_command(tmp_path: Path, args: tuple[str, str]) -> None:
    result = dry_run(tmp_path, "infra/gcp/bucket.sh", *args, PROJECT=PROJECT)
    assert result.returncode == 2 and result.commands == [] and result.calls == ""


# --- service-accounts.sh: least privilege ---------------------------------------------------------------------------


def test_the_loader_identities_get_exactly_their_least_privilege_roles(tmp_path: Path) -> None:
    commands = commands_of(tmp_path, "infra/gcp/service-accounts.sh", PROJECT=PROJECT)
    created = [c[4] for c in starting(commands, "gcloud", "iam", "service-accounts", "create")]
    assert created == ["wattline-loader", "wattline-loader-trigger"]
    assert bindings(commands) == {
        (f"storage buckets gs://{BUCKET}", sa("wattline-loader"), "roles/storage.objectViewer"),
        (f"projects {PROJECT}", sa("wattline-loader"), "roles/bigquery.jobUser"),
        ("pubsub topics energy-updated", sa("wattline-loader"), "roles/pubsub.publisher"),
        (f"projects {PROJECT}", sa("wattline-loader-trigger"), "roles/eventarc.eventReceiver"),
        (
            f"projects {PROJECT}",
            "serviceAccount:service-PROJECT_NUMBER@gs-project-accounts.iam.gserviceaccount.com",
            "roles/pubsub.publisher",
        ),
        (
            f"storage buckets gs://{BUCKET}",
            "serviceAccount:project-PROJECT_NUMBER@storage-transfer-service.iam.gserviceaccount.com",
            "roles/storage.legacyBucketWriter",
        ),
    }


def test_the_loader_writes_the_dataset_through_a_dataset_acl_entry_not_a_project_role(tmp_path: Path) -> None:
    result = dry_run(tmp_path, "infra/gcp/service-accounts.sh", PROJECT=PROJECT)
    (update,) = starting(result.commands, "bq", "--project_id", PROJECT, "update")
    assert update[-1] == f"{PROJECT}:wattline"
    assert any('"role": "WRITER", "userByEmail": "wattline-loader@' in note for note in result.notes)
    assert all("dataEditor" not in " ".join(command) for command in result.commands)


def test_no_script_grants_a_basic_role(tmp_path: Path) -> None:
    commands = commands_of(tmp_path, "infra/gcp/deploy-all.sh", PROJECT=PROJECT, MONITORING_EMAIL="o@x.org", **AWS)
    roles = {role for _, _, role in bindings(commands)}
    assert roles and not roles & {"roles/owner", "roles/editor", "roles/viewer"}


# --- transfer-job.sh and aws-transfer-role.sh ------------------------------------------------------------------------


def test_the_transfer_job_is_created_with_the_federated_role_for_daily_only(tmp_path: Path) -> None:
    commands = commands_of(tmp_path, "infra/gcp/transfer-job.sh", PROJECT=PROJECT, AWS_ROLE_ARN=ROLE_ARN, **AWS)
    assert starting(commands, "gcloud", "auth", "print-access-token")
    job = post_body(commands)
    spec = job["transferSpec"]
    assert isinstance(spec, dict)
    assert spec["awsS3DataSource"] == {"bucketName": AWS["AWS_BUCKET"], "roleArn": ROLE_ARN}
    assert spec["gcsDataSink"] == {"bucketName": BUCKET}
    assert spec["objectConditions"]["includePrefixes"] == ["daily/"]
    assert job["name"] == "transferJobs/wattline-daily-s3-to-gcs" and job["projectId"] == PROJECT
    # the token is never printed: a placeholder stands in for it
    assert all("ACCESS_TOKEN" in c[c.index("-H") + 1] for c in starting(commands, "curl"))


def test_the_transfer_job_needs_the_role_arn(tmp_path: Path) -> None:
    result = dry_run(tmp_path, "infra/gcp/transfer-job.sh", PROJECT=PROJECT, **AWS)
    assert result.returncode != 0 and "AWS_ROLE_ARN" in result.stderr and result.calls == ""


def test_the_aws_role_trusts_the_subject_id_storage_transfer_reports(tmp_path: Path) -> None:
    commands = commands_of(tmp_path, "infra/gcp/aws-transfer-role.sh", PROJECT=PROJECT, **AWS)
    (agent,) = starting(commands, "curl")
    assert agent[-1] == f"https://storagetransfer.googleapis.com/v1/googleServiceAccounts/{PROJECT}"
    (deploy,) = starting(commands, "aws", "cloudformation", "deploy")
    assert option(deploy, "--template-file").endswith("infra/gcp/aws-transfer-role.yaml")
    overrides = deploy[deploy.index("--parameter-overrides") + 1 :]
    assert overrides == ["GoogleSubjectId=SUBJECT_ID", f"SourceBucketName={AWS['AWS_BUCKET']}", "KmsKeyArn="]
    assert starting(commands, "aws", "cloudformation", "describe-stacks")


def test_a_given_subject_id_asks_storage_transfer_nothing(tmp_path: Path) -> None:
    commands = commands_of(
        tmp_path, "infra/gcp/aws-transfer-role.sh", PROJECT=PROJECT, GOOGLE_SUBJECT_ID="1234567890", **AWS
    )
    assert not starting(commands, "curl")
    (deploy,) = starting(commands, "aws", "cloudformation", "deploy")
    assert "GoogleSubjectId=1234567890" in deploy


# --- the function builds and deploys -------------------------------------------------------------------------------


def test_a_dry_build_prints_the_copies_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    commands = commands_of(tmp_path, "infra/gcp/build-function.sh", "gcp-loader", str(out))
    assert not out.exists()
    assert ["python3", str(ROOT / "infra/bundle.py"), "wattline", str(out)] in commands
    bundle_requirements = [str(ROOT / "infra/bundle.py"), "requirements", str(ROOT / "services/gcp-loader")]
    assert ["python3", *bundle_requirements, f"{out}/requirements.txt"] in commands


def test_the_loader_deploys_on_finalize_in_the_bucket_as_its_own_identities(tmp_path: Path) -> None:
    commands = commands_of(tmp_path, "services/gcp-loader/deploy.sh", PROJECT=PROJECT, TIMEZONE="Europe/Berlin")
    (deploy,) = starting(commands, "gcloud", "functions", "deploy")
    assert deploy[3] == "wattline-loader" and "--gen2" in deploy and "--retry" in deploy
    assert options(deploy, "--trigger-event-filters") == [
        "type=google.cloud.storage.object.v1.finalized",
        f"bucket={BUCKET}",
    ]
    assert option(deploy, "--trigger-service-account") == f"wattline-loader-trigger@{PROJECT}.iam.gserviceaccount.com"
    assert option(deploy, "--service-account") == f"wattline-loader@{PROJECT}.iam.gserviceaccount.com"
    assert option(deploy, "--source") == str(ROOT / ".build/gcp-loader")
    env = option(deploy, "--set-env-vars")
    assert "@WATTLINE_BUCKET=" + BUCKET in env and "@WATTLINE_TIMEZONE=Europe/Berlin@" in env
    (invoker,) = starting(commands, "gcloud", "functions", "add-invoker-policy-binding")
    assert invoker[3] == "wattline-loader" and option(invoker, "--member") == sa("wattline-loader-trigger")


def test_the_alert_functions_deploy_on_their_topics_with_one_secret_each(tmp_path: Path) -> None:
    commands = commands_of(tmp_path, "services/gcp-alerts/deploy.sh", "all", PROJECT=PROJECT)
    deploys = {c[3]: c for c in starting(commands, "gcloud", "functions", "deploy")}
    assert {name: option(c, "--trigger-topic") for name, c in deploys.items()} == {
        "wattline-alerts-detect": "energy-updated",
        "wattline-alerts-email": "alerts",
        "wattline-alerts-slack": "alerts",
    }
    secrets = {(c[3], option(c, "--member")) for c in starting(commands, "gcloud", "secrets", "add-iam-policy-binding")}
    assert secrets == {
        ("wattline-smtp-password", sa("wattline-alerts-email")),
        ("wattline-slack-webhook", sa("wattline-alerts-slack")),
    }
    dead_letters = starting(commands, "gcloud", "pubsub", "subscriptions", "update")
    assert [option(c, "--dead-letter-topic") for c in dead_letters] == ["alerts-dead-letter"] * 3
    assert starting(commands, "gcloud", "scheduler", "jobs", "create", "pubsub", "wattline-alerts-tick")


def test_one_alert_function_deploys_alone(tmp_path: Path) -> None:
    commands = commands_of(tmp_path, "services/gcp-alerts/deploy.sh", "email", PROJECT=PROJECT)
    assert [c[3] for c in starting(commands, "gcloud", "functions", "deploy")] == ["wattline-alerts-email"]


# --- deploy-all.sh: the whole ordered sequence ---------------------------------------------------------------------


def first(commands: list[list[str]], *prefix: str) -> int:
    return next(i for i, command in enumerate(commands) if command[: len(prefix)] == list(prefix))


def test_deploy_all_prints_every_step_in_order(tmp_path: Path) -> None:
    commands = commands_of(tmp_path, "infra/gcp/deploy-all.sh", PROJECT=PROJECT, MONITORING_EMAIL="o@x.org", **AWS)
    steps = [
        ("gcloud", "services", "enable"),
        ("gcloud", "storage", "buckets", "create"),
        ("gcloud", "storage", "buckets", "update"),
        ("gcloud", "pubsub", "topics", "create", "energy-updated"),
        ("wattline", "gcp", "init"),
        ("gcloud", "iam", "service-accounts", "create", "wattline-loader"),
        ("aws", "cloudformation", "deploy"),
        ("gcloud", "functions", "deploy", "wattline-loader"),
        ("gcloud", "functions", "deploy", "wattline-alerts-detect"),
        ("gcloud", "functions", "deploy", "wattline-alerts-email"),
        ("gcloud", "functions", "deploy", "wattline-alerts-slack"),
        ("gcloud", "logging", "metrics", "create"),
        ("gcloud", "alpha", "monitoring", "policies", "create"),
        ("bq", "--project_id", PROJECT, "--location", "europe-central2", "mk", "--transfer_config"),
    ]
    positions = [first(commands, *step) for step in steps]
    assert positions == sorted(positions)
    # the transfer job is created between the AWS role and the loader
    post = next(i for i, c in enumerate(commands) if c[0] == "curl" and "POST" in c)
    assert first(commands, "aws", "cloudformation", "describe-stacks") < post < positions[7]
    # the transfer job federates into the role the previous step printed
    spec = post_body(commands)["transferSpec"]
    assert spec["awsS3DataSource"]["roleArn"] == "arn:aws:iam::AWS_ACCOUNT_ID:role/wattline-gcs-transfer"  # type: ignore[index]


def test_deploy_all_inits_the_dataset_with_the_scripts_settings(tmp_path: Path) -> None:
    commands = commands_of(tmp_path, "infra/gcp/deploy-all.sh", PROJECT=PROJECT, TIMEZONE="Europe/Warsaw", **AWS)
    (init,) = starting(commands, "wattline", "gcp", "init")
    assert (option(init, "--project"), option(init, "--bucket"), option(init, "--tz")) == (
        PROJECT,
        BUCKET,
        "Europe/Warsaw",
    )


def test_deploy_all_with_a_role_arn_deploys_no_aws_stack(tmp_path: Path) -> None:
    commands = commands_of(tmp_path, "infra/gcp/deploy-all.sh", PROJECT=PROJECT, AWS_ROLE_ARN=ROLE_ARN, **AWS)
    assert not starting(commands, "aws")
    assert post_body(commands)["transferSpec"]["awsS3DataSource"]["roleArn"] == ROLE_ARN  # type: ignore[index]


def test_deploy_all_without_a_monitoring_email_skips_the_monitoring_and_says_so(tmp_path: Path) -> None:
    result = dry_run(tmp_path, "infra/gcp/deploy-all.sh", PROJECT=PROJECT, **AWS)
    assert result.returncode == 0 and result.calls == ""
    assert not starting(result.commands, "gcloud", "alpha", "monitoring")
    assert any(note.startswith("monitoring skipped") for note in result.notes)
    assert starting(result.commands, "bq", "--project_id", PROJECT, "--location", "europe-central2", "mk")


def test_deploy_all_deploys_only_the_chosen_alert_functions_and_monitors_those(tmp_path: Path) -> None:
    commands = commands_of(
        tmp_path, "infra/gcp/deploy-all.sh", PROJECT=PROJECT, MONITORING_EMAIL="o@x.org", ALERTS_DEPLOY="detect", **AWS
    )
    deployed = [c[3] for c in starting(commands, "gcloud", "functions", "deploy")]
    assert deployed == ["wattline-loader", "wattline-alerts-detect"]
    (errors,) = [c for c in starting(commands, "gcloud", "logging", "metrics", "create") if "errors" in c[4]]
    assert 'service_name=("wattline-loader" OR "wattline-alerts-detect")' in option(errors, "--log-filter")


def test_deploy_all_without_alerts(tmp_path: Path) -> None:
    commands = commands_of(tmp_path, "infra/gcp/deploy-all.sh", PROJECT=PROJECT, ALERTS_DEPLOY="none", **AWS)
    assert [c[3] for c in starting(commands, "gcloud", "functions", "deploy")] == ["wattline-loader"]


def test_deploy_all_needs_the_aws_bucket_before_any_command(tmp_path: Path) -> None:
    result = dry_run(tmp_path, "infra/gcp/deploy-all.sh", PROJECT=PROJECT)
    assert result.returncode != 0 and result.commands == [] and "AWS_BUCKET" in result.stderr


@pytest.mark.parametrize(
    "script",
    sorted(
        p.relative_to(ROOT).as_posix()
        for p in [*(ROOT / "infra/gcp").glob("*.sh"), *(ROOT / "services").glob("gcp-*/*.sh")]
        if p.name not in {"env.sh", "run.sh"}  # sourced, not run
    ),
)
def test_every_gcp_script_has_a_dry_run_that_calls_nothing(tmp_path: Path, script: str) -> None:
    args = ("gcp-loader",) if script.endswith("build-function.sh") else ()
    env = {"PROJECT": PROJECT, "MONITORING_EMAIL": "o@x.org", "AWS_ROLE_ARN": ROLE_ARN, **AWS}
    result = dry_run(tmp_path, script, *args, **env)
    assert result.returncode == 0, result.stderr
    assert result.calls == "" and result.commands


# --- the dry run is honest: the real path runs the same changes ------------------------------------------------------

CHANGES = ("create", "deploy", "enable", "update", "add-iam-policy-binding", "add-invoker-policy-binding", "mk", "init")


def changes(commands: list[list[str]]) -> list[tuple[str, ...]]:
    """The commands that change something, as their tool and words up to the verb (curl: its method)."""
    found: list[tuple[str, ...]] = []
    for command in commands:
        if command[0] == "curl":
            if "-X" in command:
                found.append(("curl", option(command, "-X")))
            continue
        verbs = [i for i, word in enumerate(command) if word in CHANGES]
        if verbs and command[0] != "cp":
            found.append(tuple(w for w in command[: verbs[0] + 1] if not w.startswith("-") and w != PROJECT))
    return found


def test_a_real_run_makes_the_changes_its_dry_run_printed_in_the_same_order(tmp_path: Path) -> None:
    # Given tools that answer like an empty project
    env = {"PROJECT": PROJECT, "MONITORING_EMAIL": "o@x.org", "BUILD_ROOT": str(tmp_path / "build"), **AWS}
    printed = commands_of(tmp_path, "infra/gcp/deploy-all.sh", **env)
    # When deploy-all runs for real
    code, calls, stderr = real_run(tmp_path, "infra/gcp/deploy-all.sh", **env)
    # Then it succeeds and changes exactly what the dry run said, in the same order
    assert code == 0, stderr
    assert changes([call.split() for call in calls]) == changes(printed)
    # and builds the functions where it was told to
    assert (tmp_path / "build/gcp-loader/wattline").is_dir() and (tmp_path / "build/gcp-alerts/main.py").is_file()
