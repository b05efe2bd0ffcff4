"""The wattline AWS stacks created on moto server the way a user deploys them (docs/aws.md §1), offline.

- The ingest stack: `aws cloudformation deploy` of infra/aws/wattline-ingest.yml with the user's parameters.
- Each service: `serverless package --param=bucket=<BucketName output>` (offline, the sources-only bundle), then what
  `serverless deploy` does with the result (deploymentMethod `direct`): create the stack from the create template
  (only the deployment bucket), upload the code zip and the compiled template under the package's artifact
  directory, and update the stack from that template's URL. `serverless remove`: empty the deployment bucket, then
  delete the stack.

Every deployment gets its own AWS account on the shared moto server (an assumed role in a fresh account id), so the
stacks' fixed names (functions, IoT policy, default bucket name) never meet another test's resources. What moto's
CloudFormation creates, only accepts, or rejects is listed in docs/aws.md, "What the stack tests create on moto".
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import subprocess
import uuid
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from botocore.parsers import ResponseParserError
from helpers import serverless

ROOT = Path(__file__).resolve().parents[3]
INGEST_TEMPLATE = ROOT / "infra" / "aws" / "wattline-ingest.yml"
REGION = "eu-central-1"
STAGE = "dev"  # serverless.yml's default stage, which the deploy commands in docs/aws.md use
# What `serverless deploy` passes on every stack action (lib/plugins/aws/lib/get-shared-stack-action-params.js).
SERVERLESS_CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"]
COMPILED_TEMPLATE = "compiled-cloudformation-template.json"  # the name serverless uploads the template under


@dataclass(frozen=True)
class Account:
    """One AWS account on moto server: its own stacks, buckets, functions, roles and IoT policies."""

    id: str
    endpoint: str
    credentials: dict[str, str]

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION, **self.credentials)


def fresh_account(endpoint: str) -> Account:
    """A new, empty account: moto serves each assumed role's account separately."""
    import boto3

    account_id = f"{uuid.uuid4().int % 10**12:012d}"
    sts = boto3.client("sts", endpoint_url=endpoint, region_name=REGION)
    credentials = sts.assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/wattline-stack-tests", RoleSessionName="wattline-stack-tests"
    )["Credentials"]
    return Account(
        account_id,
        endpoint,
        {
            "aws_access_key_id": credentials["AccessKeyId"],
            "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"],
        },
    )


def policy_document(stored: Any) -> dict[str, Any]:
    """A policy document as IAM or IoT returns it, as a dict. moto 5.2 stores the documents of a stack's inline role
    policies and IoT policies as Python's repr of the template's dict (boto3 then hands over that text instead of
    decoding JSON); the content is the template's, resolved."""
    if isinstance(stored, dict):
        return stored
    try:
        loaded: dict[str, Any] = json.loads(stored)
    except json.JSONDecodeError:
        loaded = ast.literal_eval(stored)
    return loaded


@dataclass(frozen=True)
class Stack:
    """A created stack: its id, outputs, and the physical id of every resource moto created, by logical id."""

    name: str
    id: str
    status: str
    outputs: dict[str, str]
    resources: dict[str, str]
    types: dict[str, str]


def describe(account: Account, name_or_id: str) -> Stack:
    """A live stack. Never a deleted one: moto 5.2 creates a stack's resources lazily, on first access, and
    describing or listing a deleted stack creates those its outputs or resource list name again."""
    cfn = account.client("cloudformation")
    (stack,) = cfn.describe_stacks(StackName=name_or_id)["Stacks"]
    # moto lists the resources it only accepted (no model) with an empty logical id: they are left out.
    summaries = [
        summary
        for summary in cfn.list_stack_resources(StackName=stack["StackId"])["StackResourceSummaries"]
        if summary.get("LogicalResourceId")
    ]
    return Stack(
        name=stack["StackName"],
        id=stack["StackId"],
        status=stack["StackStatus"],
        outputs={output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])},
        resources={summary["LogicalResourceId"]: summary.get("PhysicalResourceId", "") for summary in summaries},
        types={summary["LogicalResourceId"]: summary["ResourceType"] for summary in summaries},
    )


def create_ingest_stack(account: Account, name: str, parameters: dict[str, str]) -> Stack:
    """`aws cloudformation deploy --stack-name NAME --capabilities CAPABILITY_IAM --parameter-overrides ...`."""
    account.client("cloudformation").create_stack(
        StackName=name,
        TemplateBody=INGEST_TEMPLATE.read_text(),
        Parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()],
        Capabilities=["CAPABILITY_IAM"],
    )
    stack = describe(account, name)
    assert stack.status == "CREATE_COMPLETE", stack
    return stack


@dataclass(frozen=True)
class Package:
    """What `serverless package` left in its output folder for one service, and the code zip it points at."""

    service: str
    folder: Path
    bundle: Path

    @property
    def stack_name(self) -> str:
        return f"wattline-{self.service}-{STAGE}"

    @cached_property
    def create_template(self) -> dict[str, Any]:
        return serverless.load(self.folder / "cloudformation-template-create-stack.json")

    @cached_property
    def template(self) -> dict[str, Any]:
        """The compiled template `serverless deploy` updates the stack with."""
        return serverless.load(self.folder / "cloudformation-template-update-stack.json")

    @cached_property
    def artifact_directory(self) -> str:
        state: dict[str, Any] = json.loads((self.folder / "serverless-state.json").read_text())
        directory: str = state["package"]["artifactDirectoryName"]
        return directory

    def code_keys(self) -> set[str]:
        """Where the template's functions expect their code in the deployment bucket."""
        return {
            resource["Properties"]["Code"]["S3Key"]
            for resource in self.template["Resources"].values()
            if resource["Type"] == "AWS::Lambda::Function"
        }


def package_service(tools: Path, service: str, bucket: str, folder: Path, *params: str) -> Package:
    """`serverless package --param=bucket=BUCKET` of one service with its sources-only bundle, built into `folder`
    (not the service's own .build/, which other runs rebuild). `params` are further `name=value` params."""
    build = folder / "build"
    subprocess.run(
        ["bash", str(ROOT / "infra" / "aws" / "build-bundle.sh"), str(ROOT / "services" / service), "--offline"],
        env={**os.environ, "BUNDLE_BUILD_DIR": str(build)},
        check=True,
        capture_output=True,
        timeout=120,
    )
    bundle = build / "offline-bundle.zip"
    # serverless takes the last value of a repeated --param: these replace the offline checks' bucket and artifact.
    serverless.package(tools, service, folder / "package", f"bucket={bucket}", f"artifact={bundle}", *params)
    return Package(service, folder / "package", bundle)


def deploy_service(account: Account, package: Package) -> Stack:
    """What `serverless deploy` (deploymentMethod direct) does with a package."""
    cfn, s3 = account.client("cloudformation"), account.client("s3")
    cfn.create_stack(
        StackName=package.stack_name,
        TemplateBody=json.dumps(package.create_template),
        Capabilities=SERVERLESS_CAPABILITIES,
        Tags=[{"Key": "STAGE", "Value": STAGE}],
    )
    created = describe(account, package.stack_name)
    assert created.status == "CREATE_COMPLETE", created
    deployment_bucket = created.outputs["ServerlessDeploymentBucketName"]
    for key in package.code_keys():
        assert key == f"{package.artifact_directory}/{package.bundle.name}", key
        s3.put_object(Bucket=deployment_bucket, Key=key, Body=package.bundle.read_bytes())
    template_key = f"{package.artifact_directory}/{COMPILED_TEMPLATE}"
    s3.put_object(Bucket=deployment_bucket, Key=template_key, Body=json.dumps(package.template).encode())
    cfn.update_stack(
        StackName=package.stack_name,
        TemplateURL=f"https://s3.{REGION}.amazonaws.com/{deployment_bucket}/{template_key}",
        Capabilities=SERVERLESS_CAPABILITIES,
        Tags=[{"Key": "STAGE", "Value": STAGE}],
    )
    updated = describe(account, package.stack_name)
    assert updated.status == "UPDATE_COMPLETE", updated
    return updated


def status(account: Account, stack_id: str) -> str:
    """A stack's status, deleted or not, from the stack list (which leaves a deleted stack's resources alone)."""
    cfn = account.client("cloudformation")
    summaries = [
        summary
        for page in cfn.get_paginator("list_stacks").paginate()
        for summary in page["StackSummaries"]
        if summary["StackId"] == stack_id
    ]
    (summary,) = summaries
    found: str = summary["StackStatus"]
    return found


def empty_bucket(account: Account, bucket: str) -> None:
    s3 = account.client("s3")
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for version in page.get("Versions", []) + page.get("DeleteMarkers", []):
            s3.delete_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])


def remove_service(account: Account, stack: Stack) -> str:
    """What `serverless remove` does: empty the deployment bucket, delete the stack. The stack's status after."""
    empty_bucket(account, stack.outputs["ServerlessDeploymentBucketName"])
    # moto 5.2 registers a stack's exports only when the stack is created, and answers 500 (a KeyError) when it
    # deletes a stack whose export came from an update, as serverless's deployment-bucket export does. It has
    # deleted the stack and its resources by then; the caller checks that.
    with contextlib.suppress(ResponseParserError):
        account.client("cloudformation").delete_stack(StackName=stack.id)
    return status(account, stack.id)


def delete_ingest_stack(account: Account, stack: Stack) -> None:
    """`aws cloudformation delete-stack` of the ingest stack.

    moto 5.2 deletes an AWS::IoT::Policy by its template's PolicyName as written (here an unresolved `Ref`): that
    fails with ResourceNotFoundException after every other resource is handled, and the policy stays. Only that
    failure is let through, and only while the policy is indeed what is left.
    """
    try:
        account.client("cloudformation").delete_stack(StackName=stack.id)
    except ResponseParserError as error:
        if "ResourceNotFoundException" not in str(error):
            raise
        account.client("iot").get_policy(policyName="wattline-device")


def inventory(account: Account) -> dict[str, list[str]]:
    """Everything the wattline stacks can create that moto models, by kind, in one account."""
    s3, lam, iam = account.client("s3"), account.client("lambda"), account.client("iam")
    events, sqs, sfn = account.client("events"), account.client("sqs"), account.client("stepfunctions")
    logs, iot = account.client("logs"), account.client("iot")
    return {
        "buckets": sorted(bucket["Name"] for bucket in s3.list_buckets()["Buckets"]),
        "functions": sorted(function["FunctionName"] for function in lam.list_functions()["Functions"]),
        "roles": sorted(role["RoleName"] for role in iam.list_roles()["Roles"]),
        "rules": sorted(rule["Name"] for rule in events.list_rules()["Rules"]),
        "queues": sorted(sqs.list_queues().get("QueueUrls", [])),
        "state machines": sorted(machine["name"] for machine in sfn.list_state_machines()["stateMachines"]),
        "log groups": sorted(group["logGroupName"] for group in logs.describe_log_groups()["logGroups"]),
        "iot policies": sorted(policy["policyName"] for policy in iot.list_policies()["policies"]),
    }
