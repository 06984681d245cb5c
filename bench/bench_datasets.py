"""Benchmark of the dataset macro (`activity_schema.dataset`) at scale.

Not a test: it measures, it does not assert. Run from the project root:

    .venv/bin/python -m bench.bench_datasets --quick      # ~100k rows, minutes
    .venv/bin/python -m bench.bench_datasets              # 1M + 10M DuckDB, 1M Postgres

For each (engine, stream size) it:

1. makes a throwaway copy of the project (tests/python/dbt_harness.py), with
   three extra models in `models/bench/`: `bench_stream_sorted` (the floor: a
   sorted copy of the stream rows that `order_journeys` reads),
   `bench_stream_sorted_narrow` (the same with only the columns it reads) and
   `bench_order_journeys_selfjoin` (the dataset of `order_journeys` written
   as per-relationship self-joins, the shape the public dbt activity-schema
   packages generate);
2. builds it on the project's own tiny seeds, so that every relation exists,
   and checks that `order_journeys` and the self-join give the same rows there;
3. replaces the rows of the `customer_stream` table with a generated
   heavy-tailed stream (`generate_stream`, set-based SQL in a DuckDB
   "generator" database; copied in with SQL on DuckDB, through CSV and COPY on
   Postgres; the table, its types and any index it was built with are kept);
4. times `dbt run --select <model> --threads 1` (a fresh dbt process each,
   `execution_time` of run_results.json): the floor, a narrow floor (the same
   sorted rows, only the columns `order_journeys` reads) and `order_journeys`
   in turn, --repeat times (3), keeping the median run of each, then the
   self-join once, with a timeout; compares the self-join's rows with
   `order_journeys` when it finishes.

It prints a markdown table and (for the default sizes, or with --out) writes
it to bench/results/datasets.md, keeping anything from a `## Findings`
heading on.

The stream (`generate_stream`): customers 1..N (N = rows / 20); customer k
holds n_k events with n_k - 1 proportional to k^-s (Zipf's rank-frequency
law, s = 1 by default: the number of customers with at least m events falls
as 1/m), rounded at random, so the busiest customers hold thousands of orders
and tens of thousands of page views while the median one holds a few events.
Each customer has one created_account, ~10 % of its events are orders
(placed_order), each order is paid once (85 %), in two parts (12 %: a coupon
and a card, half of them in the same second) or not at all (3 %)
(made_payment, revenue_impact in dollars, feature `amount`), the rest are page
views (viewed_page) of the customer's device: 0-3 anonymous ones before the
sign-up (customer null), the others logged in (customer and anonymous id).
Visitors who never log in fill 5 % of the rows. Timestamps are in seconds
over two years; activity_id is the md5 of the source key as in the project;
activity_occurrence and activity_repeated_at are computed over
`partition by activity, coalesce(customer, anonymous_customer_id)
order by ts, activity_id`; feature_json is JSON (DuckDB) / jsonb (Postgres).
Randomness is `hash()` of (key, purpose, seed): same arguments, same data
(with one DuckDB version).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.datagen import SqlRandom  # noqa: E402
from bench.stats import lower_median  # noqa: E402
from tests.python.dbt_harness import DbtProject  # noqa: E402

RESULTS = REPO_ROOT / "bench" / "results" / "datasets.md"
SEEDS = REPO_ROOT / "seeds"
DBT = str(Path(sys.executable).parent / "dbt")

STREAM_COLUMNS = (
    "activity_id", "ts", "customer", "anonymous_customer_id", "activity",
    "feature_json", "revenue_impact", "link", "activity_occurrence",
    "activity_repeated_at",
)
DATASET_COLUMNS = (
    "activity_id", "customer", "ordered_at", "order_occurrence",
    "first_order_ever_at", "orders_before", "last_visit_before_at",
    "first_visit_after_at", "first_payment_at", "payments_in_between",
    "amount_paid_in_between", "last_payment_before_at", "last_order_after_at",
)
TARGET_RATIO = {"duckdb": 1.5, "postgres": 2.0}
TARGET_SPEEDUP = 10.0
TARGET_SPEEDUP_ROWS = 10_000_000

FLOOR_MODEL = "bench_stream_sorted"
NARROW_FLOOR_MODEL = "bench_stream_sorted_narrow"
SELFJOIN_MODEL = "bench_order_journeys_selfjoin"
DATASET_MODEL = "order_journeys"


# --------------------------------------------------------------------------- #
# The generated stream
# --------------------------------------------------------------------------- #
def generate_stream(
    con: duckdb.DuckDBPyConnection,
    rows: int,
    *,
    seed: int = 42,
    zipf_s: float = 1.0,
    days: int = 730,
) -> dict[str, Any]:
    """Create table `stream` (the ten stream columns) in `con`, ~`rows` rows.

    Returns statistics of the stream (rows per activity, the busiest
    customers).
    """
    r = SqlRandom(seed)
    t0 = "timestamp '2023-01-01 00:00:00'"
    period = days * 86400
    t_end = f"({t0} + to_seconds({period}))"
    customer_rows = round(rows * 0.95)
    customers = max(10, round(rows / 20))
    statements = [
        # customers: Zipf weights, event counts, sign-up time
        f"""
        create or replace table g_customers as
        with weights as (
            select k, pow(k, -{zipf_s}) as w from range(1, {customers} + 1) as t(k)
        ),
        total as (select sum(w) as total_w from weights)
        select
            k,
            1 + cast(floor(({customer_rows} - {customers}) * w / total_w
                + {r.u('events', 'k')}) as bigint) as n_events,
            {t0} + to_seconds(cast(floor({r.u('signup', 'k')} * {0.8 * period})
                as bigint)) as signup_at
        from weights, total
        """,
        f"""
        create or replace table g_customer_orders as
        select
            k,
            n_events,
            signup_at,
            cast(floor(0.10 * (n_events - 1) + {r.u('orders', 'k')}) as bigint)
                as n_orders
        from g_customers
        """,
        # orders, at any second between the sign-up and the end
        f"""
        create or replace table g_orders as
        with expanded as (
            select k, signup_at, unnest(range(n_orders)) as j
            from g_customer_orders
            where n_orders > 0
        ),
        numbered as (
            select row_number() over (order by k, j) as order_id, *
            from expanded
        )
        select
            order_id,
            k,
            signup_at + to_seconds(60 + cast(floor({r.u('order_at', 'order_id')}
                * (epoch({t_end}) - epoch(signup_at) - 60)) as bigint)) as ts,
            {r.u('status', 'order_id')} as u_status,
            {r.u('pay', 'order_id')} as u_pay
        from numbered
        """,
        f"""
        create or replace table g_payments as
        with planned as (
            select
                o.order_id,
                o.k,
                o.ts + to_seconds({r.int(30, 7200, 'paid_at', 'o.order_id')})
                    as paid_at,
                o.u_pay < 0.15 as split,
                1000 + 50 * {r.int(0, 40, 'total', 'o.order_id')} as total_cents,
                200 + 100 * {r.int(0, 6, 'coupon', 'o.order_id')} as coupon_cents,
                {r.u('same_second', 'o.order_id')} < 0.5 as same_second,
                {r.int(5, 300, 'card_delay', 'o.order_id')} as card_delay,
                (['credit_card', 'bank_transfer', 'gift_card'])[
                    {r.int(1, 3, 'method', 'o.order_id')}] as method
            from g_orders as o
            where o.u_pay >= 0.03
        ),
        parts as (
            select order_id, k, paid_at as ts, 1 as part,
                case when split then 'coupon' else method end as method,
                case when split then coupon_cents else total_cents end as cents
            from planned
            union all
            select order_id, k,
                case when same_second then paid_at
                    else paid_at + to_seconds(card_delay) end,
                2, method, total_cents - coupon_cents
            from planned
            where split
        )
        select row_number() over (order by order_id, part) as payment_id, *
        from parts
        """,
        # page views: what is left of each customer's events
        """
        create or replace table g_customer_views as
        select
            c.k,
            c.signup_at,
            greatest(0, c.n_events - 1 - c.n_orders
                - coalesce(p.n_payments, 0)) as n_views
        from g_customer_orders as c
        left join (
            select k, count(*) as n_payments from g_payments group by k
        ) as p on p.k = c.k
        """,
        f"""
        create or replace table g_views as
        with expanded as (
            select
                k,
                signup_at,
                least(n_views, {r.int(0, 3, 'pre', 'k')}) as n_pre,
                unnest(range(n_views)) as j
            from g_customer_views
            where n_views > 0
        ),
        customer_views as (
            select
                'v' || k as visitor_id,
                case when j < n_pre then null else k end as k,
                case
                    when j < n_pre then signup_at - to_seconds(
                        {r.int(10, 3 * 86400, 'pre_at', 'k', 'j')})
                    else signup_at + to_seconds(5 + cast(floor(
                        {r.u('view_at', 'k', 'j')}
                        * (epoch({t_end}) - epoch(signup_at) - 5)) as bigint))
                end as ts,
                (['/', '/menu', '/menu', '/cart', '/checkout', '/account'])[
                    {r.int(1, 6, 'page', 'k', 'j')}] as page_path
            from expanded
        ),
        budget as (
            select greatest(0, {rows}
                - (select count(*) from g_customers)
                - (select count(*) from g_orders)
                - (select count(*) from g_payments)
                - (select count(*) from customer_views)) as anonymous_rows
        ),
        anonymous_expanded as (
            select a, unnest(range({r.int(1, 6, 'anon_n', 'a')})) as j
            from range(1, (select anonymous_rows from budget) // 2 + 2) as t(a)
        ),
        anonymous_views as (
            select
                'v' || ({customers} + a) as visitor_id,
                cast(null as bigint) as k,
                {t0} + to_seconds(cast(floor({r.u('anon_at', 'a', 'j')}
                    * {period}) as bigint)) as ts,
                (['/', '/menu', '/cart'])[{r.int(1, 3, 'anon_page', 'a', 'j')}]
                    as page_path,
                row_number() over (order by a, j) as keep
            from anonymous_expanded
        )
        select
            row_number() over (order by ts, visitor_id, page_path) as event_id,
            *
        from (
            select * from customer_views
            union all
            select visitor_id, k, ts, page_path from anonymous_views
            where keep <= (select anonymous_rows from budget)
        )
        """,
        f"""
        create or replace table g_stream_rows as
        select
            md5(cast(k as varchar)) as activity_id,
            signup_at as ts,
            cast(k as varchar) as customer,
            cast(null as varchar) as anonymous_customer_id,
            'created_account' as activity,
            json_object(
                'first_name', (['Ana', 'Ben', 'Chen', 'Dana', 'Eli', 'Fay'])[
                    {r.int(1, 6, 'first_name', 'k')}],
                'last_name', chr(cast({r.int(65, 90, 'last_name', 'k')}
                    as integer)) || '.'
            ) as feature_json,
            cast(null as decimal(28, 6)) as revenue_impact,
            cast(null as varchar) as link
        from g_customers
        union all
        select
            md5(cast(order_id as varchar)),
            ts,
            cast(k as varchar),
            null,
            'placed_order',
            json_object(
                'order_id', cast(order_id as integer),
                'order_status', case
                    when epoch({t_end}) - epoch(ts) < 3 * 86400 then case
                        when u_status < 0.45 then 'placed'
                        when u_status < 0.80 then 'shipped'
                        else 'completed' end
                    else case
                        when u_status < 0.03 then 'placed'
                        when u_status < 0.06 then 'shipped'
                        when u_status < 0.91 then 'completed'
                        when u_status < 0.94 then 'return_pending'
                        else 'returned' end
                end
            ),
            null,
            null
        from g_orders
        union all
        select
            md5(cast(payment_id as varchar)),
            ts,
            cast(k as varchar),
            null,
            'made_payment',
            json_object(
                'payment_id', cast(payment_id as integer),
                'order_id', cast(order_id as integer),
                'payment_method', method,
                'amount', cast(cast(cents as decimal(28, 6)) / 100 as decimal(28, 6))
            ),
            cast(cast(cents as decimal(28, 6)) / 100 as decimal(28, 6)),
            null
        from g_payments
        union all
        select
            md5(cast(event_id as varchar)),
            ts,
            cast(k as varchar),
            'web_' || visitor_id,
            'viewed_page',
            json_object('page_path', page_path, 'visitor_id', visitor_id),
            null,
            null
        from g_views
        """,
        """
        create or replace table stream as
        select
            *,
            row_number() over entity_activity as activity_occurrence,
            lead(ts) over entity_activity as activity_repeated_at
        from g_stream_rows
        window entity_activity as (
            partition by activity, coalesce(customer, anonymous_customer_id)
            order by ts, activity_id
        )
        order by ts, activity, activity_id
        """,
    ]
    for statement in statements:
        con.execute(statement)
    for table in (
        "g_customers", "g_customer_orders", "g_orders", "g_payments",
        "g_customer_views", "g_views", "g_stream_rows",
    ):
        con.execute(f"drop table {table}")
    con.execute("checkpoint")
    return stream_stats(con)


def stream_stats(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Rows per activity and the shape of the tail, of table `stream`."""
    per_activity = dict(
        con.execute(
            "select activity, count(*) from stream group by 1 order by 1"
        ).fetchall()
    )
    top = con.execute(
        """
        with per_customer as (
            select
                customer,
                count(*) as events,
                count(*) filter (where activity = 'placed_order') as orders,
                count(*) filter (where activity = 'made_payment') as payments,
                count(*) filter (where activity = 'viewed_page') as views
            from stream
            where customer is not null
            group by customer
        )
        select
            count(*) as customers,
            max(events), max(orders), max(views),
            quantile_disc(events, 0.5) as median_events,
            quantile_disc(events, 0.99) as p99_events,
            (select count(*) from per_customer where orders >= 1000),
            (select count(*) from per_customer where views >= 10000)
        from per_customer
        """
    ).fetchone()
    (customers, max_events, max_orders, max_views, median, p99,
     orders_1000, views_10000) = top
    total = sum(per_activity.values())
    return {
        "rows": total,
        "per_activity": per_activity,
        "customers": customers,
        "busiest_customer_events": max_events,
        "busiest_orders": max_orders,
        "busiest_views": max_views,
        "median_events": median,
        "p99_events": p99,
        "customers_with_1000_orders": orders_1000,
        "customers_with_10000_views": views_10000,
        "anonymous_only_rows": con.execute(
            "select count(*) from stream where customer is null"
        ).fetchone()[0],
    }


# --------------------------------------------------------------------------- #
# The benchmark models added to the throwaway copy
# --------------------------------------------------------------------------- #
FLOOR_SQL = """\
{#- The floor: a sorted copy of the stream rows order_journeys reads (its
    three activities, every column), in the order the dataset needs them
    (entity, then time), built the way every dataset model is built (a
    table materialization). -#}
{{ config(materialized='table') }}

select * from {{ ref('customer_stream') }}
where activity in ('placed_order', 'viewed_page', 'made_payment')
order by coalesce(customer, anonymous_customer_id), ts, activity_id
"""

# A stricter floor: the same rows and order, only the stream columns
# order_journeys reads (no feature_json or link), so that writing the copy
# weighs less next to the sort.
NARROW_FLOOR_SQL = """\
{{ config(materialized='table') }}

select
    activity_id, ts, customer, anonymous_customer_id, activity,
    revenue_impact, activity_occurrence, activity_repeated_at
from {{ ref('customer_stream') }}
where activity in ('placed_order', 'viewed_page', 'made_payment')
order by coalesce(customer, anonymous_customer_id), ts, activity_id
"""

# order_journeys as per-relationship self-joins: one CTE per appended
# relationship, the primary rows left-joined to the appended activity's rows
# on customer and the relationship's time condition, aggregated back to one
# row per primary row, then the CTEs joined back on the primary activity_id
# (the shape of the public dbt activity-schema packages). Picks of ts are
# min/max, which gives the same values as a row_number() pick on (ts,
# activity_id) and is cheaper. first_ever joins on activity_occurrence = 1
# (an equi-join), as the packages do. Placed orders always carry a customer,
# so joining on `customer` equals joining on the entity
# coalesce(customer, anonymous_customer_id): a row of another entity never has
# that customer.
SELFJOIN_SQL = """\
{{ config(materialized='table') }}
{%- if target.type == 'postgres' and var('bench_statement_timeout_ms', 0) %}
{{ config(pre_hook="set statement_timeout = "
    ~ var('bench_statement_timeout_ms')) }}
{%- endif %}
{%- set stream = ref('customer_stream') %}
{%- set in_between = 'a.ts > p.ts and (p.activity_repeated_at is null'
    ~ ' or a.ts <= p.activity_repeated_at)' %}
{%- set relationships = [
    ('first_order_ever', 'placed_order', 'a.activity_occurrence = 1',
        ['min(a.ts) as first_order_ever_at']),
    ('orders_before', 'placed_order', 'a.ts < p.ts',
        ['count(a.activity_id) as orders_before']),
    ('last_visit_before', 'viewed_page', 'a.ts < p.ts',
        ['max(a.ts) as last_visit_before_at']),
    ('first_visit_after', 'viewed_page', 'a.ts > p.ts',
        ['min(a.ts) as first_visit_after_at']),
    ('first_payment_in_between', 'made_payment', in_between,
        ['min(a.ts) as first_payment_at']),
    ('payments_in_between', 'made_payment', in_between,
        ['count(a.activity_id) as payments_in_between',
         'case when count(a.activity_id) = 0 then 0'
         ~ ' else sum(a.revenue_impact) end as amount_paid_in_between']),
    ('last_payment_before', 'made_payment', 'a.ts < p.ts',
        ['max(a.ts) as last_payment_before_at']),
    ('last_order_after', 'placed_order', 'a.ts > p.ts',
        ['max(a.ts) as last_order_after_at']),
] %}

with
{%- for name, activity, condition, outputs in relationships %}

{{ name }} as (

    select
        p.activity_id,
        {{ outputs | join(',\\n        ') }}
    from {{ stream }} as p
    left join {{ stream }} as a
        on
            a.customer = p.customer
            and a.activity = '{{ activity }}'
            and {{ condition }}
    where p.activity = 'placed_order'
    group by p.activity_id

),
{%- endfor %}

final as (

    select
        p.activity_id,
        p.customer,
        p.ts as ordered_at,
        p.activity_occurrence as order_occurrence,
        first_order_ever.first_order_ever_at,
        orders_before.orders_before,
        last_visit_before.last_visit_before_at,
        first_visit_after.first_visit_after_at,
        first_payment_in_between.first_payment_at,
        payments_in_between.payments_in_between,
        payments_in_between.amount_paid_in_between,
        last_payment_before.last_payment_before_at,
        last_order_after.last_order_after_at
    from {{ stream }} as p
    {%- for name, activity, condition, outputs in relationships %}
    left join {{ name }} on {{ name }}.activity_id = p.activity_id
    {%- endfor %}
    where p.activity = 'placed_order'

)

select * from final
"""

# --------------------------------------------------------------------------- #
# Running dbt in its own process
# --------------------------------------------------------------------------- #
@dataclass
class Timed:
    """One timed dbt model run."""

    model: str
    seconds: float | None = None  # execution_time of run_results.json
    execute_seconds: float | None = None  # its "execute" timing
    wall_seconds: float = 0.0  # the whole dbt process
    status: str = "not run"
    timed_out: bool = False
    message: str = ""
    limit: float | None = None  # the timeout it ran with


def run_dbt(
    project: DbtProject,
    *args: str,
    timeout: float | None = None,
    log: Path | None = None,
) -> tuple[int | None, float]:
    """Run `dbt <args>` in a new process group; (returncode or None, wall s).

    On timeout the process group (started here) is killed and None returned.
    """
    env = {
        **os.environ,
        **project.env,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_USE_COLORS": "false",
    }
    command = [
        DBT, *args,
        "--project-dir", str(project.root),
        "--profiles-dir", str(project.root),
        "--target", project.target,
    ]
    started = time.perf_counter()
    with open(log or os.devnull, "a") as out:
        out.write(f"\n$ {' '.join(command)}\n")
        out.flush()
        process = subprocess.Popen(
            command, cwd=project.root, env=env, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            code = None
    return code, time.perf_counter() - started


def timed_model(
    project: DbtProject,
    model: str,
    *,
    timeout: float | None = None,
    log: Path,
    dbt_vars: dict[str, Any] | None = None,
) -> Timed:
    """`dbt run --select model --threads 1`; its time from run_results.json."""
    results_path = project.root / "target" / "run_results.json"
    results_path.unlink(missing_ok=True)
    args = ["run", "--select", model, "--threads", "1"]
    if dbt_vars:
        args += ["--vars", json.dumps(dbt_vars)]
    # Postgres stops the query itself (statement_timeout); the process
    # timeout is the fallback.
    slack = 120 if project.target == "postgres" else 0
    code, wall = run_dbt(
        project, *args,
        timeout=None if timeout is None else timeout + slack, log=log,
    )
    timed = Timed(model=model, wall_seconds=wall, limit=timeout)
    if code is None:
        timed.status, timed.timed_out = "killed at timeout", True
        if project.target == "postgres":
            cancel_backends(project)
        return timed
    if not results_path.exists():
        timed.status = f"dbt exited {code} without run_results.json"
        return timed
    results = json.loads(results_path.read_text())["results"]
    node = next(r for r in results if r["unique_id"].endswith("." + model))
    timed.status = node["status"]
    timed.message = (node.get("message") or "")[:300]
    timed.seconds = node["execution_time"]
    for timing in node.get("timing", []):
        if timing["name"] == "execute" and timing.get("started_at"):
            started = datetime.fromisoformat(timing["started_at"].rstrip("Z"))
            ended = datetime.fromisoformat(timing["completed_at"].rstrip("Z"))
            timed.execute_seconds = (ended - started).total_seconds()
    if "statement timeout" in timed.message.lower():
        timed.timed_out = True
    return timed


def cancel_backends(project: DbtProject) -> None:
    """Stop the queries still running in this copy's own Postgres database."""
    import psycopg2

    with contextlib.closing(psycopg2.connect(
        host=project.env["PGHOST"], port=project.env["PGPORT"],
        user=project.env["PGUSER"], password=project.env["PGPASSWORD"],
        dbname=project.env["PGDATABASE"],
    )) as con:
        con.autocommit = True
        with con.cursor() as cur:
            cur.execute(
                "select pg_cancel_backend(pid) from pg_stat_activity"
                " where datname = current_database() and pid <> pg_backend_pid()"
            )


# --------------------------------------------------------------------------- #
# One case: an engine and a stream size
# --------------------------------------------------------------------------- #
@dataclass
class Case:
    engine: str
    rows: int
    stream: dict[str, Any] = field(default_factory=dict)
    floor: Timed | None = None
    narrow_floor: Timed | None = None
    dataset: Timed | None = None
    selfjoin: Timed | None = None
    tiny_check: dict[str, Any] | None = None
    check: dict[str, Any] | None = None
    floor_runs: list[Timed] = field(default_factory=list)
    narrow_floor_runs: list[Timed] = field(default_factory=list)
    dataset_runs: list[Timed] = field(default_factory=list)
    indexes: list[str] = field(default_factory=list)
    physical_design: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        """order_journeys s / floor s (a lower bound when it timed out)."""
        return self.ratio_to(self.floor)

    @property
    def narrow_ratio(self) -> float | None:
        """order_journeys s / narrow floor s."""
        return self.ratio_to(self.narrow_floor)

    def ratio_to(self, floor: Timed | None) -> float | None:
        if not (self.dataset and floor and floor.seconds):
            return None
        if self.dataset.timed_out and self.dataset.limit:
            return self.dataset.limit / floor.seconds
        if self.dataset.seconds and self.dataset.status == "success":
            return self.dataset.seconds / floor.seconds
        return None

    @property
    def speedup(self) -> tuple[float | None, str]:
        """(self-join s / order_journeys s, '' or '> ' or '< ' for a bound)."""
        if not (self.dataset and self.selfjoin):
            return None, ""
        joined = self.selfjoin.seconds if (
            self.selfjoin.status == "success") else None
        if self.dataset.timed_out and self.dataset.limit and joined:
            return joined / self.dataset.limit, "< "
        if not (self.dataset.seconds and self.dataset.status == "success"):
            return None, ""
        if self.selfjoin.timed_out:
            return (self.selfjoin.limit or self.selfjoin_timeout) / self.dataset.seconds, "> "
        if joined:
            return joined / self.dataset.seconds, ""
        return None, ""

    selfjoin_timeout: float = 0.0


def median_run(runs: list[Timed]) -> Timed:
    """The run of median time (the lower middle one of an even count); a
    failed or timed-out run, if there is one, as it makes no time."""
    failed = [r for r in runs if r.status != "success" or r.seconds is None]
    if failed:
        return failed[0]
    return lower_median(runs, key=lambda r: r.seconds)


def prepare_project(
    tmp: Path, engine: str, duckdb_memory_limit: str | None = None,
) -> DbtProject:
    """A throwaway copy with the bench models, built on the tiny seeds.

    On DuckDB, the copy's profile caps the memory of every model at
    `duckdb_memory_limit` (a self-join over heavy-tailed rows would take
    what the machine has; beyond the cap DuckDB spills to disk).
    """
    project = DbtProject.create(tmp, engine)
    if engine == "duckdb" and duckdb_memory_limit:
        import yaml

        profiles_path = project.root / "profiles.yml"
        profiles = yaml.safe_load(profiles_path.read_text())
        for profile in profiles.values():
            output = profile.get("outputs", {}).get("duckdb")
            if output is not None:
                output.setdefault("settings", {})["memory_limit"] = (
                    duckdb_memory_limit)
        profiles_path.write_text(yaml.safe_dump(profiles, sort_keys=False))
    bench_models = project.root / "models" / "bench"
    bench_models.mkdir(parents=True, exist_ok=True)
    (bench_models / f"{FLOOR_MODEL}.sql").write_text(FLOOR_SQL)
    (bench_models / f"{NARROW_FLOOR_MODEL}.sql").write_text(NARROW_FLOOR_SQL)
    (bench_models / f"{SELFJOIN_MODEL}.sql").write_text(SELFJOIN_SQL)
    project.copy_seeds(SEEDS)
    return project


def build_tiny(project: DbtProject, log: Path) -> None:
    for args in (
        ("deps",),
        ("seed", "--full-refresh"),
        ("run", "--select", f"+{DATASET_MODEL}", FLOOR_MODEL,
         NARROW_FLOOR_MODEL, SELFJOIN_MODEL),
    ):
        code, _ = run_dbt(project, *args, log=log)
        if code != 0:
            raise RuntimeError(f"dbt {' '.join(args)} failed; see {log}")


def compare(project: DbtProject, selfjoin: str = SELFJOIN_MODEL) -> dict[str, Any]:
    """Rows of order_journeys vs the self-join: counts and mismatches."""
    schema = project.schema
    checks = ",\n".join(
        f"sum(case when o.activity_id is not null and s.activity_id is not null"
        f" and o.{c} is distinct from s.{c} then 1 else 0 end) as {c}"
        for c in DATASET_COLUMNS[1:]
    )
    sql = f"""
        select
            (select count(*) from {schema}.{DATASET_MODEL}) as dataset_rows,
            (select count(*) from {schema}.{selfjoin}) as selfjoin_rows,
            sum(case when s.activity_id is null then 1 else 0 end) as only_dataset,
            sum(case when o.activity_id is null then 1 else 0 end) as only_selfjoin,
            {checks}
        from {schema}.{DATASET_MODEL} as o
        full outer join {schema}.{selfjoin} as s
            on o.activity_id = s.activity_id
    """
    row = project.query(sql)[0]
    names = ["dataset_rows", "selfjoin_rows", "only_dataset", "only_selfjoin",
             *DATASET_COLUMNS[1:]]
    result = dict(zip(names, [int(v or 0) for v in row]))
    mismatched = {k: v for k, v in result.items()
                  if k in DATASET_COLUMNS[1:] and v}
    result["mismatched_columns"] = mismatched
    result["equal"] = (
        not mismatched and not result["only_dataset"]
        and not result["only_selfjoin"]
        and result["dataset_rows"] == result["selfjoin_rows"]
    )
    if mismatched:
        column = next(iter(mismatched))
        result["example"] = [
            tuple(str(v) for v in r) for r in project.query(f"""
            select o.activity_id, o.customer, o.ordered_at, o.{column},
                s.{column}
            from {schema}.{DATASET_MODEL} as o
            join {schema}.{selfjoin} as s on o.activity_id = s.activity_id
            where o.{column} is distinct from s.{column}
            order by o.customer, o.ordered_at
            limit 3
        """)]
    return result


def load_stream(project: DbtProject, generator: Path, work: Path) -> None:
    """Replace the rows of customer_stream with the generator's `stream`."""
    columns = ", ".join(STREAM_COLUMNS)
    if project.target == "duckdb":
        project.execute(
            f"attach '{generator}' as generator (read_only)",
            "delete from main.customer_stream",
            f"insert into main.customer_stream ({columns})"
            f" select {columns} from generator.main.stream order by ts, activity, activity_id",
            "detach generator",
            "checkpoint",
        )
        return
    import psycopg2

    csv_path = work / "stream.csv"
    with duckdb.connect(str(generator), read_only=True) as con:
        con.execute(
            f"copy (select {columns} from stream order by ts, activity, activity_id)"
            f" to '{csv_path}' (header, delimiter ',')"
        )
    with contextlib.closing(psycopg2.connect(
        host=project.env["PGHOST"], port=project.env["PGPORT"],
        user=project.env["PGUSER"], password=project.env["PGPASSWORD"],
        dbname=project.env["PGDATABASE"],
    )) as con:
        with con.cursor() as cur, open(csv_path) as handle:
            cur.execute("truncate analytics.customer_stream")
            cur.copy_expert(
                f"copy analytics.customer_stream ({columns})"
                " from stdin with (format csv, header true)",
                handle,
            )
        con.commit()
        con.autocommit = True
        with con.cursor() as cur:
            cur.execute("vacuum analyze analytics.customer_stream")
    csv_path.unlink()


def describe_physical(project: DbtProject, case: Case, log: Path) -> None:
    """What physical_design('stream') returns, and the stream's indexes."""
    code, _ = run_dbt(
        project, "compile", "--inline",
        "{{ tojson(activity_schema.physical_design('stream')) }}",
        log=log,
    )
    compiled = log.read_text().rstrip().splitlines()
    case.physical_design = compiled[-1].strip() if code == 0 and compiled else "?"
    if project.target == "postgres":
        case.indexes = [
            r[0] for r in project.query(
                "select indexdef from pg_indexes"
                " where schemaname = 'analytics' and tablename = 'customer_stream'"
            )
        ]


def run_case(
    case: Case,
    generator: Path,
    args: argparse.Namespace,
    work: Path,
) -> Case:
    """Fill `case` in as its steps finish (a stopped run keeps what it has)."""
    engine, rows = case.engine, case.rows
    case.selfjoin_timeout = args.timeout
    tmp = work / f"{engine}_{rows}"
    tmp.mkdir(parents=True, exist_ok=True)
    log = tmp / "dbt.log"
    project = prepare_project(tmp, engine, args.duckdb_memory_limit)
    say(f"[{engine} {rows:,}] copy at {project.root}; dbt log {log}")
    try:
        build_tiny(project, log)
        case.tiny_check = compare(project)
        say(f"[{engine} {rows:,}] tiny seeds: order_journeys vs self-join "
            f"{'equal' if case.tiny_check['equal'] else 'DIFFER'}: "
            f"{case.tiny_check}")
        describe_physical(project, case, tmp / "physical.log")
        started = time.perf_counter()
        load_stream(project, generator, tmp)
        say(f"[{engine} {rows:,}] stream loaded in "
            f"{time.perf_counter() - started:.1f} s; indexes: {case.indexes}")
        # The floors and order_journeys take turns `repeat` times; each
        # keeps its median run (other jobs share the machine: one run can be
        # slowed several times over).
        for _ in range(args.repeat):
            case.floor_runs.append(timed_model(project, FLOOR_MODEL, log=log))
            say(f"[{engine} {rows:,}] floor: {case.floor_runs[-1]}")
            case.narrow_floor_runs.append(
                timed_model(project, NARROW_FLOOR_MODEL, log=log))
            say(f"[{engine} {rows:,}] narrow floor: {case.narrow_floor_runs[-1]}")
            case.dataset_runs.append(timed_model(
                project, DATASET_MODEL, timeout=args.dataset_timeout, log=log))
            say(f"[{engine} {rows:,}] order_journeys: {case.dataset_runs[-1]}")
            case.floor = median_run(case.floor_runs)
            case.narrow_floor = median_run(case.narrow_floor_runs)
            case.dataset = median_run(case.dataset_runs)
            if case.dataset_runs[-1].status != "success":
                break
        if not args.skip_selfjoin:
            case.selfjoin = timed_model(
                project, SELFJOIN_MODEL, timeout=args.timeout, log=log,
                dbt_vars={"bench_statement_timeout_ms": int(args.timeout * 1000)},
            )
            say(f"[{engine} {rows:,}] self-join: {case.selfjoin}")
            if case.selfjoin.status == "success" and case.dataset.status == "success":
                case.check = compare(project)
                say(f"[{engine} {rows:,}] order_journeys vs self-join: "
                    f"{'equal' if case.check['equal'] else 'DIFFER'}: {case.check}")
    finally:
        if args.keep:
            say(f"[{engine} {rows:,}] kept {project.root}")
        else:
            project.drop()
            shutil.rmtree(tmp, ignore_errors=True)
    return case


# --------------------------------------------------------------------------- #
# Report
# --------------------------------------------------------------------------- #
def fmt_s(timed: Timed | None, timeout: float) -> str:
    if timed is None:
        return "not run"
    if timed.timed_out:
        return f"> {timed.limit or timeout:.0f}"
    if timed.status != "success" or timed.seconds is None:
        return f"failed ({timed.status})"
    return f"{timed.seconds:.2f}"


def table(cases: list[Case], timeout: float) -> str:
    lines = [
        "| engine | rows | order_journeys s | floor s | ratio to floor "
        "| narrow floor s | ratio to narrow floor "
        "| self-join s | speed-up vs self-join |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for case in cases:
        ratio, narrow_ratio = (
            "-" if r is None else
            f"{'> ' if case.dataset.timed_out else ''}{r:.2f}x"
            for r in (case.ratio, case.narrow_ratio))
        speedup, bound = case.speedup
        speedup_text = "-" if speedup is None else f"{bound}{speedup:.1f}x"
        lines.append(
            f"| {case.engine} | {case.stream.get('rows', case.rows):,} "
            f"| {fmt_s(case.dataset, timeout)} | {fmt_s(case.floor, timeout)} "
            f"| {ratio} | {fmt_s(case.narrow_floor, timeout)} | {narrow_ratio} "
            f"| {fmt_s(case.selfjoin, timeout)} | {speedup_text} |"
        )
    return "\n".join(lines)


def verdicts(cases: list[Case]) -> list[str]:
    out = []
    for case in cases:
        label = f"{case.engine} {case.stream.get('rows', case.rows):,} rows"
        limit = TARGET_RATIO[case.engine]
        for name, ratio in (("floor", case.ratio),
                            ("narrow floor", case.narrow_ratio)):
            if ratio is None:
                continue
            met = ratio <= limit and not case.dataset.timed_out
            out.append(
                f"- {label}: within {limit}x of the {name}: "
                f"{'**met**' if met else '**missed**'} "
                f"({'> ' if case.dataset.timed_out else ''}{ratio:.2f}x)"
            )
        speedup, bound = case.speedup
        if case.rows >= TARGET_SPEEDUP_ROWS and case.selfjoin is not None:
            if speedup is None:
                out.append(f"- {label}: >= {TARGET_SPEEDUP:.0f}x faster than the "
                           "self-join: unknown (self-join failed)")
            else:
                met = speedup >= TARGET_SPEEDUP and bound != "< "
                note = {
                    "> ": ", a lower bound: the self-join hit the timeout",
                    "< ": ", an upper bound: order_journeys hit the timeout",
                }.get(bound, "")
                out.append(
                    f"- {label}: >= {TARGET_SPEEDUP:.0f}x faster than the "
                    f"self-join: {'**met**' if met else '**missed**'} "
                    f"({bound}{speedup:.1f}x{note})"
                )
    return out


def git_state() -> str:
    """The commit, and whether the dataset macros differ from it."""
    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True,
                check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return "?"
    commit = git("log", "-1", "--format=%h %s")
    dirty = git("status", "--porcelain", "--", "activity_schema/macros/dataset",
                "models/datasets/order_journeys.sql")
    return (f"- project at commit `{commit}`; dataset macros and order_journeys "
            + ("modified in the working tree" if dirty else "as committed"))


LOAD_AT_START = os.getloadavg()


def environment(cases: list[Case], args: argparse.Namespace) -> list[str]:
    info = [
        git_state(),
        f"- machine: {os.cpu_count()} CPUs, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB RAM, "
        f"{platform.system()} {platform.release()}; load average (1, 5, 15 min) "
        f"at the start {' '.join(f'{x:.2f}' for x in LOAD_AT_START)}, at the end "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} (other jobs shared "
        "the machine)",
        f"- duckdb {duckdb.__version__} (threads = CPUs; memory_limit = "
        f"{args.duckdb_memory_limit or 'default'} for every model)",
    ]
    return info


def report(
    cases: list[Case], args: argparse.Namespace, command: str, pg_info: str,
    partial: bool = False,
) -> str:
    parts = [
        "# Dataset benchmark: `order_journeys` vs its floor and the self-join form",
        "",
        f"Generated by `{command}` on {datetime.now():%Y-%m-%d %H:%M}"
        + (" (partial: the run goes on)." if partial else "."),
        "",
        table(cases, args.timeout),
        "",
        "Targets: within 1.5x of the floor on DuckDB and 2x on Postgres; at "
        "least 10x faster than the self-join form at 10M heavy-tailed rows.",
        "",
        *verdicts(cases),
        "",
        "## How it is measured",
        "",
        "- Every time is the `execution_time` of the model in `run_results.json` "
        "of its own `dbt run --select <model> --threads 1` (a fresh dbt process; "
        "table materialization: create as select, rename, drop the old one), on "
        "a throwaway copy of the project whose `customer_stream` rows were "
        "replaced by the generated stream (inserted in ts order, as an "
        "append-only stream grows). The floor, the narrow floor and "
        f"order_journeys run {args.repeat} times, taking turns, and the table "
        "shows the median run of each (all runs under Raw timings); then the "
        "self-join runs once.",
        "- floor: `bench_stream_sorted`, a table model: `select * from "
        "customer_stream where activity in ('placed_order', 'viewed_page', "
        "'made_payment') order by coalesce(customer, anonymous_customer_id), ts, "
        "activity_id`, a sorted copy of the rows order_journeys reads.",
        "- narrow floor: `bench_stream_sorted_narrow`, the same rows in the same "
        "order with only the columns order_journeys reads (no feature_json, no "
        "link): a stricter floor, since writing a copy of every column weighs "
        "on the floor more than the dataset's few output rows weigh on it.",
        "- self-join: `bench_order_journeys_selfjoin`, one CTE per appended "
        "relationship (primary rows left-joined to the appended activity's rows "
        "on customer and the relationship's time condition, grouped back per "
        "order; first_ever on `activity_occurrence = 1`; picks of ts as "
        "min/max), joined back on activity_id: the shape of the public dbt "
        "activity-schema packages, written to the spec's semantics. "
        f"Timeout {args.timeout:.0f} s (Postgres: statement_timeout; DuckDB: the "
        "dbt process is killed); a timed-out run gives a lower bound.",
        *environment(cases, args),
        pg_info,
        "",
        "## Streams",
        "",
        "| rows | created_account | placed_order | made_payment | viewed_page "
        "| anonymous rows | customers | median / p99 events | busiest customer: "
        "events, orders, views | customers with >= 1000 orders / >= 10000 views |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    seen = set()
    for case in cases:
        s = case.stream
        if not s or s["rows"] in seen:
            continue
        seen.add(s["rows"])
        a = s["per_activity"]
        parts.append(
            f"| {s['rows']:,} | {a.get('created_account', 0):,} "
            f"| {a.get('placed_order', 0):,} | {a.get('made_payment', 0):,} "
            f"| {a.get('viewed_page', 0):,} | {s['anonymous_only_rows']:,} "
            f"| {s['customers']:,} | {s['median_events']} / {s['p99_events']} "
            f"| {s['busiest_customer_events']:,}, {s['busiest_orders']:,}, "
            f"{s['busiest_views']:,} | {s['customers_with_1000_orders']} / "
            f"{s['customers_with_10000_views']} |"
        )
    parts += [
        "",
        f"Zipf exponent s = {args.zipf_s}, seed {args.seed}.",
        "",
        "## Same rows? (order_journeys vs the self-join)",
        "",
    ]
    for case in cases:
        label = f"{case.engine} {case.stream.get('rows', case.rows):,}"
        for name, check in (("project seeds", case.tiny_check), ("generated stream", case.check)):
            if check is None:
                continue
            verdict = "same rows" if check["equal"] else (
                f"DIFFER: {check['mismatched_columns']}, only in order_journeys "
                f"{check['only_dataset']}, only in self-join {check['only_selfjoin']}"
                + (f", e.g. {check.get('example')}" if check.get("example") else "")
            )
            parts.append(
                f"- {label}, {name}: {check['dataset_rows']:,} vs "
                f"{check['selfjoin_rows']:,} rows: {verdict}"
            )
    parts += ["", "## Physical design", ""]
    for case in cases:
        parts.append(
            f"- {case.engine} {case.rows:,}: physical_design('stream') = "
            f"`{case.physical_design}`"
            + (f"; indexes on customer_stream: {case.indexes or 'none'}"
               if case.engine == "postgres" else "")
        )
    parts += ["", "## Raw timings (s)", "",
              "| engine | rows | model | execution_time | execute | dbt process | status |",
              "|---|---:|---|---:|---:|---:|---|"]
    for case in cases:
        runs = [*case.floor_runs, *case.narrow_floor_runs, *case.dataset_runs]
        if case.selfjoin is not None:
            runs.append(case.selfjoin)
        for timed in runs:
            parts.append(
                f"| {case.engine} | {case.rows:,} | {timed.model} "
                f"| {'' if timed.seconds is None else f'{timed.seconds:.2f}'} "
                f"| {'' if timed.execute_seconds is None else f'{timed.execute_seconds:.2f}'} "
                f"| {timed.wall_seconds:.1f} | {timed.status}"
                f"{' (timeout)' if timed.timed_out else ''} |"
            )
    return "\n".join(parts) + "\n"


def write_report(path: Path, text: str) -> None:
    """Write the report, keeping a hand-written `## Findings` section."""
    kept = ""
    if path.exists():
        old = path.read_text()
        marker = old.find("\n## Findings")
        if marker >= 0:
            kept = old[marker:]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + kept)


def postgres_info() -> str:
    import psycopg2
    from tools import pg

    env = pg.ensure_postgres()
    with contextlib.closing(psycopg2.connect(
        host=env["PGHOST"], port=env["PGPORT"], user=env["PGUSER"],
        password=env["PGPASSWORD"], dbname=env["PGDATABASE"],
    )) as con, con.cursor() as cur:
        cur.execute("select version()")
        version = cur.fetchone()[0].split(" on ")[0]
        settings = []
        for name in ("shared_buffers", "work_mem", "max_parallel_workers_per_gather",
                     "jit"):
            cur.execute(f"show {name}")
            settings.append(f"{name} = {cur.fetchone()[0]}")
    return f"- {version} (server settings as found: {', '.join(settings)})"


def say(message: str) -> None:
    print(f"{datetime.now():%H:%M:%S} {message}", flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.bench_datasets",
        description=textwrap.dedent(__doc__.split("\n\n")[0]),
    )
    parser.add_argument("--duckdb-rows", type=int, nargs="*",
                        default=[1_000_000, 10_000_000],
                        help="stream sizes on DuckDB (default: 1M 10M)")
    parser.add_argument("--postgres-rows", type=int, nargs="*",
                        default=[1_000_000],
                        help="stream sizes on Postgres (default: 1M)")
    parser.add_argument("--quick", action="store_true",
                        help="~100k rows on each engine (overrides the sizes)")
    parser.add_argument("--timeout", type=float, default=1200,
                        help="seconds before the self-join is stopped (default 1200)")
    parser.add_argument("--dataset-timeout", type=float, default=1200,
                        help="seconds before order_journeys is stopped (default 1200)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each floor and of order_journeys, "
                        "in turn; each reports its median (default 3)")
    parser.add_argument("--duckdb-memory-limit", default="8GB",
                        help="DuckDB memory_limit of every model (default 8GB; "
                        "'' for DuckDB's default, 80%% of RAM)")
    parser.add_argument("--skip-selfjoin", action="store_true")
    parser.add_argument("--zipf-s", type=float, default=1.0,
                        help="Zipf exponent of events per customer (default 1)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=None,
                        help="markdown output (default: bench/results/datasets.md, "
                        "not written with --quick unless given)")
    parser.add_argument("--work", type=Path, default=None,
                        help="folder for the throwaway copies (default: a temp dir)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the throwaway copies (and their databases)")
    args = parser.parse_args(argv)
    if args.quick:
        args.duckdb_rows, args.postgres_rows = [100_000], [100_000]
    if args.out is None and not args.quick:
        args.out = RESULTS
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = "python -m bench.bench_datasets " + " ".join(
        sys.argv[1:] if argv is None else argv)
    work = Path(args.work or tempfile.mkdtemp(prefix="bench_datasets_"))
    work.mkdir(parents=True, exist_ok=True)
    say(f"work folder {work}")
    pg_info = postgres_info() if args.postgres_rows else ""
    sizes = sorted(set(args.duckdb_rows) | set(args.postgres_rows))
    cases: list[Case] = []

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(f"stopped by signal {signum}")

    # A SIGTERM still writes the report of the cases done so far.
    signal.signal(signal.SIGTERM, stop)
    try:
        for rows in sizes:
            generator = work / f"generator_{rows}.duckdb"
            started = time.perf_counter()
            with duckdb.connect(str(generator)) as con:
                stats = generate_stream(con, rows, seed=args.seed, zipf_s=args.zipf_s)
            say(f"generated {stats['rows']:,} stream rows in "
                f"{time.perf_counter() - started:.1f} s: {stats}")
            for engine, engine_sizes in (
                ("duckdb", args.duckdb_rows), ("postgres", args.postgres_rows)
            ):
                if rows in engine_sizes:
                    case = Case(engine=engine, rows=rows, stream=stats)
                    cases.append(case)
                    run_case(case, generator, args, work)
                    print(table(cases, args.timeout), flush=True)
                    if args.out:
                        write_report(args.out, report(
                            sorted(cases, key=lambda c: (c.engine, c.rows)),
                            args, command.strip(), pg_info,
                            partial=True))
            if not args.keep:
                generator.unlink(missing_ok=True)
    finally:
        cases.sort(key=lambda c: (c.engine, c.rows))
        text = report(cases, args, command.strip(), pg_info)
        print("\n" + text, flush=True)
        if args.out and cases:
            write_report(args.out, text)
            say(f"wrote {args.out}")
        if not args.keep and args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
