"""Reference answers for liveops' analytics, from DuckDB and ClickHouse (chdb).

Reads events exported by `liveops analytics export` (Parquet with columns
uuid, event, distinct_id, person_id, timestamp_ms, ...) and prints JSON with
the same measures liveops computes, each from plain SQL:

- funnel: ClickHouse `windowFunnel` levels (chdb), and the per-step counts
  they imply;
- dau / wau / mau per day and weekly first-time retention (DuckDB SQL);
- the sum and p95 of a property per day, MRR with its movements, and the
  web overview (sessions by `$session_id` or 30 minutes without a view,
  bounce rate, durations, top, entry and exit pages, UTM sources), in both.

With --time it also times each query (best of --repeat runs), for the
benchmark. Both engines are limited to --threads threads.
"""

import argparse
import json
import time


# A page view's page as liveops reads it: `$pathname`, else the path of
# `$current_url` without its query or fragment, else `(unknown)`.
DUCK_PAGE = """coalesce(nullif(trim(json_extract_string(properties, '$."$pathname"')), ''),
    CASE WHEN nullif(trim(json_extract_string(properties, '$."$current_url"')), '') IS NULL THEN '(unknown)'
    ELSE coalesce(nullif(regexp_extract(trim(json_extract_string(properties, '$."$current_url"')),
        '^(?:[^:/?#]*://)?[^/?#]*(/[^?#]*)?', 1), ''), '/') END)"""
CH_PAGE = """if(trim(JSONExtractString(assumeNotNull(properties), '$pathname')) != '',
    trim(JSONExtractString(assumeNotNull(properties), '$pathname')),
    if(trim(JSONExtractString(assumeNotNull(properties), '$current_url')) = '', '(unknown)',
       if(extract(trim(JSONExtractString(assumeNotNull(properties), '$current_url')),
              '^(?:[^:/?#]*://)?[^/?#]*(/[^?#]*)?') = '', '/',
          extract(trim(JSONExtractString(assumeNotNull(properties), '$current_url')),
              '^(?:[^:/?#]*://)?[^/?#]*(/[^?#]*)?'))))"""


def best_of(repeat, fn):
    best, result = None, None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        took = time.perf_counter() - t
        best = took if best is None or took < best else best
    return best, result


def main():
    p = argparse.ArgumentParser()
    p.add_argument("parquet")
    p.add_argument("--steps", required=True, help="comma-separated funnel events")
    p.add_argument("--window-secs", type=int, default=14 * 86400)
    p.add_argument("--from-ms", type=int, required=True)
    p.add_argument("--to-ms", type=int, required=True)
    p.add_argument("--retention-event", required=True)
    p.add_argument("--retention-from-ms", type=int, required=True)
    p.add_argument("--periods", type=int, default=8)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--engines", default="duckdb,chdb")
    p.add_argument("--load-table", action="store_true",
                   help="load the Parquet file into each engine's own table first (benchmark)")
    p.add_argument("--mrr-to-ms", type=int, default=None,
                   help="also time MRR with its movements per month up to this time")
    p.add_argument("--web", action="store_true",
                   help="also time the web overview of [from, to)")
    args = p.parse_args()
    steps = args.steps.split(",")
    out = {"timings": {}}
    engines = args.engines.split(",")
    day = 86_400_000

    if "duckdb" in engines:
        import duckdb

        con = duckdb.connect()
        con.execute(f"SET threads = {args.threads}")
        src = f"read_parquet('{args.parquet}')"
        if args.load_table:
            con.execute(
                f"""CREATE TABLE ev AS SELECT person_id, event, timestamp_ms,
                    TRY_CAST(json_extract_string(properties, '$.amount') AS DOUBLE) AS amount,
                    json_extract_string(properties, '$.subscription_id') AS sub_id,
                    json_extract_string(properties, '$.interval') AS sub_interval,
                    {DUCK_PAGE} AS page,
                    nullif(trim(json_extract_string(properties, '$."$session_id"')), '') AS sid,
                    nullif(trim(json_extract_string(properties, '$.utm_source')), '') AS utm_source
                    FROM {src} ORDER BY timestamp_ms"""
            )
            src = "ev"
        f, t = args.from_ms, args.to_ms
        first_day, last_day = f // day, (t - 1) // day

        def dau():
            return con.execute(
                f"""SELECT timestamp_ms // {day} AS d, count(DISTINCT person_id)
                    FROM {src} WHERE timestamp_ms >= {f} AND timestamp_ms < {t}
                    GROUP BY d ORDER BY d"""
            ).fetchall()

        def window(width):
            # Distinct persons over the `width` days ending on each day.
            return con.execute(
                f"""WITH days AS (SELECT range AS d FROM range({first_day}, {last_day + 1})),
                    act AS (SELECT DISTINCT person_id, timestamp_ms // {day} AS d FROM {src}
                            WHERE timestamp_ms >= {(first_day - width + 1) * day} AND timestamp_ms < {t})
                    SELECT days.d, count(DISTINCT act.person_id) FROM days
                    LEFT JOIN act ON act.d BETWEEN days.d - {width - 1} AND days.d
                    GROUP BY days.d ORDER BY days.d"""
            ).fetchall()

        week0 = ((args.retention_from_ms // day) + 3) // 7
        ev = args.retention_event.replace("'", "''")
        n = args.periods

        def retention():
            # First-time weekly cohorts (Monday weeks), "on" each later week.
            return con.execute(
                f"""WITH e AS (SELECT person_id, ((timestamp_ms // {day}) + 3) // 7 AS w
                               FROM {src} WHERE event = '{ev}'),
                    firsts AS (SELECT person_id, min(w) AS c FROM e GROUP BY person_id),
                    cohort AS (SELECT * FROM firsts WHERE c >= {week0} AND c < {week0 + n}),
                    back AS (SELECT DISTINCT person_id, w FROM e WHERE w >= {week0} AND w < {week0 + n})
                    SELECT cohort.c - {week0} AS c, back.w - cohort.c AS k, count(*)
                    FROM cohort JOIN back USING (person_id)
                    WHERE back.w >= cohort.c GROUP BY ALL ORDER BY 1, 2"""
            ).fetchall()

        timed = {}
        timed["dau"], rows = best_of(args.repeat, dau)
        got = {d: c for d, c in rows}
        out["dau"] = [got.get(d, 0) for d in range(first_day, last_day + 1)]
        timed["wau"], rows = best_of(args.repeat, lambda: window(7))
        out["wau"] = [c for _, c in rows]
        timed["mau"], rows = best_of(args.repeat, lambda: window(30))
        out["mau"] = [c for _, c in rows]
        timed["retention"], rows = best_of(args.repeat, retention)
        table = [[0] * (n - c) for c in range(n)]
        for c, k, cnt in rows:
            if 0 <= c < n and 0 <= k < n - c:
                table[c][k] = cnt
        out["retention"] = table

        def first_entry_funnel():
            # The usual SQL funnel: each person's first step-1 event, then
            # the first of each later step after the one before, in the window.
            conds = []
            sql = f"""WITH s0 AS (SELECT person_id, min(timestamp_ms) AS t0 FROM {src}
                      WHERE event = '{steps[0]}' AND timestamp_ms >= {f} AND timestamp_ms < {t}
                      GROUP BY person_id)"""
            prev = "s0"
            for i, step in enumerate(steps[1:], start=1):
                sql += f""", s{i} AS (SELECT p.person_id, p.t0, min(e.timestamp_ms) AS t{i}
                          FROM {prev} p JOIN {src} e ON e.person_id = p.person_id
                          AND e.event = '{step}' AND e.timestamp_ms >= p.t{i - 1}
                          AND e.timestamp_ms <= p.t0 + {args.window_secs * 1000} AND e.timestamp_ms < {t}
                          GROUP BY p.person_id, p.t0)"""
                prev = f"s{i}"
            sql += " SELECT " + ", ".join(f"(SELECT count(*) FROM s{i})" for i in range(len(steps)))
            return con.execute(sql).fetchone()

        amount = "amount" if args.load_table else "TRY_CAST(json_extract_string(properties, '$.amount') AS DOUBLE)"

        def per_day(agg):
            return con.execute(
                f"""SELECT timestamp_ms // {day} AS d, {agg}
                    FROM (SELECT timestamp_ms, {amount} AS amount FROM {src}
                          WHERE event = 'purchased' AND timestamp_ms >= {f} AND timestamp_ms < {t})
                    GROUP BY d ORDER BY d"""
            ).fetchall()

        timed["sum_per_day"], rows = best_of(args.repeat, lambda: per_day("sum(amount)"))
        out["duckdb_amount_total"] = round(sum(v or 0 for _, v in rows), 2)
        timed["p95_per_day"], _ = best_of(args.repeat, lambda: per_day("quantile_cont(amount, 0.95)"))

        if args.mrr_to_ms is not None:
            sub_id = "sub_id" if args.load_table else "json_extract_string(properties, '$.subscription_id')"
            sub_interval = "sub_interval" if args.load_table else "json_extract_string(properties, '$.interval')"

            def mrr():
                # Each event's change of its subscription's monthly amount,
                # each customer's MRR before and after it, and whether they
                # had MRR before; then the movements per month and the
                # running MRR.
                return con.execute(
                    f"""WITH s AS (
                          SELECT person_id AS c, coalesce({sub_id}, '') AS sid, timestamp_ms AS ts,
                                 CASE WHEN event = 'subscription_cancelled' THEN 0.0
                                      ELSE {amount} / CASE {sub_interval} WHEN 'year' THEN 12.0 ELSE 1.0 END
                                 END AS v
                          FROM {src}
                          WHERE event IN ('subscription_started', 'subscription_changed', 'subscription_cancelled')
                            AND timestamp_ms < {args.mrr_to_ms}),
                        d AS (SELECT c, ts, v - coalesce(lag(v) OVER (PARTITION BY c, sid ORDER BY ts), 0) AS delta FROM s),
                        t AS (SELECT c, ts, delta,
                                     sum(delta) OVER (PARTITION BY c ORDER BY ts ROWS UNBOUNDED PRECEDING) AS after
                              FROM d),
                        k AS (SELECT ts, delta, after, after - delta AS before,
                                     coalesce(max(CASE WHEN after > 1e-9 THEN 1 ELSE 0 END) OVER (
                                         PARTITION BY c ORDER BY ts
                                         ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS had
                              FROM t),
                        m AS (SELECT date_trunc('month', make_timestamp(ts * 1000)) AS month,
                                 sum(CASE WHEN before <= 1e-9 AND after > 1e-9 AND had = 0 THEN delta ELSE 0 END) AS new,
                                 sum(CASE WHEN before <= 1e-9 AND after > 1e-9 AND had = 1 THEN delta ELSE 0 END) AS reactivation,
                                 sum(CASE WHEN before > 1e-9 AND after > 1e-9 AND delta > 0 THEN delta ELSE 0 END) AS expansion,
                                 sum(CASE WHEN before > 1e-9 AND after > 1e-9 AND delta < 0 THEN delta ELSE 0 END) AS contraction,
                                 sum(CASE WHEN before > 1e-9 AND after <= 1e-9 THEN delta ELSE 0 END) AS churn,
                                 sum(delta) AS net
                              FROM k GROUP BY month)
                        SELECT month, new, expansion, contraction, churn, reactivation,
                               sum(net) OVER (ORDER BY month) AS mrr
                        FROM m ORDER BY month"""
                ).fetchall()

            timed["mrr"], rows = best_of(args.repeat, mrr)
            out["duckdb_mrr_last"] = round(rows[-1][6], 2) if rows else None

        if args.web:
            page = "page" if args.load_table else DUCK_PAGE
            sid = "sid" if args.load_table else "nullif(trim(json_extract_string(properties, '$.\"$session_id\"')), '')"
            utm = "utm_source" if args.load_table else "nullif(trim(json_extract_string(properties, '$.utm_source')), '')"

            def web():
                # Sessions per person: a new one where the session id
                # changes, or, without ids, after 30 minutes; a session's
                # entry and UTM source are its first view's.
                return con.execute(
                    f"""WITH v AS (SELECT person_id AS who, timestamp_ms AS t, {page} AS page,
                                   {sid} AS sid, {utm} AS utm FROM {src}
                                   WHERE event = '$pageview' AND timestamp_ms >= {f} AND timestamp_ms < {t}),
                        s AS (SELECT *, CASE WHEN lag(t) OVER w IS NULL THEN 1
                                   WHEN sid IS NOT NULL AND lag(sid) OVER w IS NOT NULL
                                        THEN (sid <> lag(sid) OVER w)::INT
                                   ELSE (t - lag(t) OVER w > 1800000)::INT END AS starts
                              FROM v WINDOW w AS (PARTITION BY who ORDER BY t)),
                        n AS (SELECT *, sum(starts) OVER (PARTITION BY who ORDER BY t
                                  ROWS UNBOUNDED PRECEDING) AS sno FROM s),
                        sess AS MATERIALIZED (SELECT who, sno, max(t) - min(t) AS dur, count(*) AS views,
                                  arg_min(page, t) AS entry, arg_max(page, t) AS exit,
                                  coalesce(arg_min(utm, t), '(none)') AS utm FROM n GROUP BY who, sno),
                        top AS (SELECT 'page' AS k, page AS value, count(*) AS c, count(DISTINCT who) AS w
                                  FROM v GROUP BY page
                                UNION ALL SELECT 'entry', entry, count(*), count(DISTINCT who) FROM sess GROUP BY entry
                                UNION ALL SELECT 'exit', exit, count(*), count(DISTINCT who) FROM sess GROUP BY exit
                                UNION ALL SELECT 'utm_source', utm, count(*), count(DISTINCT who) FROM sess GROUP BY utm),
                        ranked AS (SELECT *, row_number() OVER (PARTITION BY k ORDER BY c DESC, value) AS r FROM top)
                    SELECT 'summary', NULL, (SELECT count(DISTINCT who) FROM v), (SELECT count(*) FROM v),
                           count(*), avg((views = 1)::INT), avg(dur), median(dur) FROM sess
                    UNION ALL SELECT k, value, c, w, NULL, NULL, NULL, NULL FROM ranked WHERE r <= 10"""
                ).fetchall()

            timed["web"], rows = best_of(args.repeat, web)
            summary = next(r for r in rows if r[0] == "summary")
            out["duckdb_web"] = {"visitors": summary[2], "page_views": summary[3],
                                 "sessions": summary[4], "bounce_rate": round(summary[5], 6)}

        timed["first_entry_funnel"], row = best_of(args.repeat, first_entry_funnel)
        out["duckdb_first_entry_funnel"] = list(row)
        out["timings"]["duckdb"] = timed

    if "chdb" in engines:
        import chdb
        from chdb import session

        s = session.Session()
        s.query(f"SET max_threads = {args.threads}")
        src = f"file('{args.parquet}', Parquet)"
        if args.load_table:
            s.query("CREATE DATABASE IF NOT EXISTS bench")
            s.query(
                f"""CREATE TABLE bench.ev ENGINE = MergeTree ORDER BY (person_id, timestamp_ms)
                    AS SELECT assumeNotNull(person_id) AS person_id, assumeNotNull(event) AS event,
                    assumeNotNull(timestamp_ms) AS timestamp_ms,
                    toFloat64OrNull(JSONExtractRaw(assumeNotNull(properties), 'amount')) AS amount,
                    JSONExtractString(assumeNotNull(properties), 'subscription_id') AS sub_id,
                    JSONExtractString(assumeNotNull(properties), 'interval') AS sub_interval,
                    {CH_PAGE} AS page,
                    trim(JSONExtractString(assumeNotNull(properties), '$session_id')) AS sid,
                    trim(JSONExtractString(assumeNotNull(properties), 'utm_source')) AS utm_source
                    FROM {src}"""
            )
            src = "bench.ev"
        conds = ", ".join(f"event = '{e}'" for e in steps)

        def funnel():
            r = s.query(
                f"""SELECT level, count() FROM (
                      SELECT person_id, windowFunnel({args.window_secs})(
                          toDateTime(intDiv(timestamp_ms, 1000)), {conds}) AS level
                      FROM {src}
                      WHERE timestamp_ms >= {args.from_ms} AND timestamp_ms < {args.to_ms}
                      GROUP BY person_id)
                    GROUP BY level ORDER BY level""",
                "JSONCompact",
            )
            return json.loads(r.bytes())["data"]

        def dau():
            r = s.query(
                f"""SELECT intDiv(timestamp_ms, {day}) AS d, uniqExact(person_id) FROM {src}
                    WHERE timestamp_ms >= {args.from_ms} AND timestamp_ms < {args.to_ms}
                    GROUP BY d ORDER BY d""",
                "JSONCompact",
            )
            return json.loads(r.bytes())["data"]

        def retention():
            week0 = ((args.retention_from_ms // day) + 3) // 7
            ev = args.retention_event.replace("'", "\\'")
            n = args.periods
            r = s.query(
                f"""WITH e AS (SELECT person_id, intDiv(intDiv(timestamp_ms, {day}) + 3, 7) AS w
                               FROM {src} WHERE event = '{ev}'),
                    firsts AS (SELECT person_id, min(w) AS c FROM e GROUP BY person_id),
                    cohort AS (SELECT * FROM firsts WHERE c >= {week0} AND c < {week0 + n}),
                    back AS (SELECT DISTINCT person_id, w FROM e WHERE w >= {week0} AND w < {week0 + n})
                    SELECT cohort.c - {week0} AS c, back.w - cohort.c AS k, count()
                    FROM cohort INNER JOIN back USING (person_id)
                    WHERE back.w >= cohort.c GROUP BY c, k ORDER BY c, k""",
                "JSONCompact",
            )
            return json.loads(r.bytes())["data"]

        amount = "amount" if args.load_table else "toFloat64OrNull(JSONExtractRaw(properties, 'amount'))"

        def per_day(agg):
            r = s.query(
                f"""SELECT intDiv(timestamp_ms, {day}) AS d, {agg} FROM
                    (SELECT timestamp_ms, {amount} AS amount FROM {src}
                     WHERE event = 'purchased' AND timestamp_ms >= {args.from_ms} AND timestamp_ms < {args.to_ms})
                    GROUP BY d ORDER BY d""",
                "JSONCompact",
            )
            return json.loads(r.bytes())["data"]

        timed = {}
        timed["sum_per_day"], _ = best_of(args.repeat, lambda: per_day("sum(amount)"))
        timed["p95_per_day"], _ = best_of(args.repeat, lambda: per_day("quantile(0.95)(amount)"))
        if args.mrr_to_ms is not None:
            sub_id = "sub_id" if args.load_table else "JSONExtractString(properties, 'subscription_id')"
            sub_interval = "sub_interval" if args.load_table else "JSONExtractString(properties, 'interval')"

            def mrr():
                r = s.query(
                    f"""WITH s AS (
                          SELECT person_id AS c, {sub_id} AS sid, timestamp_ms AS ts,
                                 if(event = 'subscription_cancelled', 0.0,
                                    {amount} / if({sub_interval} = 'year', 12.0, 1.0)) AS v
                          FROM {src}
                          WHERE event IN ('subscription_started', 'subscription_changed', 'subscription_cancelled')
                            AND timestamp_ms < {args.mrr_to_ms}),
                        d AS (SELECT c, ts, v - lagInFrame(v, 1, 0.) OVER (PARTITION BY c, sid ORDER BY ts
                                  ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS delta FROM s),
                        t AS (SELECT c, ts, delta,
                                     sum(delta) OVER (PARTITION BY c ORDER BY ts ROWS UNBOUNDED PRECEDING) AS after
                              FROM d),
                        k AS (SELECT ts, delta, after, after - delta AS before,
                                     max(after > 1e-9) OVER (PARTITION BY c ORDER BY ts
                                         ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS had
                              FROM t),
                        m AS (SELECT toStartOfMonth(toDateTime(intDiv(ts, 1000), 'UTC')) AS month,
                                 sumIf(delta, before <= 1e-9 AND after > 1e-9 AND had = 0) AS new,
                                 sumIf(delta, before <= 1e-9 AND after > 1e-9 AND had = 1) AS reactivation,
                                 sumIf(delta, before > 1e-9 AND after > 1e-9 AND delta > 0) AS expansion,
                                 sumIf(delta, before > 1e-9 AND after > 1e-9 AND delta < 0) AS contraction,
                                 sumIf(delta, before > 1e-9 AND after <= 1e-9) AS churn,
                                 sum(delta) AS net
                              FROM k GROUP BY month)
                        SELECT month, new, expansion, contraction, churn, reactivation,
                               sum(net) OVER (ORDER BY month ROWS UNBOUNDED PRECEDING) AS mrr
                        FROM m ORDER BY month""",
                    "JSONCompact",
                )
                return json.loads(r.bytes())["data"]

            timed["mrr"], rows = best_of(args.repeat, mrr)
            out["chdb_mrr_last"] = round(float(rows[-1][6]), 2) if rows else None

        if args.web:
            page = "page" if args.load_table else CH_PAGE.replace("assumeNotNull(properties)", "properties")
            sid = "sid" if args.load_table else "trim(JSONExtractString(properties, '$session_id'))"
            utm = "utm_source" if args.load_table else "trim(JSONExtractString(properties, 'utm_source'))"
            views = f"""SELECT person_id AS who, timestamp_ms AS t, {page} AS page, {sid} AS sid,
                        {utm} AS utm FROM {src}
                        WHERE event = '$pageview' AND timestamp_ms >= {args.from_ms} AND timestamp_ms < {args.to_ms}"""
            # The same sessions as the DuckDB SQL; ClickHouse runs a CTE
            # once per use, so the sessions go into a temporary table
            # (timed with the rest).
            sessions = f"""SELECT who, sno, max(t) - min(t) AS dur, count() AS views,
                               argMin(page, t) AS entry, argMax(page, t) AS exit,
                               argMin(if(utm = '', '(none)', utm), t) AS utm
                           FROM (SELECT *, sum(starts) OVER (PARTITION BY who ORDER BY t
                                     ROWS UNBOUNDED PRECEDING) AS sno
                                 FROM (SELECT *, if(row_number() OVER w = 1, 1,
                                          if(sid != '' AND prev_sid != '', toUInt8(sid != prev_sid),
                                             toUInt8(t - prev_t > 1800000))) AS starts
                                       FROM (SELECT *, lagInFrame(sid) OVER w AS prev_sid,
                                                 lagInFrame(t) OVER w AS prev_t
                                             FROM ({views}) WINDOW w AS (PARTITION BY who ORDER BY t
                                                 ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW))
                                       WINDOW w AS (PARTITION BY who ORDER BY t
                                           ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)))
                           GROUP BY who, sno"""

            def web():
                s.query("DROP TABLE IF EXISTS bench_sessions")
                s.query(f"CREATE TEMPORARY TABLE bench_sessions ENGINE = Memory AS {sessions}")
                summary = json.loads(s.query(
                    f"""SELECT (SELECT uniqExact(who) FROM ({views})), (SELECT count() FROM ({views})),
                               count(), avg(views = 1), avg(dur), median(dur) FROM bench_sessions""",
                    "JSONCompact").bytes())["data"]
                tops = json.loads(s.query(
                    f"""SELECT k, value, c, w FROM (
                          SELECT k, value, c, w, row_number() OVER (PARTITION BY k ORDER BY c DESC, value) AS r
                          FROM (SELECT 'page' AS k, page AS value, count() AS c, uniqExact(who) AS w
                                FROM ({views}) GROUP BY page
                                UNION ALL SELECT 'entry', entry, count(), uniqExact(who) FROM bench_sessions GROUP BY entry
                                UNION ALL SELECT 'exit', exit, count(), uniqExact(who) FROM bench_sessions GROUP BY exit
                                UNION ALL SELECT 'utm_source', utm, count(), uniqExact(who) FROM bench_sessions GROUP BY utm))
                        WHERE r <= 10""",
                    "JSONCompact").bytes())["data"]
                return summary, tops

            timed["web"], (summary, _) = best_of(args.repeat, web)
            row = summary[0]
            out["chdb_web"] = {"visitors": int(row[0]), "page_views": int(row[1]),
                               "sessions": int(row[2]), "bounce_rate": round(float(row[3]), 6)}

        timed["funnel"], rows = best_of(args.repeat, funnel)
        levels = {int(lv): int(c) for lv, c in rows}
        out["funnel"] = [sum(c for lv, c in levels.items() if lv >= k) for k in range(1, len(steps) + 1)]
        timed["dau"], _ = best_of(args.repeat, dau)
        timed["retention"], _ = best_of(args.repeat, retention)
        out["timings"]["chdb"] = timed

    print(json.dumps(out))


if __name__ == "__main__":
    main()
