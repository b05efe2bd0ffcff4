"""A packaged template's state machine deployed on moto and executed offline, its Lambda tasks running the real
handlers in this process.

moto 5 executes Amazon States Language (LocalStack's interpreter, moto.stepfunctions.parser) only when its config
says `{"stepfunctions": {"execute_state_machine": true}}`: `mock_aws(config=...)` in-process, or POST /moto-api/config
on a moto server. Each execution then runs in a thread; a `arn:aws:states:::lambda:invoke` task calls the Lambda
API with boto3 (in server mode at http://localhost:$MOTO_PORT, i.e. the same server), and moto's Lambda runs a
function's code only in a Docker container (`LambdaFunction._invoke_lambda`), which is not available here.

So `moto_step_functions()` runs the moto server in this process (ThreadedMotoServer on a free 127.0.0.1 port, with
MOTO_PORT pointing the interpreter's Lambda client at it) and replaces `_invoke_lambda`, the one place where moto
would start a container, with `InProcessLambdaRuntime`: it imports the function's configured `Handler`, sets the
function's environment, calls the handler with the event and a context built from the function's configuration,
and answers as the Lambda Python runtime does (the JSON result, or `{"errorMessage", "errorType", "requestId",
"stackTrace"}` flagged as a function error). Everything around it is moto's: the Lambda API (the function looked up
by the ARN the definition names, the invoke response) and the interpreter (Retry, Catch, Map, Choice, intrinsic
functions, the execution history).

The runtime runs one invocation at a time: on Lambda each concurrent invocation has its own execution environment,
while in-process they would share os.environ and Powertools' process-wide metric set. The Map still starts its
iterations in parallel threads; they queue at the runtime. Lambda's Timeout and MemorySize are not enforced, and the
function's code is a placeholder zip: the handler is imported from this environment (tests/integration/aws/
test_bundle.py runs the real bundle).

`deploy_scheduled_state_machine` creates, from the packaged CloudFormation template, what a schedule targets: the
state machine with its DefinitionSubstitutions applied as CloudFormation applies them, each function it names (with
its role); `run_for` starts executions with the input EventBridge Scheduler would send. (moto's CloudFormation
cannot do this itself: it reads only `DefinitionString`, not `Definition` + `DefinitionSubstitutions`, and creates
state machines on its non-executing backend.)
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import re
import threading
import time
import traceback
import urllib.request
import uuid
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from typing import Any

REGION = "eu-central-1"
ACCOUNT = "123456789012"  # moto's default account


# --- the Lambda runtime ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Invocation:
    """One invocation the runtime ran: the function's name, the event, and the errorType it failed with (or None)."""

    function_name: str
    event: Any
    error_type: str | None


@dataclass
class LambdaContext:
    """The context object Lambda passes, from the function's configuration."""

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline: float

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


@dataclass
class InProcessLambdaRuntime:
    """Runs moto's Lambda invocations in this process (see the module docstring); `invocations` in order."""

    invocations: list[Invocation] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def invoke(self, function: Any, event: Any) -> tuple[str, bool, str]:
        """What moto's `LambdaFunction._invoke_lambda` returns: (response payload, function error?, logs)."""
        request_id = str(uuid.uuid4())
        with self._lock, _environment(function):
            try:
                module_name, _, attribute = str(function.handler).rpartition(".")
                try:
                    module = importlib.import_module(module_name)
                except ImportError as exc:
                    return self._error(function, event, "Runtime.ImportModuleError", str(exc), request_id, [])
                handler = getattr(module, attribute, None)
                if handler is None:
                    message = f"Handler '{attribute}' missing on module '{module_name}'"
                    return self._error(function, event, "Runtime.HandlerNotFound", message, request_id, [])
                context = LambdaContext(
                    function_name=function.function_name,
                    function_version=function.version,
                    invoked_function_arn=function.function_arn,
                    memory_limit_in_mb=int(function.memory_size),
                    aws_request_id=request_id,
                    log_group_name=function.logs_group_name,
                    log_stream_name=f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}",
                    deadline=time.monotonic() + int(function.timeout),
                )
                result = handler(event, context)
            except Exception as exc:  # what the runtime reports for an unhandled exception
                stack = traceback.format_list(traceback.extract_tb(exc.__traceback__))
                return self._error(function, event, type(exc).__name__, str(exc), request_id, stack)
        self.invocations.append(Invocation(function.function_name, event, None))
        return json.dumps(result), False, ""

    def _error(
        self, function: Any, event: Any, error_type: str, message: str, request_id: str, stack: list[str]
    ) -> tuple[str, bool, str]:
        self.invocations.append(Invocation(function.function_name, event, error_type))
        payload = {"errorMessage": message, "errorType": error_type, "requestId": request_id, "stackTrace": stack}
        return json.dumps(payload), True, ""

    def called(self, function_name: str) -> list[Invocation]:
        return [invocation for invocation in self.invocations if invocation.function_name == function_name]


@contextlib.contextmanager
def _environment(function: Any) -> Iterator[None]:
    """os.environ as Lambda sets it for the function (its variables and the runtime's own), restored after."""
    values = {
        **{name: str(value) for name, value in function.environment_vars.items()},
        "AWS_REGION": function.region,
        "AWS_DEFAULT_REGION": function.region,
        "AWS_LAMBDA_FUNCTION_NAME": function.function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": function.version,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
        "_HANDLER": str(function.handler),
    }
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def moto_step_functions(runtime: InProcessLambdaRuntime) -> Iterator[str]:
    """A moto server in this process on a free 127.0.0.1 port that executes state machines, its Lambda invocations
    run by `runtime`; its endpoint URL. Config, backends and MOTO_PORT are restored on exit."""
    from moto.awslambda.models import LambdaFunction
    from moto.core.config import default_user_config
    from moto.server import ThreadedMotoServer

    def _invoke_lambda(function: Any, event: Any = None) -> tuple[str, bool, str]:
        return runtime.invoke(function, event)

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    saved_port = os.environ.get("MOTO_PORT")
    original = LambdaFunction._invoke_lambda
    saved_config = dict(default_user_config.get("stepfunctions", {}))
    os.environ["MOTO_PORT"] = str(port)  # where the interpreter's Lambda client connects (moto.settings)
    LambdaFunction._invoke_lambda = _invoke_lambda  # type: ignore[method-assign,assignment]
    try:
        _post(f"{url}/moto-api/config", {"stepfunctions": {"execute_state_machine": True}})
        yield url
    finally:
        _post(f"{url}/moto-api/config", {"stepfunctions": saved_config})
        _post(f"{url}/moto-api/reset", None)
        LambdaFunction._invoke_lambda = original  # type: ignore[method-assign]
        if saved_port is None:
            os.environ.pop("MOTO_PORT", None)
        else:
            os.environ["MOTO_PORT"] = saved_port
        server.stop()


def _post(url: str, body: Any) -> None:
    data = json.dumps(body).encode() if body is not None else b""
    request = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


# --- EventBridge Scheduler ---------------------------------------------------------------------------------------


def daily_fire_time(schedule: Mapping[str, Any], day: date) -> datetime:
    """When a daily schedule (`cron(M H * * ? *)`, UTC) first fires after the UTC day `day` ended."""
    assert schedule.get("ScheduleExpressionTimezone", "UTC") == "UTC", schedule
    match = re.fullmatch(r"cron\((\d{1,2}) (\d{1,2}) \* \* \? \*\)", schedule["ScheduleExpression"])
    assert match, f"not a daily cron expression: {schedule['ScheduleExpression']!r}"
    return datetime.combine(day + timedelta(days=1), clock(int(match[2]), int(match[1])), tzinfo=UTC)


def scheduler_input(target_input: str, *, schedule_arn: str, scheduled_time: datetime, attempt: int = 1) -> str:
    """A schedule target's Input as EventBridge Scheduler sends it: its context attributes filled in (docs:
    scheduler/latest/UserGuide/managing-schedule-context-attributes.html); an unknown attribute is an error."""
    values = {
        "aws.scheduler.schedule-arn": schedule_arn,
        "aws.scheduler.scheduled-time": scheduled_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws.scheduler.execution-id": str(uuid.uuid4()),
        "aws.scheduler.attempt-number": str(attempt),
    }
    return re.sub(r"<(aws\.scheduler\.[a-z-]+)>", lambda match: values[match[1]], target_input)


# --- deployment and executions -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Execution:
    """A finished execution: its input, DescribeExecution's answer and the history events, oldest first."""

    input: dict[str, Any]
    description: dict[str, Any]
    events: list[dict[str, Any]]

    @property
    def status(self) -> str:
        return str(self.description["status"])

    @property
    def output(self) -> Any:
        return json.loads(self.description["output"])

    def state_outputs(self, state: str) -> list[Any]:
        """The output of every exit of the state named `state`, in history order."""
        return [
            json.loads(event["stateExitedEventDetails"]["output"])
            for event in self.events
            if event.get("stateExitedEventDetails", {}).get("name") == state
        ]

    def task_errors(self) -> list[str]:
        """The error name of every failed task attempt, in history order."""
        return [event["taskFailedEventDetails"]["error"] for event in self.events if event["type"] == "TaskFailed"]


@dataclass(frozen=True)
class ScheduledStateMachine:
    """A schedule's state machine created on moto from a template; `run_for(day)` starts it as the schedule would
    after the UTC day `day` and waits for the end."""

    client: Any
    state_machine_arn: str
    schedule_name: str
    schedule: dict[str, Any]
    function_names: dict[str, str]  # logical id → function name

    def run_for(self, day: date, timeout_s: float = 60.0) -> Execution:
        target = self.schedule["Target"]
        text = scheduler_input(
            target["Input"],
            schedule_arn=f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/{self.schedule_name}",
            scheduled_time=daily_fire_time(self.schedule, day),
        )
        arn = self.client.start_execution(stateMachineArn=self.state_machine_arn, input=text)["executionArn"]
        deadline = time.monotonic() + timeout_s
        while (description := self.client.describe_execution(executionArn=arn))["status"] == "RUNNING":
            assert time.monotonic() < deadline, f"execution still running after {timeout_s} s"
            time.sleep(0.1)
        history = self.client.get_execution_history(executionArn=arn, maxResults=1000)
        assert "nextToken" not in history, "more than 1000 history events"
        return Execution(json.loads(text), description, history["events"])


def deploy_scheduled_state_machine(
    endpoint: str, template: Mapping[str, Any], schedule_id: str, *, environment: Mapping[str, str] | None = None
) -> ScheduledStateMachine:
    """Create on moto at `endpoint` the state machine the AWS::Scheduler::Schedule `schedule_id` of `template`
    targets, with every role and function its RoleArn and DefinitionSubstitutions name (`environment` added to each
    function's variables). Only `Fn::GetAtt <logical id>.Arn` values are resolved; anything else is an error."""
    import boto3

    resources = template["Resources"]
    schedule = resources[schedule_id]
    assert schedule["Type"] == "AWS::Scheduler::Schedule", schedule_id
    machine_id = schedule["Properties"]["Target"]["Arn"]["Ref"]
    machine = resources[machine_id]
    assert machine["Type"] == "AWS::StepFunctions::StateMachine", machine_id
    clients = {name: boto3.client(name, endpoint_url=endpoint, region_name=REGION) for name in ("iam", "lambda")}
    arns: dict[str, str] = {}
    function_names: dict[str, str] = {}

    def arn_of(value: Any) -> str:
        logical_id, attribute = value["Fn::GetAtt"]
        assert attribute == "Arn", value
        if logical_id not in arns:
            resource = resources[logical_id]
            properties = resource["Properties"]
            if resource["Type"] == "AWS::IAM::Role":
                arns[logical_id] = clients["iam"].create_role(
                    RoleName=properties.get("RoleName", logical_id),
                    AssumeRolePolicyDocument=json.dumps(properties["AssumeRolePolicyDocument"]),
                )["Role"]["Arn"]
            elif resource["Type"] == "AWS::Lambda::Function":
                variables = {**properties.get("Environment", {}).get("Variables", {}), **(environment or {})}
                arns[logical_id] = clients["lambda"].create_function(
                    FunctionName=properties["FunctionName"],
                    Runtime=properties["Runtime"],
                    Handler=properties["Handler"],
                    Role=arn_of(properties["Role"]),
                    Timeout=properties["Timeout"],
                    MemorySize=properties["MemorySize"],
                    Environment={"Variables": variables},
                    Code={"ZipFile": _placeholder_zip()},
                )["FunctionArn"]
                function_names[logical_id] = properties["FunctionName"]
            else:
                raise AssertionError(f"{logical_id}: cannot create a {resource['Type']}")
        return arns[logical_id]

    properties = machine["Properties"]
    substitutions = {name: arn_of(value) for name, value in properties.get("DefinitionSubstitutions", {}).items()}
    definition = re.sub(
        r"\$\{([A-Za-z0-9_]+)\}", lambda match: substitutions[match[1]], json.dumps(properties["Definition"])
    )
    client = boto3.client("stepfunctions", endpoint_url=endpoint, region_name=REGION)
    state_machine_arn = client.create_state_machine(
        name=properties["StateMachineName"],
        definition=definition,
        roleArn=arn_of(properties["RoleArn"]),
        type=properties["StateMachineType"],
    )["stateMachineArn"]
    return ScheduledStateMachine(
        client, state_machine_arn, schedule["Properties"]["Name"], schedule["Properties"], function_names
    )


def _placeholder_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "placeholder: tests/helpers/step_functions.py runs the handlers in-process\n")
    return buffer.getvalue()
