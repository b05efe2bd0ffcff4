"""The `wattline` program: settle the process's memory, then run the command (`wattline.cli.main`)."""

from __future__ import annotations


def main() -> None:
    from wattline.cli.memory import rerun_with_huge_pages

    rerun_with_huge_pages()  # before the command's imports: an exec here repeats only the interpreter's start
    from wattline.cli.main import main as run_command

    run_command()
