"""``python -m bench [--quick] [NAME ...]``: run the benchmarks and write bench/results/NAME.json."""

from __future__ import annotations

import argparse
import importlib
import json
from pathlib import Path

BENCHMARKS = (
    "transition_sqlite",
    "transition_pg",
    "sweep",
    "reminders",
    "catch_up",
    "dispatch",
    "api",
    "peers",
    "scale",
    "round",
)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("names", nargs="*", default=list(BENCHMARKS))
    parser.add_argument("--quick", action="store_true", help="a much smaller run")
    parser.add_argument(
        "--applicants", type=int, help="round: Longgang applicants (10,000 on PostgreSQL, 2,000 on SQLite)"
    )
    parser.add_argument("--database", choices=("postgresql", "sqlite"), help="round: the database (postgresql)")
    parser.add_argument("--seed", type=int, default=16, help="round: the seed of the workload and the faults")
    args = parser.parse_args()
    out = Path(__file__).with_name("results")
    out.mkdir(exist_ok=True)
    for name in args.names:
        module = importlib.import_module(f"bench.{name}")
        if name == "round":
            result = module.run(args.quick, applicants=args.applicants, database=args.database, seed=args.seed)
        else:
            result = module.run(args.quick)
        (out / f"{name}.json").write_text(json.dumps(result, indent=2))
        print(f"== {name}")
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
