"""What goes into a deployed function, shared by infra/aws/build-bundle.sh and infra/gcp/build-function.sh.

  python3 infra/bundle.py requirements SERVICE_DIR [FILE]   the service's third-party runtime pins, from uv.lock
  python3 infra/bundle.py wattline DEST                     copy the shared `wattline` package into DEST/wattline

`requirements` runs `uv export --frozen --no-dev --no-emit-workspace --package <the service's project name>` with
hashes: exact versions from uv.lock (no resolution at build time, an out-of-date lock fails instead of being
re-resolved), the service's own dependency (`wattline[aws]` or `wattline[gcp]`) and nothing of the dev group. The
packages named in the service's `[tool.wattline.bundle] prune` (pyproject.toml) are left out with everything only
they need (`uv export --prune`): the CLI's typer and rich everywhere, more where a function does not import them.
The export is the complete closure, so the AWS build installs it with `--no-deps` and Cloud Build's pip checks it
in hash-checking mode.

`wattline` copies the package's sources and data (the SQL files) without the subpackages no deployed function
imports: the CLI, the local runtime, the simulator and the HTML dashboard (tests/unit/infra/test_bundles.py checks
that no module of a function's bundle imports them, nor a pruned package).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Subpackages of shared/wattline that only the CLI and the local stack use.
LEFT_OUT = ("cli", "local", "simulator", "report")


def uv() -> str:
    return shutil.which("uv") or str(ROOT / ".tools" / "uv" / "bin" / "uv")


def bundle_config(service_dir: Path) -> tuple[str, list[str]]:
    """(project name, packages to prune) from the service's pyproject.toml."""
    project = tomllib.loads((service_dir / "pyproject.toml").read_text())
    prune = project.get("tool", {}).get("wattline", {}).get("bundle", {}).get("prune", [])
    return project["project"]["name"], list(prune)


def requirements(service_dir: Path, *, pruned: bool = True) -> str:
    """The export; `pruned=False` keeps the prune list in (the tests compare the two)."""
    name, prune = bundle_config(service_dir)
    prune = prune if pruned else []
    command = [uv(), "export", "--frozen", "--no-dev", "--no-emit-workspace", "--no-header", "--package", name]
    command += [argument for package in prune for argument in ("--prune", package)]
    exported = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    header = (
        f"# {name}: runtime dependencies exported from uv.lock by infra/bundle.py (uv export --frozen --no-dev\n"
        f"# --package {name}); left out with what only they need: {', '.join(prune) or 'nothing'}.\n"
    )
    return header + exported


def copy_wattline(dest: Path) -> Path:
    target = dest / "wattline"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo")
    shutil.copytree(ROOT / "shared" / "wattline", target, ignore=ignore)
    for name in LEFT_OUT:
        shutil.rmtree(target / name)
    return target


def main(argv: list[str]) -> int:
    if len(argv) in (2, 3) and argv[0] == "requirements":
        text = requirements(Path(argv[1]).resolve())
        if len(argv) == 3:
            Path(argv[2]).write_text(text)
        else:
            sys.stdout.write(text)
        return 0
    if len(argv) == 2 and argv[0] == "wattline":
        copy_wattline(Path(argv[1]))
        return 0
    print(__doc__.split("\n\n")[0], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
