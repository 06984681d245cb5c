"""The heavy-tailed stream of the dataset benchmark (bench/bench_datasets.py).

`generate_stream` builds table `stream` (the stream's ten spec columns) in a
DuckDB "generator" database, with set-based SQL: customers 1..N (N = rows /
20); customer k holds n_k events with n_k - 1 proportional to k^-s (Zipf's
rank-frequency law, s = 1 by default: the number of customers with at least
m events falls as 1/m), rounded at random, so the busiest customers hold
thousands of orders and tens of thousands of page views while the median one
holds a few events. Each customer has one created_account, ~10 % of its
events are orders (placed_order), each order is paid once (85 %), in two
parts (12 %: a coupon and a card, half of them in the same second) or not at
all (3 %) (made_payment, revenue_impact in dollars, feature `amount`), the
rest are page views (viewed_page) of the customer's device: 0-3 anonymous
ones before the sign-up (customer null), the others logged in (customer and
anonymous id). Visitors who never log in fill 5 % of the rows. Timestamps
are in seconds over two years; activity_id is the md5 of the source key as
in the project; activity_occurrence and activity_repeated_at are computed
over `partition by activity, coalesce(customer, anonymous_customer_id) order
by ts, activity_id`; feature_json is JSON (DuckDB) / jsonb (Postgres, once
copied). Randomness is `hash()` of (key, purpose, seed): same arguments,
same data (with one DuckDB version).
"""

from __future__ import annotations

from typing import Any

import duckdb

from bench.datagen import SqlRandom

# The stream's spec columns, as `stream` holds them.
STREAM_COLUMNS = (
    "activity_id", "ts", "customer", "anonymous_customer_id", "activity",
    "feature_json", "revenue_impact", "link", "activity_occurrence",
    "activity_repeated_at",
)


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
