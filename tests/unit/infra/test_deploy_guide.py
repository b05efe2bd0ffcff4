"""docs/deploy.md and docs/looker.md name only what exists: every repository path and every `wattline` command and
option they use. (The scripts' own options are exercised by test_gcp_dry_runs.py.)"""

from __future__ import annotations

import re

import pytest
from helpers.serverless import ROOT
from typer.testing import CliRunner

from wattline.cli.main import app

GUIDES = ("deploy.md", "looker.md")
TEXT = {name: (ROOT / "docs" / name).read_text() for name in GUIDES}
runner = CliRunner()
PATH = r"\b((?:infra|services|shared|docs)/[\w./-]+\.(?:sh|yml|yaml|json|py|md))"


@pytest.mark.parametrize(
    ("guide", "path"), sorted({(name, path) for name, text in TEXT.items() for path in re.findall(PATH, text)})
)
def test_every_path_the_guide_names_exists(guide: str, path: str) -> None:
    assert (ROOT / path).is_file(), f"docs/{guide} names {path}"


def wattline_commands() -> list[tuple[str, ...]]:
    """Each `wattline …` command line of the guides, as its words up to a placeholder, pipe or comment."""
    found = set()
    text = "\n".join(TEXT.values())
    for line in re.findall(r"(?<![=\w-])wattline ((?:gcp |aws )?[a-z][\w-]*(?: [^`|#\n]*)?)", text):
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


@pytest.mark.parametrize("guide", GUIDES)
def test_the_readme_links_the_guide(guide: str) -> None:
    assert f"docs/{guide}" in (ROOT / "README.md").read_text()


def test_the_looker_guide_lists_every_data_source_the_command_sets() -> None:
    from wattline.looker import DATA_SOURCES

    for source in DATA_SOURCES:
        assert f"| `{source.alias}` | `{source.view}` | {source.page} |" in TEXT["looker.md"]
