"""``python -m bench [--quick] [NAME ...]``: run the benchmarks and write bench/results/NAME.json."""

from __future__ import annotations

import argparse
import importlib
import json
from pathlib import Path

BENCHMARKS = ("transition_sqlite", "transition_pg", "sweep", "dispatch", "api", "peers", "scale")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("names", nargs="*", default=list(BENCHMARKS))
    parser.add_argument("--quick", action="store_true", help="a much smaller run")
    args = parser.parse_args()
    out = Path(__file__).with_name("results")
    out.mkdir(exist_ok=True)
    for name in args.names:
        result = importlib.import_module(f"bench.{name}").run(args.quick)
        (out / f"{name}.json").write_text(json.dumps(result, indent=2))
        print(f"== {name}")
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
