"""The benchmark's results as tables, in the layout docs/BENCHMARKS.md shows (Markdown, readable as text).

.venv/bin/python -m tests.benchmarks.table test-artifacts/bench-full.json
"""

import json
import sys
from pathlib import Path
from typing import Any

# Ratios are against the baseline measured in the same run (tests/benchmarks/baseline_app.py):
# on a shared machine only they compare; the requests per second do not.
TARGETS = {
    "read_ratio": 0.8,
    "read_p99_vs_baseline": 1.2,
    "write_ratio": 0.7,
    "write_p99_vs_baseline": 1.5,
    "startup_seconds": 2.0,
    "list_ratio": 0.5,
    "delivery_ratio": 0.25,
    "latency_p50_ms": 100.0,
    "latency_p99_ms": 1000.0,
    "growth": 1.5,
    "report_ms": 1000.0,
    "api_rss_mb": 100.0,
    "worker_rss_mb": 200.0,
}


def _mark(ok: bool) -> str:
    return "met" if ok else "MISSED"


def _n(value: float) -> str:
    return f"{value:,.0f}"


def _cpu(us: float | None) -> str:
    if us is None:
        return "-"
    return f"{us:,.0f} µs" if us < 1000 else f"{us / 1000:.2f} ms"


def render(r: dict[str, Any]) -> str:
    lines: list[str] = []
    add = lines.append
    counts = r["counts"]
    add(
        f"\n## Benchmark, {r['size']} size ({counts['entities']:,} entities, {counts['memberships']:,} memberships, "
        f"{counts['meetings']:,} meetings, {counts['events']:,} events)"
    )
    add(
        f"{r['machine']}; PostgreSQL {r['postgresql']}; {r['wrk']}; {r['seconds_per_measure']:g} s per measure; "
        f"load average at start {r['load_average_at_start']:.1f}; started {r['started_at']}"
    )
    add("")
    best = r["reads"]["best"]
    add("| app | row by id | 50-row page | CPU per by-id request | p99 by id | p99 page | RSS |")
    add("|---|---|---|---|---|---|---|")
    for app, label in (
        ("baseline", "plain Starlette + asyncpg (`tests/benchmarks/baseline_app.py`)"),
        ("registry", "the registry, `registry serve`, with an API key"),
    ):
        b, p = best[app]["row_by_id"], best[app]["page_50"]
        ratio = (
            "" if app == "baseline" else f" ({best['ratio']['row_by_id']:.2f}x)",
            "" if app == "baseline" else f" ({best['ratio']['page_50']:.2f}x)",
        )
        add(
            f"| {label} | {_n(b['rps'])} req/s{ratio[0]} | {_n(p['rps'])} req/s{ratio[1]} | "
            f"{_cpu(b['cpu_us_per_request'])} | {b['p99_ms']:.1f} ms | {p['p99_ms']:.1f} ms | {b['rss_mb']:.0f} MB |"
        )
    add("")
    add("Each figure is the better of two rounds (baseline and registry alternately, a fresh process each).")
    add("")
    add("| measure | result | target | |")
    add("|---|---|---|---|")
    for read, label in (("row_by_id", "row by id"), ("page_50", "50-row page")):
        ratio = best["ratio"][read]
        add(
            f"| reads: {label} | {ratio:.2f}x the baseline | ≥ {TARGETS['read_ratio']}x | "
            f"{_mark(ratio >= TARGETS['read_ratio'])} |"
        )
    for read, label in (("row_by_id", "row by id"), ("page_50", "50-row page")):
        mine, theirs = best["registry"][read]["p99_ms"], best["baseline"][read]["p99_ms"]
        times = mine / max(theirs, 0.001)
        add(
            f"| reads: p99 {label} (32 connections) | {mine:.1f} ms, the baseline's {theirs:.1f} ms = {times:.2f}x | "
            f"≤ {TARGETS['read_p99_vs_baseline']}x the baseline's | {_mark(times <= TARGETS['read_p99_vs_baseline'])} |"
        )
    if "conditional_get" in r:
        c = r["conditional_get"]
        add(
            f"| conditional GET (If-None-Match → 304) | {_n(c['rps'])} req/s, p99 {c['p99_ms']:.1f} ms, "
            f"{_cpu(c['cpu_us_per_request'])} CPU each | (measured apart) | |"
        )
    by_hand = r.get("writes_baseline", {})
    for key, w in r.get("writes", {}).items():
        if not isinstance(w, dict):
            continue
        what, connections = key.rsplit("_c", 1)
        hand = by_hand.get(key)
        if hand is None:  # a run from before the by-hand baseline
            add(
                f"| writes: POST /v1/{what}, {connections} connections | {_n(w['rps'])}/s, p99 {w['p99_ms']:.1f} ms, "
                f"{_cpu(w['cpu_us_per_request'])} CPU each | (no by-hand figure) | |"
            )
            continue
        ratio, times = w["rps"] / max(hand["rps"], 0.001), w["p99_ms"] / max(hand["p99_ms"], 0.001)
        ok = ratio >= TARGETS["write_ratio"] and times <= TARGETS["write_p99_vs_baseline"]
        add(
            f"| writes: POST /v1/{what}, {connections} connections | {_n(w['rps'])}/s vs {_n(hand['rps'])}/s by hand "
            f"= {ratio:.2f}x; p99 {w['p99_ms']:.1f} ms vs {hand['p99_ms']:.1f} ms = {times:.2f}x; "
            f"{_cpu(w['cpu_us_per_request'])} CPU each ({_cpu(hand['cpu_us_per_request'])} by hand) | "
            f"≥ {TARGETS['write_ratio']}x, p99 ≤ {TARGETS['write_p99_vs_baseline']}x by hand | {_mark(ok)} |"
        )
    if "delivery_throughput" in r:
        d = r["delivery_throughput"]
        add(
            f"| webhooks: {d['worker_processes']} worker processes vs a bare httpx loop ({d['webhooks']:,}) | "
            f"{d['workers_per_s']:,.0f}/s vs {d['bare_httpx_per_s']:,.0f}/s = {d['ratio']:.2f}x | ≥ 0.25x | "
            f"{_mark(d['ratio'] >= TARGETS['delivery_ratio'])} |"
        )
    if "delivery_latency" in r:
        d = r["delivery_latency"]
        ok = d["p50_ms"] < TARGETS["latency_p50_ms"] and d["p99_ms"] < TARGETS["latency_p99_ms"]
        add(
            f"| commit → receipt at {d['events_per_s']:.0f} events/s (written at "
            f"{d.get('events_per_s_achieved', 0):.0f}/s) | p50 {d['p50_ms']:.0f} ms, p99 {d['p99_ms']:.0f} ms"
            f" | p50 < 100 ms, p99 < 1 s | {_mark(ok)} |"
        )
    for name, t in r.get("reports", {}).items():
        label = name.replace("_", " ")
        add(
            f"| {label} (global network) | {t['median_ms']:,.0f} ms (max {t['max_ms']:,.0f}) | < 1 s | "
            f"{_mark(t['median_ms'] < TARGETS['report_ms'])} |"
        )
    if r.get("writes", {}).get("events_left_to_relay"):
        add(
            f"| writes: events the relay had not published 10 s after the writes | "
            f"{r['writes']['events_left_to_relay']:,} | | |"
        )
    if "sweep" in r:
        add(f"| scheduler's sweep (all sweeps once) | {r['sweep']['median_ms']:.1f} ms | | |")
    if "growth" in r:
        g = r["growth"]
        source = g["full"].get("source", "this run")
        for name, factor in g["slowdown"].items():
            add(
                f"| growth small → full: {name.replace('_', ' ')} | {factor:.2f}x slower (full: {source}) | ≤ 1.5x | "
                f"{_mark(factor <= TARGETS['growth'])} |"
            )
    if "memory" in r:
        m = r["memory"]
        add(
            f"| memory: API peak RSS under load | {m['api_peak_rss_mb']:.0f} MB | < {TARGETS['api_rss_mb']:.0f} MB | "
            f"{_mark(m['api_peak_rss_mb'] < TARGETS['api_rss_mb'])} |"
        )
        add(
            f"| memory: worker process peak RSS | {m['worker_peak_rss_mb']:.0f} MB | < 200 MB | "
            f"{_mark(m['worker_peak_rss_mb'] < TARGETS['worker_rss_mb'])} |"
        )
    if "startup" in r:
        st = r["startup"]
        ready = st["best_ready_seconds"]
        add(
            f"| start-up: `registry serve` to its first answer (best of {len(st['starts'])}) | {ready:.2f} s; "
            f"{min(x['cpu_seconds'] for x in st['starts']):.2f} s of CPU; importing the API "
            f"{st['imports'].get('cpu_seconds', 0):.2f} s of CPU | < {TARGETS['startup_seconds']:g} s | "
            f"{_mark(ready < TARGETS['startup_seconds'])} |"
        )
    if r.get("lists"):
        timing = r.get("lists_seconds", {})
        add("")
        add(
            f"Every list route at its default page size against a by-hand query of the same rows "
            f"(`baseline_app.LIST_QUERIES`), 16 connections, {timing.get('each', 2)} s each "
            f"(fewer at the small size: the whole table took {timing.get('took', '?')} s; "
            f"target ≥ {TARGETS['list_ratio']}x):"
        )
        add("")
        add("| list route | registry | by hand | ratio | |")
        add("|---|---|---|---|---|")
        for name, lst in r["lists"].items():
            add(
                f"| {name} (`{lst['path'].split('?')[0]}`) | {_n(lst['registry']['rps'])} req/s | "
                f"{_n(lst['baseline']['rps'])} req/s | {lst['ratio']:.2f}x | {_mark(lst['ratio'] >= TARGETS['list_ratio'])} |"
            )
    generated = r.get("generated_seconds")
    add("")
    add(
        f"Data generated in {generated:.0f} s; measured in {r.get('measure_seconds', 0):.0f} s; "
        f"the whole run {r.get('total_seconds', 0):.0f} s."
        if generated is not None
        else f"Data reused; measured in {r.get('measure_seconds', 0):.0f} s; the whole run "
        f"{r.get('total_seconds', 0):.0f} s."
    )
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(json.loads(Path(sys.argv[1]).read_text())))
