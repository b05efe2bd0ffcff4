"""What each deployed function is built from (infra/bundle.py): its runtime dependencies exported from uv.lock, and
a `wattline` copy without the CLI, the local runtime, the simulator and the dashboard. Offline: uv reads uv.lock only.

The static check walks every import a function's entry modules can reach (module level and inside functions, not
`if TYPE_CHECKING:` blocks), through the service's package and `wattline`, and fails when one of them is a
subpackage the bundle leaves out or a package its export prunes: a lazy import on a rare path cannot slip out.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

import pytest
from infra_templates import ROOT

sys.path.insert(0, str(ROOT / "infra"))
import bundle  # infra/bundle.py

ENTRY_MODULES = {
    "aws-aggregator": [
        "aws_aggregator.validate",
        "aws_aggregator.plan",
        "aws_aggregator.aggregate",
        "aws_aggregator.watchdog",
    ],
    "aws-archiver": ["aws_archiver.handler"],
    "gcp-loader": ["main"],
    "gcp-alerts": ["main"],
}
CLI_ONLY = {"typer", "rich", "pygments", "markdown-it-py", "mdurl", "shellingham"}
LOCAL_ONLY = {"duckdb", "sqlglot", "amqtt", "paho-mqtt", "plotly"}
GRPC = {"google-cloud-pubsub", "grpcio", "google-api-core", "protobuf"}


def pins(text: str) -> dict[str, str]:
    """name → version of every requirement line (a package with markers may be pinned once per Python range)."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        if line and not line[0].isspace() and not line.startswith("#"):
            match = re.fullmatch(r"([a-z0-9_.-]+)==(\S+)(?: ;.*)? \\", line)
            assert match, f"not an exact pin with hashes: {line!r}"
            found[match[1]] = match[2]
    return found


@pytest.fixture(scope="module")
def exported() -> dict[str, str]:
    return {service: bundle.requirements(ROOT / "services" / service) for service in ENTRY_MODULES}


def locked() -> dict[str, set[str]]:
    versions: dict[str, set[str]] = {}
    for package in tomllib.loads((ROOT / "uv.lock").read_text())["package"]:
        versions.setdefault(package["name"], set()).add(package.get("version", ""))
    return versions


@pytest.mark.parametrize("service", sorted(ENTRY_MODULES))
def test_every_requirement_is_a_hashed_pin_of_the_version_in_uv_lock(service: str, exported: dict[str, str]) -> None:
    versions = locked()
    for name, version in pins(exported[service]).items():
        assert version in versions.get(name, set()), f"{name}=={version} but uv.lock has {versions.get(name)}"
    assert "--hash=sha256:" in exported[service]


@pytest.mark.parametrize("service", sorted(ENTRY_MODULES))
def test_no_bundle_carries_pydantic_settings(service: str, exported: dict[str, str]) -> None:
    # wattline.env_settings reads the environment; pydantic-settings is only the tests' reference.
    assert not {"pydantic-settings", "python-dotenv"} & set(pins(exported[service]))


@pytest.mark.parametrize("service", sorted(ENTRY_MODULES))
def test_no_bundle_carries_the_cli_the_local_stack_or_the_workspace(service: str, exported: dict[str, str]) -> None:
    names = set(pins(exported[service]))
    assert not names & (CLI_ONLY | LOCAL_ONLY)
    assert not {name for name in names if name.startswith("wattline")}
    assert "-e " not in exported[service] and "file://" not in exported[service]


def test_the_aggregator_publishes_over_rest_without_the_grpc_client(exported: dict[str, str]) -> None:
    names = set(pins(exported["aws-aggregator"]))
    assert {"boto3", "aws-lambda-powertools", "numpy", "google-auth", "urllib3", "cryptography", "certifi"} <= names
    assert not names & GRPC


def test_the_archiver_leaves_out_numpy_and_google_auth(exported: dict[str, str]) -> None:
    names = set(pins(exported["aws-archiver"]))
    assert {"boto3", "aws-lambda-powertools", "aws-xray-sdk", "pydantic"} <= names
    assert not names & ({"numpy", "google-auth", "cryptography", "pyasn1-modules"} | GRPC)


@pytest.mark.parametrize("service", ["gcp-loader", "gcp-alerts"])
def test_the_cloud_functions_get_the_framework_and_the_google_clients(service: str, exported: dict[str, str]) -> None:
    names = set(pins(exported[service]))
    wanted = {"functions-framework", "cloudevents", "google-cloud-bigquery", "google-cloud-pubsub"}
    assert wanted | {"google-cloud-storage", "numpy"} <= names


def test_the_wattline_copy_leaves_out_the_cli_local_simulator_and_dashboard(tmp_path: Path) -> None:
    copied = bundle.copy_wattline(tmp_path)
    assert {"adapters", "alerts", "energy", "parsing", "warehouse", "sql"} <= {p.name for p in copied.iterdir()}
    assert not {p.name for p in copied.iterdir()} & {"cli", "local", "simulator", "report"}
    assert (copied / "sql" / "queries" / "energy_hourly_range.sql").is_file()
    assert not list(copied.rglob("__pycache__")) and not list(copied.rglob("*.pyc"))


def reachable_imports(service: str) -> tuple[set[str], set[str]]:
    """(first-party modules, third-party top-level modules) reachable from the service's entry modules."""
    service_dir = ROOT / "services" / service
    roots = {"wattline": ROOT / "shared", "main": service_dir, service.replace("-", "_"): service_dir}

    def source(module: str) -> Path | None:
        top = module.split(".")[0]
        if top not in roots:
            return None
        base = roots[top].joinpath(*module.split("."))
        for candidate in (base / "__init__.py", base.with_suffix(".py")):
            if candidate.is_file():
                return candidate
        return None

    seen: set[str] = set()
    third: set[str] = set()
    todo = list(ENTRY_MODULES[service])
    while todo:
        module = todo.pop()
        path = source(module)
        if module in seen or path is None:
            continue
        seen.add(module)
        parts = module.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in walk_outside_type_checking(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{anchor}.{base}" if base else anchor
                names = [base] + [f"{base}.{alias.name}" for alias in node.names]
            for name in names:
                top = name.split(".")[0]
                if top in roots:
                    todo.append(name)
                elif top not in sys.stdlib_module_names:
                    third.add(name)
    return {m for m in seen if source(m) is not None}, third


def walk_outside_type_checking(tree: ast.AST) -> list[ast.AST]:
    found: list[ast.AST] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        found.append(node)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                stack += child.orelse
                continue
            stack.append(child)
    return found


def pruned_import_names(service: str, exported: dict[str, str]) -> set[str]:
    """Top-level import names of the packages the service's export leaves out (pruned, with what only they need)."""
    everything = bundle.requirements(ROOT / "services" / service, pruned=False)
    left_out = set(pins(everything)) - set(pins(exported[service]))
    modules = importlib.metadata.packages_distributions()
    return {module for module, dists in modules.items() if {d.lower() for d in dists} & left_out}


@pytest.mark.parametrize("service", sorted(ENTRY_MODULES))
def test_nothing_a_function_can_import_is_left_out_of_its_bundle(service: str, exported: dict[str, str]) -> None:
    # Given every module the function's entry points can reach, lazily imported ones included
    first_party, third_party = reachable_imports(service)
    # Then none of them is a wattline subpackage the bundle leaves out
    left_out = {f"wattline.{name}" for name in bundle.LEFT_OUT}
    assert not {m for m in first_party if m in left_out or m.startswith(tuple(f"{p}." for p in left_out))}
    # ... nor a package pruned from its export
    pruned = pruned_import_names(service, exported)
    assert pruned, "the CLI's packages are pruned from every bundle"
    assert not {m for m in third_party if m.split(".")[0] in pruned or m in pruned}
