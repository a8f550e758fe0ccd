"""The round's figures: throughput, command latency in the surge, outbox depth, sweep lag, drain times;
as a table (text) and as a PNG chart over simulated time (matplotlib, optional).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.round_driver import Call
from bench.round_faults import Fault
from bench.round_metrics import Sample

DRAIN_FLOOR = 10  # a fault has drained when the due outbox is back to its level before it (at least this)


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * share), len(ordered) - 1)] if ordered else 0.0


def figures(calls: list[Call], samples: list[Sample], faults: list[Fault], phases: dict[str, Any]) -> dict[str, Any]:
    answered = [c for c in calls if c.status and c.status < 500]
    commands = [c for c in answered if c.label not in ("get", "probe")]
    surge = [c.ms for c in commands if c.phase == "lg-surge"]
    out: dict[str, Any] = {
        "requests": len(calls),
        "commands": len(commands),
        "surge_commands": len(surge),
        "surge_p50_ms": round(statistics.median(surge), 1) if surge else None,
        "surge_p99_ms": round(percentile(surge, 0.99), 1) if surge else None,
        "phases": {},
        "faults": [],
    }
    for name, info in phases.items():
        in_phase = [c for c in commands if c.phase == name]
        seconds = info["real_seconds"]
        mine = [s for s in samples if s.phase == name]
        out["phases"][name] = {
            **info,
            "commands": len(in_phase),
            "commands_per_s": round(len(in_phase) / seconds, 1) if seconds else None,
            "peak_outbox_due": max((s.outbox_due for s in mine), default=0),
            "peak_sweep_lag_sandbox_h": round(max((s.lag_s for s in mine), default=0) / 3600, 1),
            "peak_sweep_lag_real_s": round(max((s.lag_s / s.rate for s in mine), default=0), 2),
            "peak_sweep_lag_behind": max(mine, key=lambda s: s.lag_s).oldest if mine else "",
        }
    for fault in faults:
        before = [s.outbox_due for s in samples if s.real < fault.began][-4:]
        floor = max(max(before, default=0), DRAIN_FLOOR)
        after = [s for s in samples if s.real >= (fault.ended or fault.began)]
        drained = next((s for s in after if s.outbox_due <= floor and s.lag_s / s.rate <= 1.0), None)
        out["faults"].append(
            {
                "fault": fault.name,
                "phase": fault.planned.phase,
                "at": fault.began_at.isoformat(timespec="minutes") if fault.began_at else None,
                "lasted_s": round((fault.ended or fault.began) - fault.began, 1),
                "drained_s": round(drained.real - (fault.ended or fault.began), 1) if drained else None,
                "error": fault.error or None,
            }
        )
    out["peak_outbox_due"] = max((s.outbox_due for s in samples), default=0)
    out["peak_sweep_lag_real_s"] = round(max((s.lag_s / s.rate for s in samples), default=0), 2)
    return out


def table(result: dict[str, Any]) -> str:
    f = result["figures"]
    lines = [
        f"round: {result['applicants']} Longgang applicants + {result['smes']} Shenzhen SMEs on {result['database']}, "
        f"seed {result['seed']}, {result['real_seconds']} s real, load average {result['load_average']}",
        f"requests {f['requests']}, commands {f['commands']}; surge p50 {f['surge_p50_ms']} ms, "
        f"p99 {f['surge_p99_ms']} ms over {f['surge_commands']} commands",
        "",
        f"pace: {result['pace']}",
        f"{'phase':<10} {'sandbox span':<35} {'rates':>15} {'real s':>7} {'cmds':>6} {'cmd/s':>6} "
        f"{'peak outbox':>11} {'peak lag h':>10} {'lag real s':>10}",
    ]
    for name, p in f["phases"].items():
        rates = f"{p['rate_min']}-{p['rate_max']}"
        lines.append(
            f"{name:<10} {p['span']:<35} {rates:>15} {p['real_seconds']:>7} {p['commands']:>6} "
            f"{p['commands_per_s']!s:>6} {p['peak_outbox_due']:>11} {p['peak_sweep_lag_sandbox_h']:>10} "
            f"{p['peak_sweep_lag_real_s']:>10}"
        )
    lines += ["", f"{'fault':<18} {'phase':<10} {'sandbox time':<26} {'lasted s':>8} {'drained s':>9}"]
    for fault in f["faults"]:
        drained = "not drained" if fault["drained_s"] is None else fault["drained_s"]
        lines.append(
            f"{fault['fault']:<18} {fault['phase']:<10} {fault['at']!s:<26} {fault['lasted_s']:>8} {drained!s:>9}"
        )
    for name, promise in result["promises"].items():
        lines.append(f"promise {name}: {promise}")
    lines += ["", f"outcomes: {result['outcomes']}", f"HTTP statuses: {result['statuses']}"]
    lines.append("invariants: " + ("all held" if not result["breaches"] else f"BREACHED: {result['breaches']}"))
    return "\n".join(lines)


def chart(
    samples: list[Sample], calls: list[Call], faults: list[Fault], path: Path, begins: Mapping[str, datetime]
) -> Path | None:
    """Outbox depth, sweep lag and commands over simulated time, one column per round; ``None`` without matplotlib.

    ``begins``: each phase's first sandbox instant. A phase is named before the clock jumps to it,
    so its first samples can stand months earlier (the Longgang column once began in January)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    rounds = {"Shenzhen 2024": ("shenzhen",), "Longgang 2025": ("lg-window", "lg-surge", "lg-after")}
    figure, axes = plt.subplots(3, 2, figsize=(14, 9), sharex="col", squeeze=False)
    for column, (title, phases) in enumerate(rounds.items()):
        mine = [s for s in samples if s.phase in phases and s.at >= begins[s.phase]]
        done = [c for c in calls if c.phase in phases and c.status and c.status < 500 and c.label != "get"]
        top, middle, bottom = axes[0][column], axes[1][column], axes[2][column]
        top.set_title(title)
        top.plot([s.at for s in mine], [s.outbox_due for s in mine], linewidth=0.8)
        top.set_ylabel("outbox due")
        middle.plot([s.at for s in mine], [s.lag_s / 3600 for s in mine], linewidth=0.8, color="tab:orange")
        middle.set_ylabel("sweep lag (sandbox h)")
        if done:
            bottom.hist([c.at for c in done], bins=120, color="tab:green")
        bottom.set_ylabel("commands per bin")
        for fault in faults:
            if fault.planned.phase in phases and fault.began_at is not None:
                for axis in (top, middle, bottom):
                    axis.axvline(fault.began_at, color="red", linewidth=0.6, linestyle="--")
                top.annotate(fault.name, (fault.began_at, 0), rotation=90, fontsize=7, color="red")
        bottom.tick_params(axis="x", labelrotation=30)
    figure.suptitle("A whole round under load and faults (red: faults)")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
