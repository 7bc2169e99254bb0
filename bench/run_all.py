"""Every benchmark in one run, and one table: each target of the issue beside its figure and
the baseline measured in the same run.

Runs each ``bench/<area>/run.py`` as its own process, one after the other (they share the
machine; running them together would measure each other), writes their JSON to
``bench/results/`` (``--quick``: ``bench/results/quick/``, so a quick run never replaces the
full figures), then prints the summary table and the scaling table and writes
``summary.json`` beside them. The full run's files are committed (a few KB each), so that
every figure ``bench/README.md`` quotes can be checked against them; quick runs are not.
Benchmarks print; nothing here passes or fails on time — the exit status is non-zero only
when a benchmark itself failed (crashed, or produced wrong output such as a double
booking).

    uv run python bench/run_all.py --quick     # small sizes, under 5 minutes
    uv run python bench/run_all.py             # full sizes (the 10 M-call analytics figures
                                               # are reused unless --analytics-10m is given)
    uv run python bench/run_all.py --summary-only [--quick]   # re-print from the JSON files
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
from common import machine  # noqa: E402 - bench/ is not a package

RESULTS = REPO / "bench" / "results"
#: Regenerating 10 million calls takes about 40 minutes; the full run reuses this file.
ANALYTICS_10M = RESULTS / "analytics-10M.json"


@dataclass
class Step:
    """One benchmark process: the script, its arguments, the JSON file it writes."""

    name: str
    script: str
    args: list[str] = field(default_factory=list)

    def command(self, out: Path) -> list[str]:
        return [sys.executable, str(REPO / "bench" / self.script), *self.args, "--out", str(out)]


def plan(quick: bool, analytics_10m: bool) -> list[Step]:
    """The benchmarks of a quick or a full run, with their sizes."""
    if quick:
        pipeline = [1_000, 2_000, 4_000]
        return [
            *(Step(f"telephony-{n}", "telephony/run.py", ["--events", str(n)]) for n in pipeline),
            Step("analytics-100k", "analytics/run.py", ["--quick"]),
            Step("webhook", "webhook/run.py", ["--quick"]),
            Step("notify", "notify/run.py", ["--quick"]),
            Step("booking", "booking/run.py", ["--bookings", "300"]),
            Step("memory", "memory/run.py", ["--idle", "5"]),
        ]
    steps = [
        *(
            Step(f"telephony-{n}", "telephony/run.py", ["--events", str(n)])
            for n in (20_000, 50_000, 100_000)
        ),
        Step("analytics-100k", "analytics/run.py", ["--quick"]),
        Step(
            "analytics-1M",
            "analytics/run.py",
            ["--calls", "1000000", "--numbers", "500000", "--projection-calls", "20000"],
        ),
    ]
    if analytics_10m:
        steps.append(Step("analytics-10M", "analytics/run.py", []))
    return [
        *steps,
        Step("webhook", "webhook/run.py"),
        Step("notify", "notify/run.py"),
        Step("booking", "booking/run.py"),
        Step("crm", "crm/run.py"),
        Step("memory", "memory/run.py"),
    ]


def run(steps: list[Step], out_dir: Path) -> dict[str, dict[str, Any]]:
    """Run each step; a failed step is reported and the others still run."""
    status: dict[str, dict[str, Any]] = {}
    for step in steps:
        out = out_dir / f"{step.name}.json"
        # A failed step must not leave an older run's figures in the table.
        out.unlink(missing_ok=True)
        print(f"\n=== {step.name}: {' '.join(step.command(out)[1:])}", flush=True)
        began = time.monotonic()
        code = subprocess.call(step.command(out), cwd=REPO)
        seconds = round(time.monotonic() - began, 1)
        status[step.name] = {"exit_code": code, "seconds": seconds}
        print(f"=== {step.name}: exit {code}, {seconds} s", flush=True)
    return status


def load(out_dir: Path, name: str) -> dict[str, Any] | None:
    path = out_dir / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    text = f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"
    return f"{text.replace(',', ' ')}{unit}"


def _met(ok: bool | None) -> str:
    return "—" if ok is None else ("met" if ok else "NOT MET")


def rows(out_dir: Path, quick: bool) -> tuple[list[list[str]], list[str]]:
    """The issue's table: what, target, measured, baseline, ratio, met; and notes."""
    table: list[list[str]] = []
    notes: list[str] = []
    pipelines = sorted(
        (d for p in out_dir.glob("telephony-*.json") if (d := json.loads(p.read_text()))),
        key=lambda d: d["input"]["raw_events"],
    )
    if pipelines:
        t = pipelines[-1]
        rate = t["service"]["events_per_second"]
        bare, copy = t["baseline"]["events_per_second"], t["baseline_db_copy"]["events_per_second"]
        # The service's own statements and sends alone: what the rate cannot exceed.
        statements = t.get("baseline_statements", {}).get("events_per_second")
        table.append(
            [
                f"pipeline: PBX raw → canonical call events (telephony, "
                f"{t['input']['raw_events']:,} events)",
                "≥ 10 000 ev/s",
                _fmt(rate, " ev/s"),
                f"bare consumer {_fmt(bare)} ev/s; COPY {_fmt(copy)} ev/s"
                + (f"; its statements alone {_fmt(statements)} ev/s" if statements else ""),
                f"{rate / bare:.2%} / {rate / copy:.1%}",
                _met(rate >= 10_000),
            ]
        )
        if not t["output_exactly_once"]:
            notes.append("telephony output was NOT exactly once")
    analytics_runs = {
        name: d
        for name in ("analytics-100k", "analytics-1M", "analytics-10M")
        if (d := load(out_dir, name))
    }
    reused_10m = False
    if not quick and "analytics-10M" not in analytics_runs and ANALYTICS_10M.is_file():
        analytics_runs["analytics-10M"] = json.loads(ANALYTICS_10M.read_text())
        reused_10m = True
        notes.append(
            f"10 M-call analytics figures reused from {ANALYTICS_10M.relative_to(REPO)} "
            f"(measured {analytics_runs['analytics-10M']['measured_at'][:16]}; regenerating "
            "takes ~40 min; pass --analytics-10m to measure them again)"
        )
    with_baselines = [d for d in analytics_runs.values() if "replay_baselines" in d]
    if with_baselines:
        largest = max(with_baselines, key=lambda d: d["baseline"]["calls"])
        # The projection's target is onto 1 M calls; the rebuild's at the largest size.
        one_million = min(with_baselines, key=lambda d: abs(d["baseline"]["calls"] - 1_000_000))
        projection = "pipeline: canonical events → call log + roll-ups (analytics)"
        for label, part, a in (
            (projection, "projection", one_million),
            ("rebuild of analytics from topic history, until it answers", "rebuild", largest),
        ):
            rb = a["replay_baselines"]
            bare, copy = rb["bare_consumer"]["events_per_second"], rb["copy"]["events_per_second"]
            rate = a[part]["events_per_second"]
            events = a[part].get("events", a[part].get("events_replayed", 0))
            with_drop = a[part].get("events_per_second_with_drop")
            table.append(
                [
                    f"{label}, {events:,} events on {a['baseline']['calls']:,} calls",
                    "≥ 10 000 ev/s",
                    _fmt(rate, " ev/s")
                    + (
                        f" (with the drop of the replaced tables after it {_fmt(with_drop)})"
                        if with_drop
                        else ""
                    ),
                    f"bare consumer {_fmt(bare)} ev/s; COPY {_fmt(copy)} ev/s",
                    f"{rate / bare:.2%} / {rate / copy:.1%}",
                    _met(rate >= 10_000),
                ]
            )
    webhook = load(out_dir, "webhook")
    if webhook:
        # The largest size: the rate a PBX pushing that many deliveries gets, sustained.
        w = max(webhook["runs"], key=lambda r: r["deliveries"])
        rate, bare = w["events_per_second"], w["baseline_events_per_second"]
        table.append(
            [
                f"webhook ingest: signed deliveries of {webhook['events_per_delivery']} events "
                f"accepted with acks=all ({w['deliveries']} deliveries, "
                f"{webhook['in_flight']} in flight; 202 p99 {_fmt(w['latency_ms']['p99'])} ms)",
                "≥ 5 000 ev/s per process",
                _fmt(rate, " ev/s"),
                f"bare producer, acks=all, {_fmt(bare)} ev/s",
                f"{rate / bare:.0%}",
                _met(rate >= 5_000),
            ]
        )
    notify = load(out_dir, "notify")
    if notify:
        w, b = notify["webhook_to_popup"], notify["baseline_redis_publish_to_ws"]
        e, be = w["from_accepted_to_every_console_ms"], b["to_every_console_ms"]
        k = notify["kafka_call_started_to_popup"]["from_kafka_ack_to_every_console_ms"]
        size = f"{notify['consoles']} consoles, {w['rate_per_second']:.0f} calls/s"
        table.append(
            [
                f"webhook accepted → pop-up at every console of the extension ({size})",
                "p50 ≤ 25 ms, p99 ≤ 100 ms",
                f"p50 {_fmt(e['p50'])} / p99 {_fmt(e['p99'])} ms",
                f"Redis publish → WebSocket p50 {_fmt(be['p50'])} / p99 {_fmt(be['p99'])} ms",
                f"{e['p50'] / be['p50']:.0f}x / {e['p99'] / be['p99']:.0f}x",
                _met(e["p50"] <= 25 and e["p99"] <= 100),
            ]
        )
        table.append(
            [
                "… of which CallStarted on Kafka → every console (notify alone)",
                "",
                f"p50 {_fmt(k['p50'])} / p99 {_fmt(k['p99'])} ms",
                "same",
                f"{k['p50'] / be['p50']:.1f}x / {k['p99'] / be['p99']:.1f}x",
                "",
            ]
        )
    if analytics_runs:
        a = max(analytics_runs.values(), key=lambda d: d["baseline"]["calls"])
        calls = f"{a['baseline']['calls']:,} calls"
        table += _report_rows(a, calls)
        pages = a["call_log_ms"]
        first = pages["first_page"]
        table.append(
            [
                f"call log first page, {calls}",
                "p95 ≤ 100 ms",
                f"p95 {_fmt(first['p95'])} ms",
                "—",
                "",
                _met(first["p95"] <= 100),
            ]
        )
        filtered = {k: v for k, v in pages.items() if k != "first_page"}
        worst = max(filtered, key=lambda k: filtered[k]["p95"])
        over = [k for k, v in filtered.items() if v["p95"] > 100]
        table.append(
            [
                f"call log pages under filters and sorts ({len(filtered)} cases), {calls}",
                "p95 ≤ 100 ms",
                f"worst p95 {_fmt(filtered[worst]['p95'])} ms ({worst}); "
                f"{len(filtered) - len(over)}/{len(filtered)} within",
                "—",
                "",
                _met(not over),
            ]
        )
        if reused_10m:
            table[-1][0] += " (reused)"
            table[-2][0] += " (reused)"
    booking = load(out_dir, "booking")
    if booking:
        t, race = booking["throughput"], booking["race"]
        # The floor: the bare INSERT under the constraint and the outbox row (same run).
        floor = booking.get("floor", {}).get("bookings_per_second")
        table.append(
            [
                f"bookings, one service process ({t['bookings']} bookings, "
                f"{t['concurrency']} in flight; p95 {_fmt(t['latency_ms']['p95'], ' ms')})",
                "≥ 300 bookings/s, p95 ≤ 100 ms",
                _fmt(t["bookings_per_second"], "/s"),
                f"bare INSERT + outbox row {_fmt(floor, '/s')}" if floor else "—",
                f"{100 * t['bookings_per_second'] / floor:.0f} %" if floor else "",
                _met(t["bookings_per_second"] >= 300 and t["latency_ms"]["p95"] <= 100),
            ]
        )
        table.append(
            [
                f"double bookings under a {race['requests']}-way race",
                "0",
                f"{race['appointments_in_db'] - 1} ({race['status_codes']})",
                "—",
                "",
                _met(race["ok"]),
            ]
        )
    memory = load(out_dir, "memory")
    if memory:
        worst = max(memory["services"], key=lambda s: memory["services"][s]["rss_mib"])
        base = memory["baseline_bare_python"]["rss_mib"]
        each = ", ".join(f"{k} {v['rss_mib']:.0f}" for k, v in memory["services"].items())
        table.append(
            [
                f"idle RSS per service ({each} MiB)",
                "≤ 150 MiB each",
                f"max {_fmt(memory['services'][worst]['rss_mib'])} MiB ({worst})",
                f"bare python + frameworks {_fmt(base)} MiB",
                f"{memory['services'][worst]['rss_mib'] / base:.2f}x",
                _met(memory["all_met"]),
            ]
        )
    if notify:
        m = notify["notify_memory"]
        table.append(
            [
                f"notify memory per open connection ({notify['consoles']} consoles)",
                "≤ 50 KB",
                f"{_fmt(m['kib_per_connection'])} KiB (peak {_fmt(m['peak_kib_per_connection'])})",
                f"RSS {m['rss_before_connections_mib']} → {m['rss_with_connections_mib']} MiB",
                "",
                _met(m["kib_per_connection"] * 1024 <= 50_000),
            ]
        )
    return table, notes


def _report_rows(a: dict[str, Any], calls: str) -> list[list[str]]:
    """The calls report's targets: each grouping's first page without a filter (p95 and
    the same-run GROUP BY), the worst of the roll-up filters, the worst log-only filter."""
    out = []
    for group_by, r in a["reports_one_year"].items():
        api, raw = r["api_rollup_ms"], r["api_call_log_group_by_ms"]
        ratio = raw["p95"] / api["p95"]
        out.append(
            [
                f"calls report group_by={group_by}, one year, {calls} ({r['rows']:,} rows, "
                f"first page {r.get('first_page_rows', r['rows']):,}, {r['rollup_table']})",
                "p95 ≤ 50 ms, ≥ 20x GROUP BY",
                f"p95 {_fmt(api['p95'])} ms (query {_fmt(r['query_rollup_ms']['p95'])})",
                f"GROUP BY call log p95 {_fmt(raw['p95'])} ms",
                f"{ratio:.1f}x faster",
                _met(api["p95"] <= 50 and ratio >= 20),
            ]
        )
        filtered = r.get("filtered") or {}
        if filtered:
            worst = max(filtered, key=lambda k: filtered[k]["api_ms"]["p95"])
            w = filtered[worst]
            least = min(f["api_ratio_p95"] for f in filtered.values())
            verdict = _met(all(f["api_ms"]["p95"] <= 50 for f in filtered.values()) and least >= 20)
            under = [f for f in filtered.values() if f["api_ratio_p95"] < 20]
            floor = a.get("report_floor", {}).get("api_ms", {}).get("p95")
            if (
                under
                and floor
                and all(f["api_call_log_group_by_ms"]["p50"] < 20 * floor for f in under)
            ):
                # 20x faster than such a GROUP BY is under the floor of any answer.
                verdict += (
                    f" ({len(under)} under 20x, each GROUP BY under 20x the floor "
                    f"p95 {_fmt(floor)} ms)"
                )
            out.append(
                [
                    f"… {group_by} with roll-up filters ({len(filtered)} mixes)",
                    "p95 ≤ 50 ms, ≥ 20x GROUP BY",
                    f"worst p95 {_fmt(w['api_ms']['p95'])} ms ({worst})",
                    "GROUP BY call log, same filters",
                    f"least {least:.1f}x faster",
                    verdict,
                ]
            )
        log_only = r.get("call_log_only_filters") or {}
        if log_only:
            worst = max(log_only, key=lambda k: log_only[k]["api_ms"]["p95"])
            p95 = log_only[worst]["api_ms"]["p95"]
            out.append(
                [
                    f"… {group_by} with filters only the call log answers ({len(log_only)})",
                    "p95 ≤ 500 ms",
                    f"worst p95 {_fmt(p95)} ms ({worst})",
                    "—",
                    "",
                    _met(all(f["api_ms"]["p95"] <= 500 for f in log_only.values())),
                ]
            )
    return out


def scaling(out_dir: Path, quick: bool) -> list[str]:
    """Per-event cost at each size: linear when the time per event stays flat."""
    lines = []
    pipelines = sorted(
        (json.loads(p.read_text()) for p in out_dir.glob("telephony-*.json")),
        key=lambda d: d["input"]["raw_events"],
    )
    if pipelines:
        first = 1e6 / pipelines[0]["service"]["events_per_second"]
        lines.append("pipeline (telephony) at 3 sizes:")
        for d in pipelines:
            us, rate = 1e6 / d["service"]["events_per_second"], d["service"]["events_per_second"]
            lines.append(
                f"  {d['input']['raw_events']:>7,} events: {rate:>8,.0f} ev/s, {us:6.0f} µs/event "
                f"(x{us / first:.2f} of the smallest; "
                f"{d['service']['events_per_second_after_startup']:,.0f} ev/s after start-up); "
                f"bare consumer {d['baseline']['events_per_second']:,.0f} ev/s, "
                f"COPY {d['baseline_db_copy']['events_per_second']:,.0f} ev/s"
            )
    webhook = load(out_dir, "webhook")
    if webhook:
        lines.append("webhook ingest at 1x, 2x, 5x the deliveries:")
        for r in webhook["runs"]:
            lines.append(
                f"  {r['deliveries']:>4} deliveries ({r['events']:,} events): "
                f"{r['events_per_second']:>8,.0f} ev/s, 202 p50 {r['latency_ms']['p50']} ms "
                f"p99 {r['latency_ms']['p99']} ms; bare producer "
                f"{r['baseline_events_per_second']:,.0f} ev/s"
            )
    notify = load(out_dir, "notify")
    if notify and "growth" in notify:
        lines.append(
            f"pop-up at every console at 1x, 2x, 5x the calls ({notify['consoles']} consoles):"
        )
        for r in [notify["webhook_to_popup"], *notify["growth"]]:
            ms = r["from_accepted_to_every_console_ms"]
            lines.append(
                f"  {r['rate_per_second']:>5g} calls/s ({r['calls']:,} calls): p50 {ms['p50']} ms, "
                f"p99 {ms['p99']} ms; not at every console {r['calls_not_at_every_console']}"
            )
    booking = load(out_dir, "booking")
    if booking and "growth" in booking:
        lines.append("bookings at 1x, 2x, 5x the requests in flight:")
        for r in [booking["throughput"], *booking["growth"]]:
            lines.append(
                f"  {r['concurrency']:>3} in flight: {r['bookings_per_second']:>6,.1f} /s, "
                f"p50 {r['latency_ms']['p50']} ms, p95 {r['latency_ms']['p95']} ms; "
                f"{r['cpu_ms_per_booking']} ms of the service's CPU per booking"
            )
    runs = [load(out_dir, n) for n in ("analytics-100k", "analytics-1M", "analytics-10M")]
    if not quick and runs[2] is None and ANALYTICS_10M.is_file():
        runs[2] = json.loads(ANALYTICS_10M.read_text())
    runs = [r for r in runs if r]
    if runs:
        lines.append(
            "reports, first page through the API, p95 ms: roll-up / GROUP BY over the call log:"
        )
        for r in runs:
            cells = ", ".join(
                f"{g} {v['api_rollup_ms']['p95']:.0f}/{v['api_call_log_group_by_ms']['p95']:.0f}"
                for g, v in r["reports_one_year"].items()
            )
            lines.append(
                f"  {r['baseline']['calls']:>10,} calls: {cells}; first page "
                f"{r['call_log_ms']['first_page']['p50']} ms; projection "
                f"{r['projection']['events_per_second']:,.0f} ev/s, rebuild "
                f"{r['rebuild']['events_per_second']:,.0f} ev/s"
            )
    return lines


def print_table(table: list[list[str]]) -> None:
    head = ["what", "target", "measured", "baseline (same run)", "ratio", ""]
    widths = [max(len(r[i]) for r in [head, *table]) for i in range(len(head))]
    for r in [head, ["-" * w for w in widths], *table]:
        print(" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, under 5 minutes")
    parser.add_argument(
        "--analytics-10m", action="store_true", help="measure 10 M calls again (~40 min)"
    )
    parser.add_argument("--summary-only", action="store_true", help="print from existing JSON")
    args = parser.parse_args()
    out_dir = RESULTS / "quick" if args.quick else RESULTS
    out_dir.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    status: dict[str, dict[str, Any]] = {}
    if not args.summary_only:
        status = run(plan(args.quick, args.analytics_10m), out_dir)
    table, notes = rows(out_dir, args.quick)
    lines = scaling(out_dir, args.quick)
    m = machine()
    print(
        f"\n=== summary ({'quick' if args.quick else 'full'} run, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {m['nproc']} CPUs {m['cpu_model']}, "
        f"{m['memory']}, Python {m['python']})"
    )
    print_table(table)
    for note in notes:
        print(f"note: {note}")
    print("\n=== how it scales")
    for line in lines:
        print(line)
    failed = [name for name, s in status.items() if s["exit_code"] != 0]
    if failed:
        print(f"\nFAILED: {', '.join(failed)} (see their output above)")
    wall = round(time.monotonic() - began, 1)
    print(f"\nwall time: {wall} s")
    if args.summary_only:
        return 0
    (out_dir / "summary.json").write_text(
        json.dumps(
            {
                "measured_at": datetime.now(UTC).isoformat(),
                "machine": m,
                "quick": args.quick,
                "steps": status,
                "table": table,
                "notes": notes,
                "scaling": lines,
                "wall_seconds": wall,
            },
            indent=2,
            ensure_ascii=False,
        )
        + "\n"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
