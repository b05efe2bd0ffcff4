"""Run the GCP deploy scripts (infra/gcp/*.sh, services/gcp-*/deploy.sh) with --dry-run and read what they print.

`gcloud`, `bq`, `curl`, `aws` and `wattline` on PATH are stubs that record their calls and fail, so a dry run that
called anything would show: `DryRun.calls` must stay empty."""

from __future__ import annotations

import os
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

from helpers.serverless import ROOT

STUBBED = ("gcloud", "bq", "curl", "aws", "wattline")


@dataclass(frozen=True)
class DryRun:
    returncode: int
    commands: list[list[str]]  # every printed command, split into its arguments, in order
    notes: list[str]  # the `#` lines (file contents, values a command would print), without the `# `
    stderr: str
    calls: str  # what the stubs recorded: empty when nothing was called


def dry_run(tmp_path: Path, script: str, *args: str, **env: str) -> DryRun:
    """Run `bash <script> --dry-run ARGS…` (script relative to the repository) with only `env` set."""
    calls = tmp_path / "calls"
    failing = {tool: "exit 99" for tool in STUBBED}
    done = _run_with_stubs(tmp_path, tmp_path / "bin", calls, failing, [script, "--dry-run", *args], env)
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    return DryRun(
        returncode=done.returncode,
        commands=[shlex.split(line) for line in lines if not line.startswith("#")],
        notes=[line.removeprefix("#").strip() for line in lines if line.startswith("#")],
        stderr=done.stderr,
        calls=calls.read_text() if calls.exists() else "",
    )


def commands_of(tmp_path: Path, script: str, *args: str, **env: str) -> list[list[str]]:
    """The commands of a dry run that must succeed and call nothing."""
    result = dry_run(tmp_path, script, *args, **env)
    assert result.returncode == 0, result.stderr
    assert result.calls == "", f"a dry run called {result.calls}"
    return result.commands


def option(command: list[str], name: str) -> str:
    """The value of `--name VALUE` or `--name=VALUE` in a command."""
    for index, arg in enumerate(command):
        if arg == name:
            return command[index + 1]
        if arg.startswith(f"{name}="):
            return arg.split("=", 1)[1]
    raise KeyError(f"{name} not in {shlex.join(command)}")


def options(command: list[str], name: str) -> list[str]:
    """Every value of a repeated option (`--trigger-event-filters=a --trigger-event-filters=b`)."""
    found = []
    for index, arg in enumerate(command):
        if arg == name:
            found.append(command[index + 1])
        elif arg.startswith(f"{name}="):
            found.append(arg.split("=", 1)[1])
    return found


def starting(commands: list[list[str]], *prefix: str) -> list[list[str]]:
    """The commands that start with these words."""
    return [command for command in commands if command[: len(prefix)] == list(prefix)]


# Stubs that answer like the real tools would on an empty project (every existence probe: "not found"), so a script
# runs its real path, every command recorded one per line (arguments joined by spaces).
ANSWERING_STUBS = {
    "gcloud": """case "$*" in
  *"storage buckets describe"*"value(location)"*) echo EUROPE-CENTRAL2 ;;
  *"functions describe"*) echo "projects/p/locations/r/triggers/trigger-$3" ;;
  *"eventarc triggers describe projects/"*) echo "projects/p/subscriptions/eventarc-sub" ;;
  *"projects describe"*) echo 123456789012 ;;
  *describe*) exit 1 ;;
  *"auth print-access-token"*) echo TOKEN ;;
  *"storage service-agent"*) echo service-123456789012@gs-project-accounts.iam.gserviceaccount.com ;;
  *"channels create"*) echo projects/p/notificationChannels/9 ;;
esac""",
    "curl": """case "$*" in
  *googleServiceAccounts*)
    echo '{"subjectId": "1", "accountEmail": "project-1@storage-transfer-service.iam.gserviceaccount.com"}' ;;
  *"?projectId="*) exit 22 ;;
esac""",
    "aws": """case "$*" in *describe-stacks*) echo arn:aws:iam::123456789012:role/wattline-gcs-transfer ;; esac""",
    "bq": """case "$*" in
  *"show --format=prettyjson"*) echo '{"access": []}' ;;
  *"show --dataset"*) exit 1 ;;
  *"ls --transfer_config"*) echo '[]' ;;
esac""",
    "wattline": "",
}


def real_run(tmp_path: Path, script: str, *args: str, **env: str) -> tuple[int, list[str], str]:
    """Run `bash <script> ARGS…` for real against ANSWERING_STUBS: (return code, the recorded calls, stderr)."""
    calls = tmp_path / "real-calls"
    answering = {tool: f"{answers}\nexit 0" for tool, answers in ANSWERING_STUBS.items()}
    done = _run_with_stubs(tmp_path, tmp_path / "real-bin", calls, answering, [script, *args], env)
    recorded = calls.read_text().splitlines() if calls.exists() else []
    return done.returncode, recorded, done.stderr


def _run_with_stubs(
    tmp_path: Path, bin_dir: Path, calls: Path, stubs: dict[str, str], command: list[str], env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """`bash <script> ARGS…` (script relative to the repository) with each stub first on PATH: it appends its
    command line to `calls`, then runs its body."""
    bin_dir.mkdir(exist_ok=True)
    for tool, body in stubs.items():
        stub = bin_dir / tool
        stub.write_text(f'#!/bin/bash\necho "{tool} $*" >> "{calls}"\n{body}\n')
        stub.chmod(0o755)
    script, *args = command
    return subprocess.run(
        ["bash", str(ROOT / script), *args],
        capture_output=True,
        text=True,
        env={"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "HOME": str(tmp_path), **env},
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
