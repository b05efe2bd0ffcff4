"""docs/deploy.md names only what exists: every repository path and every `wattline` command and option it uses.
(The scripts' own options are exercised by test_gcp_dry_runs.py.)"""

from __future__ import annotations

import re

import pytest
from helpers.serverless import ROOT
from typer.testing import CliRunner

from wattline.cli.main import app

GUIDE = (ROOT / "docs" / "deploy.md").read_text()
runner = CliRunner()


@pytest.mark.parametrize(
    "path", sorted(set(re.findall(r"\b((?:infra|services|shared|docs)/[\w./-]+\.(?:sh|yml|yaml|json|py|md))", GUIDE)))
)
def test_every_path_the_guide_names_exists(path: str) -> None:
    assert (ROOT / path).is_file()


def wattline_commands() -> list[tuple[str, ...]]:
    """Each `wattline …` command line of the guide, as its words up to a placeholder, pipe or comment."""
    found = set()
    for line in re.findall(r"(?<![=\w-])wattline ((?:gcp |aws )?[a-z][\w-]*(?: [^`|#\n]*)?)", GUIDE):
        words = []
        for word in line.split():
            if word.startswith(("<", "[", "…", "$", "(")) or word in {"lists", "recomputes", "for", "with"}:
                break
            words.append(word.split("=", 1)[0])
        found.add(tuple(words))
    return sorted(found)


@pytest.mark.parametrize("words", wattline_commands(), ids=" ".join)
def test_every_wattline_command_and_option_the_guide_uses_exists(words: tuple[str, ...]) -> None:
    command = [w for w in words if not w.startswith("-")]
    command = command[: 2 if command[0] in {"gcp", "aws"} else 1]
    result = runner.invoke(app, [*command, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    for option in (w for w in words if w.startswith("--")):
        assert option in result.output, f"wattline {' '.join(command)} has no {option}"


def test_the_readme_links_the_guide() -> None:
    assert "docs/deploy.md" in (ROOT / "README.md").read_text()
