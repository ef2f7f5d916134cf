#!/usr/bin/python3
"""The benchmark's report: run.sh's result files -> the table, the ratios, one
line per target of issue 5, and BENCH.md. Reads results only; measures nothing.

  report.py RESULTS_DIR --out BENCH.md [--history DIR]

RESULTS_DIR holds meta.json, kam-bench's JSON (kam-read-cN.json, ...,
list-p1.json, list-deep.json, hold.json) and pgbench's summaries
(pg-read-cN.json, pg-update-cN.json, bouncer-cN.json). --history keeps the
audited-read rate per data-set size, for the growth target (1M against 10k).
"""

import argparse
import json
import os
import sys

# Issue 5's targets: name -> (goal, comparison, what it measures).
GOAL_READ_VS_NAIVE = 2.0
GOAL_READ_VS_BOUNCER = 0.7
GOAL_UPDATE_VS_NAIVE = 1.5
GOAL_READ_P99_MS = 10.0
GOAL_GROWTH = 0.9
GOAL_LIST_DEEP = 0.9          # "as fast as page 1", within 10 %
GOAL_IDLE_KIB = 64.0
GOAL_FLAT_PCT = 5.0           # RSS growth over the run
FLAT_SECONDS = 600
PERF_LINES = 15               # lines of each perf summary in the report
TARGET_CLIENTS = 32
GROWTH_BASE = 10000
GROWTH_SIZE = 1000000


def load(res, name):
    path = os.path.join(res, name + ".json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def kam_op(doc, op):
    return (doc or {}).get("ops", {}).get(op)


def fmt(v, spec=".1f"):
    return "-" if v is None else format(v, spec)


def fmt_ratio(v):
    """Two decimals, three below 0.1 (a ratio of 0.004 is not 0.00)."""
    return "-" if v is None else format(v, ".3f" if v < 0.1 else ".2f")


def ratio(a, b):
    return a / b if a is not None and b else None


class Report:
    def __init__(self, res, history):
        self.res = res
        self.history = history
        self.meta = load(res, "meta")
        self.clients = self.meta["clients"]
        self.tc = TARGET_CLIENTS if TARGET_CLIENTS in self.clients else max(self.clients)
        self.rows = []       # (clients, test, rps, p50, p99, avg, errors, kamd cpu %, kam-bench cpu %)
        self.targets = []    # lines

    # ---- the table ----

    def collect(self):
        for c in self.clients:
            for name, label, op in (("kam-read", "kam-bench audited read", "read"),
                                    ("kam-update", "kam-bench update (before/after audit)", "update"),
                                    ("kam-mix", "kam-bench mix read/update/list 70/20/10", None)):
                doc = load(self.res, f"{name}-c{c}")
                s = (doc or {}).get("total") if op is None else kam_op(doc, op)
                cpu = (doc or {}).get("cpu_pct") or {}
                if s:
                    self.rows.append((c, label, s["rps"], s["p50_ms"], s["p99_ms"], s["mean_ms"], s["errors"],
                                      cpu.get("server"), cpu.get("client")))
            for name, label in (("pg-read", "pgbench naive read (kamd's SQL, 1 xact)"),
                                ("pg-update", "pgbench naive update (kamd's SQL, 1 xact)"),
                                ("bouncer", "pgbench -S via PgBouncer (transaction)")):
                doc = load(self.res, f"{name}-c{c}")
                if doc:
                    self.rows.append((c, label, doc["tps"], None, None, doc["latency_avg_ms"], doc["failed"], None,
                                      None))

    def rate(self, name, c, op=None):
        doc = load(self.res, f"{name}-c{c}")
        if doc is None:
            return None
        if op:
            s = kam_op(doc, op)
            return s["rps"] if s else None
        return doc.get("tps")

    def ratios(self, c):
        return {
            "read / naive": ratio(self.rate("kam-read", c, "read"), self.rate("pg-read", c)),
            "read / PgBouncer -S": ratio(self.rate("kam-read", c, "read"), self.rate("bouncer", c)),
            "update / naive": ratio(self.rate("kam-update", c, "update"), self.rate("pg-update", c)),
        }

    # ---- the targets ----

    def target(self, name, value, goal, ok, unit="", why=None):
        g = f"goal {goal}"
        if value is None:
            self.targets.append(f"target {name}: not measured ({g}){': ' + why if why else ''}")
        else:
            self.targets.append(f"target {name}: {fmt_ratio(value)}{unit} ({g}) {'met' if ok(value) else 'missed'}"
                                + (f": {why}" if why else ""))

    def judge(self):
        c = self.tc
        r = self.ratios(c)
        self.target(f"reads_{c}_vs_naive_pgbench", r["read / naive"], f">= {GOAL_READ_VS_NAIVE}x",
                    lambda v: v >= GOAL_READ_VS_NAIVE, "x")
        self.target(f"reads_{c}_vs_pgbouncer", r["read / PgBouncer -S"], f">= {GOAL_READ_VS_BOUNCER}x",
                    lambda v: v >= GOAL_READ_VS_BOUNCER, "x")
        self.target(f"updates_{c}_vs_naive_pgbench", r["update / naive"], f">= {GOAL_UPDATE_VS_NAIVE}x",
                    lambda v: v >= GOAL_UPDATE_VS_NAIVE, "x")
        read = kam_op(load(self.res, f"kam-read-c{c}"), "read")
        self.target(f"read_p99_ms_{c}", read["p99_ms"] if read else None, f"< {GOAL_READ_P99_MS:g} ms",
                    lambda v: v < GOAL_READ_P99_MS, " ms")
        self.judge_growth(read)
        p1, deep = kam_op(load(self.res, "list-p1"), "list"), kam_op(load(self.res, "list-deep"), "list")
        page = self.meta["list_page"]
        self.target(f"list_page_{page}_vs_page_1", ratio(deep and deep["rps"], p1 and p1["rps"]),
                    f">= {GOAL_LIST_DEEP}x", lambda v: v >= GOAL_LIST_DEEP, "x",
                    None if page >= 1000 else f"the book has {page} pages of 50, so its last page stands in")
        hold = (load(self.res, "hold") or {}).get("hold") or {}
        per = hold.get("per_connection_bytes")
        self.target(f"idle_tls_connection_kib_{hold.get('connections', self.meta['hold'])}",
                    per / 1024 if per is not None else None, f"< {GOAL_IDLE_KIB:g} KiB",
                    lambda v: v < GOAL_IDLE_KIB, " KiB", None if per is not None else "run with --hold 5000")
        self.judge_flat(c)

    def judge_growth(self, read):
        size = self.meta["accounts"]
        if read and self.history:
            os.makedirs(self.history, exist_ok=True)
            with open(os.path.join(self.history, f"{size}.json"), "w") as f:
                json.dump({"accounts": size, "clients": self.tc, "read_rps": read["rps"], "date": self.meta["date"]},
                          f)
        base = None
        path = os.path.join(self.history or "", f"{GROWTH_BASE}.json")
        if self.history and os.path.exists(path):
            with open(path) as f:
                base = json.load(f)
        if size >= GROWTH_SIZE and base and read and base.get("clients") == self.tc:
            self.target("growth_1m_vs_10k", read["rps"] / base["read_rps"], f">= {GOAL_GROWTH}x",
                        lambda v: v >= GOAL_GROWTH, "x", f"against the 10k run of {base['date']}")
        else:
            self.target("growth_1m_vs_10k", None, f">= {GOAL_GROWTH}x", None,
                        why="run --accounts 10000, then --accounts 1000000 (same --clients)")

    def judge_flat(self, c):
        # The soak run when there was one (--soak), else the audited reads.
        soak = self.meta.get("soak", 0)
        doc = (load(self.res, f"soak-c{c}") if soak else None) or load(self.res, f"kam-read-c{c}") or {}
        rss = doc.get("server_rss_kib") or {}
        start, end = rss.get("start"), rss.get("end")
        secs = soak if soak and load(self.res, f"soak-c{c}") else self.meta["seconds"]
        if not start or end is None:
            self.target("memory_flat_pct", None, f"< {GOAL_FLAT_PCT:g} % over {FLAT_SECONDS} s", None)
            return
        growth = (end - start) * 100.0 / start
        if secs < FLAT_SECONDS:
            self.targets.append(f"target memory_flat_pct: not measured (goal < {GOAL_FLAT_PCT:g} % over "
                                f"{FLAT_SECONDS} s): {growth:+.1f} % over {secs} s ({start} -> {end} KiB); "
                                f"run with --soak {FLAT_SECONDS}")
        else:
            self.target("memory_flat_pct", growth, f"< {GOAL_FLAT_PCT:g} % over {FLAT_SECONDS} s",
                        lambda v: v < GOAL_FLAT_PCT, " %")

    # ---- output ----

    def text(self):
        out = [f"{'clients':>7}  {'test':<42} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'avg ms':>8} {'errors':>7}"
               f" {'kamd cpu%':>9} {'bench cpu%':>10}"]
        for c, label, rps, p50, p99, avg, err, scpu, ccpu in self.rows:
            out.append(f"{c:>7}  {label:<42} {fmt(rps):>9} {fmt(p50, '.2f'):>8} {fmt(p99, '.2f'):>8} "
                       f"{fmt(avg, '.2f'):>8} {int(err or 0):>7} {fmt(scpu, '.0f'):>9} {fmt(ccpu, '.0f'):>10}")
        out.append("")
        for c in self.clients:
            out.append(f"ratios at {c} clients: " + ", ".join(f"{k} {fmt_ratio(v)}x" for k, v in self.ratios(c).items()))
        for name, doc in (("list page 1", "list-p1"), (f"list page {self.meta['list_page']}", "list-deep")):
            s = kam_op(load(self.res, doc), "list")
            if s:
                out.append(f"{name} as the GM, {self.clients[0]} clients: {s['rps']:.1f} req/s, p99 {s['p99_ms']:.2f} ms")
        return "\n".join(out)

    def perf_lines(self, name, n):
        path = os.path.join(self.res, name)
        if not os.path.exists(path):
            return []
        with open(path) as f:
            rows = [line.rstrip() for line in f if line.strip() and not line.startswith("#")]
        return rows[:n]

    def profile(self):
        """The perf summaries run.sh --perf left, as text; empty without them."""
        parts = []
        for name, title in (("perf-comm.txt", "CPU by process (kamd, kam-bench and the cluster's processes only)"),
                            ("perf-kamd.txt", "kamd: where its CPU goes (share of kamd's samples)"),
                            ("perf-postgres.txt", "PostgreSQL backends (share of their samples)")):
            lines = self.perf_lines(name, PERF_LINES)
            if lines:
                parts += [f"{title}:", *lines, ""]
        return "\n".join(parts).rstrip()

    def markdown(self, table):
        m = self.meta
        mc = m["machine"]
        lines = [
            "# KAM benchmark results",
            "",
            f"Latest run of `tests/bench/run.sh --accounts {m['accounts']} --seconds {m['seconds']} "
            f"--clients {','.join(map(str, m['clients']))}`{'' if m['watch'] else ' --no-watch'}"
            f"{'' if m['fsync'] else ' --no-fsync'}, {m['date']}, commit `{m['commit'][:12]}`.",
            "",
            f"- machine: {mc['cpu']}, {mc['cores']} cores, {mc['memory']}, Linux {mc['kernel']}, Debian {mc['debian']}",
            f"- PostgreSQL {m['postgresql']} (fsync {'on' if m['fsync'] else 'off'}), PgBouncer {m['pgbouncer']}; "
            f"kamd Release, db_pool_size {m['pool']}, PgBouncer pool {m['pool']}; "
            f"bulk-read watch {'on' if m['watch'] else 'off'}",
            f"- data set: {m['accounts']} accounts, {m['juniors']} junior reps (generated in {m['generation_s']} s); "
            f"each run {m['seconds']} s after a 1 s warm-up; kam-bench and pgbench each on one thread on the same machine",
        ]
        if m.get("note"):
            lines.append(f"- note: {m['note']}")
        lines += ["", "```", table, "```", "", "## Targets (issue 5)", "", "```", *self.targets, "```", ""]
        prof = self.profile()
        if prof:
            lines += [f"## Where the time goes (perf, audited reads at {self.tc} clients)", "", "```", prof, "```", ""]
        lines += ["Reproduce with `tests/bench/run.sh` (see `tests/bench/README.md`).", ""]
        return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results")
    ap.add_argument("--out", required=True)
    ap.add_argument("--history")
    a = ap.parse_args()
    r = Report(a.results, a.history)
    r.collect()
    r.judge()
    table = r.text()
    print(table)
    print()
    print("\n".join(r.targets))
    prof = r.profile()
    if prof:
        print()
        print(prof)
    with open(a.out, "w") as f:
        f.write(r.markdown(table))
    print(f"\nwrote {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
