"""Run every benchmark (bench/bench_*.py) and print its figures. Not part of the test suite: `make bench`."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path


def main() -> int:
    selected = set(sys.argv[1:])
    for path in sorted(Path(__file__).parent.glob("bench_*.py")):
        name = path.stem.removeprefix("bench_")
        if selected and name not in selected:
            continue
        print(f"\n=== {name} ===", flush=True)
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.main()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
