"""infra/gcp: the transfer job as deployed, the AWS role it federates into, and the scripts' syntax."""

from __future__ import annotations

import json
import shutil
import string
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
INFRA = REPO / "infra/gcp"
VALUES = {
    "TRANSFER_JOB": "wattline-daily-s3-to-gcs",
    "PROJECT": "my-project",
    "START_YEAR": "2026",
    "START_MONTH": "11",
    "START_DAY": "27",
    "TRANSFER_EVERY": "3600s",
    "AWS_BUCKET": "my-s3-bucket",
    "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/wattline-gcs-transfer",
    "BUCKET": "my-project-wattline-daily",
    "TRANSFER_MIN_AGE": "900s",
}


def test_the_transfer_job_copies_daily_only_with_a_federated_role_and_skips_identical_objects():
    # Given the REST body the script renders
    job = json.loads(string.Template((INFRA / "transfer-job.json").read_text()).substitute(VALUES))
    spec = job["transferSpec"]
    # Then: S3 source by role ARN (no access keys), daily/ only, quiet period, overwrite only when different
    assert spec["awsS3DataSource"] == {"bucketName": "my-s3-bucket", "roleArn": VALUES["AWS_ROLE_ARN"]}
    assert "awsAccessKey" not in json.dumps(job)
    assert spec["objectConditions"] == {"includePrefixes": ["daily/"], "minTimeElapsedSinceLastModification": "900s"}
    assert spec["transferOptions"]["overwriteWhen"] == "DIFFERENT"
    assert spec["transferOptions"]["deleteObjectsFromSourceAfterTransfer"] is False
    assert job["schedule"]["repeatInterval"] == "3600s" and job["name"] == "transferJobs/wattline-daily-s3-to-gcs"


def test_the_aws_role_trusts_only_the_transfer_service_agent_subject():
    text = (INFRA / "aws-transfer-role.yaml").read_text()
    assert "Federated: accounts.google.com" in text and "sts:AssumeRoleWithWebIdentity" in text
    assert '"accounts.google.com:sub": !Ref GoogleSubjectId' in text
    assert "s3:PutObject" not in text and "s3:DeleteObject" not in text


@pytest.mark.slow  # cfn-lint loads its whole spec database (~20 s on 2 cores)
@pytest.mark.skipif(not (Path(sys.executable).parent / "cfn-lint").exists(), reason="cfn-lint not installed")
def test_the_aws_role_template_passes_cfn_lint():
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run([str(cfn_lint), str(INFRA / "aws-transfer-role.yaml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "script",
    sorted(p.relative_to(REPO).as_posix() for p in [*INFRA.glob("*.sh"), *(REPO / "services/gcp-loader").glob("*.sh")]),
)
def test_every_gcp_script_is_valid_bash(script):
    assert shutil.which("bash")
    subprocess.run(["bash", "-n", str(REPO / script)], check=True)
