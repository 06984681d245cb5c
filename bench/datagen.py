"""Raw jaffle_activity data at benchmark scale, generated with SQL in DuckDB.

`tools/generate_data.py` builds the raw tables row by row in Python, which is
fine for seeds but far too slow for ten million rows. This module builds the
same four tables with the same columns, the same shape and about the same
proportions, as set-based SQL inside a DuckDB database (the "generator"
database): `range()` for the rows and `hash()` of (row key, purpose, seed) for
every pseudo-random choice, so equal arguments give equal data (with one
DuckDB version: `hash()` is not guaranteed stable across versions).

The simulated shop (as in tools/generate_data.py, simplified):

* customers sign up during the first 80 % of the period (182 days from
  2024-01-01), ids in sign-up order;
* 1 in 6 customers never order, the others place 1-5 orders (weights
  20/25/25/18/12) on or after their sign-up date; the status depends on the
  order's age at the end of the period;
* an order is paid (in cents) on its date, after sign-up, once or split into
  a coupon plus a card payment (12 %, half of them in the same second); half
  of the recent `placed` orders are unpaid;
* web events are the bulk (~79 % of the rows): every customer who orders (and
  60 % of the others) has a device (visitor) that browses anonymously before a
  `/login` at sign-up and carries the customer id from then on; 20 % of the
  customers with two or more orders have a second device that logs in before
  its first order; shopping walks (`/`, `/menu`, `/cart`, `/checkout`) end
  just before each payment, with more views before and after orders; 0.4
  anonymous visitors per customer never log in.

About 27 raw rows per customer; every raw row is one stream row.

Every raw table ends with `_loaded_at`, the time the loader wrote the row (as
Fivetran, Airbyte or dlt record it), in the column order of the seeds. The
base data is one historical backfill: every row has the midnight after the
period.

`generate_batch` adds one ingestion batch on top of the base data: new rows
(about a given count) of every table, a share of them late (by default 1-48 h
before a given high-water mark; any other range can be asked for, such as
1-30 days), the rest after it: new customers with a new device, new orders
(with payments and a shopping walk) of existing customers, more views of
existing customers' devices, of existing anonymous visitors and of new ones.
Every row of a batch carries the batch's own load time: the midnight after
the batch's latest ts, and at least a second after the latest `_loaded_at`
of the base data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from bench.identity_data import (
    IDENTITY_COLUMNS,
    IDENTITY_TABLES,
    empty_identity_batch,
    generate_base_identity,
)
from tools.generate_data import FIRST_NAMES

DEFAULT_SEED = 42
DEFAULT_START = date(2024, 1, 1)
DEFAULT_DAYS = 182
# Raw rows (= stream rows) per customer of `generate_base`, measured.
ROWS_PER_CUSTOMER = 26.93
ANONYMOUS_VISITORS_PER_CUSTOMER = 0.4

RAW_TABLES = ("raw_customers", "raw_orders", "raw_payments", "raw_web_events")
# The load time column, last in every raw table (as in the seeds).
LOADED_AT = "_loaded_at"
RAW_COLUMNS = {
    "raw_customers": ("id", "first_name", "last_name", "created_at", LOADED_AT),
    "raw_orders": ("id", "user_id", "order_date", "status", LOADED_AT),
    "raw_payments": ("id", "order_id", "payment_method", "amount", "created_at", LOADED_AT),
    "raw_web_events": ("id", "visitor_id", "customer_id", "page", "occurred_at", LOADED_AT),
}
# Every raw table a load writes: the activity tables and the identity
# tables (bench/identity_data.py).
LOADED_TABLES = RAW_TABLES + IDENTITY_TABLES
LOADED_COLUMNS = {**RAW_COLUMNS, **IDENTITY_COLUMNS}
# The column that gives a raw row its stream ts (an order: its date's midnight).
TS_EXPRESSIONS = {
    "raw_customers": "created_at",
    "raw_orders": "cast(order_date as timestamp)",
    "raw_payments": "created_at",
    "raw_web_events": "occurred_at",
}


def _literal(value: datetime | date) -> str:
    if isinstance(value, datetime):
        return f"timestamp '{value:%Y-%m-%d %H:%M:%S}'"
    return f"date '{value:%Y-%m-%d}'"


@dataclass
class SqlRandom:
    """SQL expressions of deterministic pseudo-random numbers."""

    seed: int

    def u(self, salt: str, *keys: str) -> str:
        """Uniform in [0, 1), a function of (keys, salt, seed)."""
        return f"((hash({', '.join(keys)}, '{salt}', {self.seed}) >> 11) / 9007199254740992.0)"

    def int(self, low: int, high: int, salt: str, *keys: str) -> str:
        """A whole number in [low, high]."""
        return f"({low} + cast(floor({self.u(salt, *keys)} * {high - low + 1}) as bigint))"

    def pick(self, items: list[str], salt: str, *keys: str) -> str:
        """One of the string literals `items`."""
        array = "[" + ", ".join(f"'{item}'" for item in items) + "]"
        return f"({array})[{self.int(1, len(items), salt, *keys)}]"


def customers_for_rows(rows: int) -> int:
    """How many customers give about `rows` raw rows."""
    return max(10, round(rows / ROWS_PER_CUSTOMER))


def generate_base(
    con: Any,
    rows: int,
    *,
    seed: int = DEFAULT_SEED,
    start: date = DEFAULT_START,
    days: int = DEFAULT_DAYS,
) -> dict[str, int]:
    """Create raw_customers/orders/payments/web_events (and helpers) in `con`.

    `con` is a DuckDB connection to the generator database; the tables are
    replaced. Every row has the same `_loaded_at`: the midnight after the
    period (one backfill). Returns the row count of each raw table.
    """
    r = SqlRandom(seed)
    customers = customers_for_rows(rows)
    anonymous = max(1, round(customers * ANONYMOUS_VISITORS_PER_CUSTOMER))
    t0 = datetime.combine(start, datetime.min.time())
    t_end = t0 + timedelta(days=days)
    last_date = start + timedelta(days=days - 1)
    window = int(days * 0.8 * 86400)
    period_seconds = days * 86400
    names = "[" + ", ".join(f"'{name}'" for name in FIRST_NAMES) + "]"

    statements = [
        # -- customers ------------------------------------------------------
        f"""
        create or replace table g_customers as
        with base as (
            select
                i as id,
                {_literal(t0)} + to_seconds(cast(floor(
                    (i - 1 + {r.u('signup', 'i')}) * {window} / {customers}) as bigint))
                    as created_at,
                {r.u('no_order', 'i')} as u_none,
                {r.u('order_count', 'i')} as u_count,
                {r.u('web', 'i')} as u_web,
                {r.u('device2', 'i')} as u_device2
            from range(1, {customers} + 1) as t(i)
        ),
        counted as (
            select
                *,
                case
                    when u_none < 1.0 / 6 then 0
                    when u_count < 0.20 then 1
                    when u_count < 0.45 then 2
                    when u_count < 0.70 then 3
                    when u_count < 0.88 then 4
                    else 5
                end as order_count
            from base
        )
        select
            id,
            ({names})[{r.int(1, len(FIRST_NAMES), 'first_name', 'id')}] as first_name,
            chr(cast({r.int(65, 90, 'last_name', 'id')} as integer)) || '.' as last_name,
            created_at,
            order_count,
            order_count > 0 or u_web < 0.6 as has_device,
            order_count >= 2 and u_device2 < 0.2 as has_device2
        from counted
        """,
        # -- orders (with the moment of payment, the anchor of the web views) --
        f"""
        create or replace table g_orders as
        with planned as (
            select
                c.id as user_id,
                s.n,
                c.created_at,
                c.has_device2,
                cast(c.created_at as date) + cast(floor(
                    {r.u('order_date', 'c.id', 's.n')}
                    * (({_literal(last_date)} - cast(c.created_at as date)) + 1)) as integer)
                    as order_date
            from g_customers as c
            inner join range(1, 6) as s(n) on s.n <= c.order_count
        ),
        numbered as (
            select
                row_number() over (order by order_date, user_id, n) as id,
                *,
                {_literal(last_date)} - order_date as age
            from planned
        ),
        drawn as (
            select *, {r.u('status', 'id')} as u_status from numbered
        )
        select
            id,
            user_id,
            n,
            order_date,
            case when has_device2 and n % 2 = 0 then 2 else 1 end as device,
            case
                when age <= 2 then case
                    when u_status < 0.45 then 'placed'
                    when u_status < 0.80 then 'shipped'
                    else 'completed' end
                when age <= 7 then case
                    when u_status < 0.05 then 'placed'
                    when u_status < 0.25 then 'shipped'
                    when u_status < 0.95 then 'completed'
                    else 'return_pending' end
                else case
                    when u_status < 0.03 then 'placed'
                    when u_status < 0.06 then 'shipped'
                    when u_status < 0.91 then 'completed'
                    when u_status < 0.94 then 'return_pending'
                    else 'returned' end
            end as status,
            greatest(order_date + interval 7 hour, created_at + interval 30 minute)
                + to_seconds({r.int(0, 14 * 3600, 'paid_at', 'id')}) as paid_at
        from drawn
        """,
        # -- payments ---------------------------------------------------------
        f"""
        create or replace table g_payment_plans as
        select
            o.id as order_id,
            o.paid_at,
            o.status = 'placed' and {r.u('unpaid', 'o.id')} < 0.5 as unpaid,
            1000 + 50 * {r.int(0, 40, 'total', 'o.id')} as total,
            {r.u('split', 'o.id')} < 0.12 as split,
            200 + 100 * {r.int(0, 6, 'coupon', 'o.id')} as coupon,
            case
                when {r.u('same_second', 'o.id')} < 0.5 then o.paid_at
                else o.paid_at + to_seconds({r.int(5, 300, 'card_at', 'o.id')})
            end as card_at,
            {r.pick(['credit_card', 'bank_transfer', 'gift_card'], 'card', 'o.id')} as card_method,
            {r.u('method', 'o.id')} as u_method
        from g_orders as o
        """,
        _payments_sql("g_payment_plans", "raw_payments", "0"),
        # -- devices (known visitors) ----------------------------------------
        f"""
        create or replace table g_devices as
        select
            c.id as cid,
            1 as device,
            c.created_at + to_seconds({r.int(5, 90, 'login1', 'c.id')}) as login_at
        from g_customers as c
        where c.has_device
        union all
        select
            o.user_id,
            2,
            min(o.paid_at) - to_seconds(1200 + {r.int(10, 60, 'login2', 'o.user_id')})
        from g_orders as o
        where o.device = 2
        group by o.user_id
        """,
        # -- sessions: runs of views of one visitor --------------------------
        f"""
        create or replace table g_sessions as
        with devices as (
            select
                *,
                'c' || cid || '.' || device as vkey,
                cid * 2 + device as dk
            from g_devices
        ),
        orders as (
            select
                o.*,
                d.vkey,
                d.login_at,
                case
                    when {r.u('walk_extra', 'o.id')} < 0.5
                        then ['/', '/menu', '/cart', '/checkout']
                    else ['/', '/menu', '/menu', '/cart', '/checkout']
                end as walk
            from g_orders as o
            inner join devices as d on d.cid = o.user_id and d.device = o.device
        )
        -- anonymous views before the device's login
        select
            vkey, cid, login_at, 1 as k1, dk as k2, 0 as k3,
            login_at - to_seconds(case
                when {r.u('pre_far', 'dk')} < 0.6 then {r.int(10, 120, 'pre_gap', 'dk')}
                else {r.int(3600, 72 * 3600, 'pre_gap', 'dk')} end) as anchor,
            true as backwards,
            {r.int(15, 300, 'pre_step', 'dk')} as step,
            {r.int(1, 4, 'pre_n', 'dk')} as n,
            cast(null as varchar[]) as fixed,
            ['/', '/menu'] as choices
        from devices
        union all
        -- the login
        select vkey, cid, login_at, 2, dk, 0, login_at, false, 0, 1, ['/login'], null
        from devices
        union all
        -- the shopping walk of each order, ending just before the payment
        select
            vkey, user_id, login_at, 3, id, 0,
            paid_at - to_seconds({r.int(5, 60, 'walk_end', 'id')}),
            true,
            {r.int(20, 180, 'walk_step', 'id')},
            len(walk) - cast({r.u('walk_drop', 'id')} < 0.3 as integer),
            case when {r.u('walk_drop', 'id')} < 0.3 then walk[2:] else walk end,
            null
        from orders
        union all
        -- a visit a day or two before an order
        select
            vkey, user_id, login_at, 4, id, 0,
            paid_at - to_seconds({r.int(86400, 2 * 86400, 'before_at', 'id')}),
            false,
            {r.int(20, 240, 'before_step', 'id')},
            {r.int(1, 2, 'before_n', 'id')},
            null,
            ['/', '/menu']
        from orders
        where {r.u('before', 'id')} < 0.3
        union all
        -- a visit hours or days after an order
        select
            vkey, user_id, login_at, 5, id, 0,
            paid_at + to_seconds({r.int(3600, 72 * 3600, 'after_at', 'id')}),
            false,
            {r.int(20, 240, 'after_step', 'id')},
            {r.int(1, 2, 'after_n', 'id')},
            null,
            ['/account', '/menu']
        from orders
        where {r.u('after', 'id')} < 0.6
        union all
        -- 0-2 browsing sessions of a device after its login
        select
            d.vkey, d.cid, d.login_at, 6, d.dk, s.m,
            d.login_at + to_seconds(cast(floor({r.u('browse_at', 'd.dk', 's.m')}
                * greatest(0, epoch({_literal(t_end)} - d.login_at))) as bigint)),
            false,
            {r.int(20, 240, 'browse_step', 'd.dk', 's.m')},
            {r.int(1, 3, 'browse_n', 'd.dk', 's.m')},
            null,
            ['/', '/menu', '/account']
        from devices as d
        inner join range(1, 3) as s(m) on s.m <= {r.int(0, 2, 'browse_count', 'd.dk')}
        union all
        -- visitors who never log in: 1-3 sessions of 1-6 views
        select
            'a' || a.a, null, null, 7, a.a, s.m,
            {_literal(t0)} + to_seconds(cast(floor(
                {r.u('anon_at', 'a.a', 's.m')} * {period_seconds}) as bigint)),
            false,
            {r.int(20, 240, 'anon_step', 'a.a', 's.m')},
            {r.int(1, 6, 'anon_n', 'a.a', 's.m')},
            null,
            ['/', '/menu', '/cart']
        from range(1, {anonymous} + 1) as a(a)
        inner join range(1, 4) as s(m) on s.m <= {r.int(1, 3, 'anon_sessions', 'a.a')}
        """,
        _views_sql("g_sessions", "g_views", r, t0, t_end),
        f"""
        create or replace table g_visitors as
        select
            vkey,
            row_number() over (order by min(ts), vkey) as visitor_number
        from g_views
        group by vkey
        """,
        """
        create or replace table raw_web_events as
        select
            cast(row_number() over (
                order by v.ts, g.visitor_number, v.k1, v.k2, v.k3, v.j) as integer) as id,
            printf('v%05d', g.visitor_number) as visitor_id,
            cast(case when v.cid is not null and v.ts >= v.login_at then v.cid end
                as integer) as customer_id,
            v.page,
            v.ts as occurred_at
        from g_views as v
        inner join g_visitors as g on g.vkey = v.vkey
        order by id
        """,
        """
        create or replace table raw_customers as
        select cast(id as integer) as id, first_name, last_name, created_at
        from g_customers order by id
        """,
        """
        create or replace table raw_orders as
        select cast(id as integer) as id, cast(user_id as integer) as user_id,
            order_date, status
        from g_orders order by id
        """,
        f"""
        create or replace table g_meta as
        select
            {customers} as customers,
            {anonymous} as anonymous_visitors,
            {_literal(t0)} as period_start,
            {_literal(t_end)} as period_end,
            {_literal(t_end)} as loaded_at
        """,
    ]
    for statement in statements:
        con.execute(statement)
    _stamp_loaded_at(con, "", t_end)
    counts = {name: con.execute(f"select count(*) from {name}").fetchone()[0]
              for name in RAW_TABLES}
    counts.update(generate_base_identity(con, seed, t_end))
    return counts


def _stamp_loaded_at(con: Any, prefix: str, loaded_at: datetime) -> None:
    """Append `_loaded_at` = `loaded_at` to every raw table `<prefix>raw_*`."""
    for name in RAW_TABLES:
        table = f"{prefix}{name}"
        con.execute(
            f"alter table {table} add column {LOADED_AT} timestamp default {_literal(loaded_at)}"
        )
        con.execute(f"alter table {table} alter column {LOADED_AT} drop default")


def _payments_sql(plans: str, table: str, first_id: str) -> str:
    """The payments of a plan table: one, or a coupon plus a card payment."""
    return f"""
        create or replace table {table} as
        with parts as (
            select
                order_id,
                1 as part,
                case
                    when split then 'coupon'
                    when u_method < 0.55 then 'credit_card'
                    when u_method < 0.65 then 'coupon'
                    when u_method < 0.90 then 'bank_transfer'
                    else 'gift_card'
                end as payment_method,
                case when split then coupon else total end as amount,
                paid_at as created_at
            from {plans}
            where not unpaid
            union all
            select order_id, 2, card_method, total - coupon, card_at
            from {plans}
            where not unpaid and split
        )
        select
            cast({first_id} + row_number() over (order by order_id, part) as integer) as id,
            cast(order_id as integer) as order_id,
            payment_method,
            cast(amount as integer) as amount,
            created_at
        from parts
        order by id
    """


def _views_sql(
    sessions: str, table: str, r: SqlRandom, t0: datetime | None, t_end: datetime | None
) -> str:
    """One row per view of each session, kept inside [t0, t_end)."""
    bounds = []
    if t0 is not None:
        bounds.append(f"ts >= {_literal(t0)}")
    if t_end is not None:
        bounds.append(f"ts < {_literal(t_end)}")
    where = f"where {' and '.join(bounds)}" if bounds else ""
    return f"""
        create or replace table {table} as
        select * from (
            select
                s.vkey, s.cid, s.login_at, s.k1, s.k2, s.k3, w.j,
                case
                    when s.backwards then s.anchor - to_seconds(s.step * (s.n - 1 - w.j))
                    else s.anchor + to_seconds(s.step * w.j)
                end as ts,
                coalesce(
                    s.fixed[w.j + 1],
                    s.choices[cast(1 + hash(s.k1, s.k2, s.k3, w.j, 'page', {r.seed})
                        % len(s.choices) as integer)]) as page
            from {sessions} as s
            inner join range(0, 6) as w(j) on w.j < s.n
        ) {where}
    """


# --------------------------------------------------------------------------
# one ingestion batch
# --------------------------------------------------------------------------

# Shares of the batch's rows, as in the base data.
BATCH_CUSTOMER_SHARE = 0.037
BATCH_ORDER_SHARE = 0.085
BATCH_BROWSE_SESSIONS_PER_ROW = 0.10
# The rows of a unit of activity spread up to ~15 min around its moment: a
# late unit's moment keeps this margin inside the requested range.
UNIT_SPREAD_SECONDS = 900
DEFAULT_LATE_HOURS = (1.0, 48.0)
ON_TIME_LOW_SECONDS = 900
ON_TIME_HIGH_SECONDS = 24 * 3600


def generate_batch(
    con: Any,
    rows: int,
    high_water_mark: datetime,
    *,
    seed: int = DEFAULT_SEED,
    late: float = 0.2,
    late_hours: tuple[float, float] = DEFAULT_LATE_HOURS,
    window_hours: float | None = None,
) -> dict[str, Any]:
    """Create b_raw_* tables in `con` with about `rows` new raw rows.

    Needs the tables of `generate_base` in `con`. Units of activity (a new
    customer with its device, an order with its payments and shopping walk,
    a browsing session) are late with probability `late`: their rows lie
    `late_hours` (low, high; by default 1 to 48 h) before `high_water_mark`;
    the others up to a day after it. The anonymous browsing fills the batch
    up to exactly `rows` rows. Every row gets the batch's load time in
    `_loaded_at` (see the module's docstring).

    Returns a summary: rows per table, how many rows have a stream ts before
    the high-water mark (`late_rows`), the batch's ts range and load time,
    and with `window_hours`, how many rows lie more than that before the
    latest ts of their own table in the base data (`outside_window`: rows
    that a look-back of that length, measured from each activity's latest
    ts, does not reach).
    """
    low_hours, high_hours = late_hours
    late_low = round(low_hours * 3600) + UNIT_SPREAD_SECONDS
    late_high = round(high_hours * 3600) - UNIT_SPREAD_SECONDS
    if not 0 <= low_hours < high_hours or late_low > late_high:
        raise ValueError(
            f"late_hours must be (low, high) with 0 <= low < high and room for the "
            f"{UNIT_SPREAD_SECONDS // 60} min spread of a unit at both ends, got {late_hours}"
        )
    r = SqlRandom(seed * 1_000_003 + 7)
    hwm = _literal(high_water_mark)
    n_customers = max(1, round(rows * BATCH_CUSTOMER_SHARE))
    n_orders = max(1, round(rows * BATCH_ORDER_SHARE))
    n_browse = max(1, round(rows * BATCH_BROWSE_SESSIONS_PER_ROW))
    n_anonymous = max(1, rows)  # more than needed: trimmed below

    def moment(*keys: str) -> str:
        return f"""(case when {r.u('late', *keys)} < {late}
            then {hwm} - to_seconds({r.int(late_low, late_high, 'late_at', *keys)})
            else {hwm} + to_seconds({r.int(ON_TIME_LOW_SECONDS, ON_TIME_HIGH_SECONDS, 'on_time_at', *keys)})
            end)"""

    statements = [
        """
        create or replace table b_max as
        select
            (select max(id) from raw_customers) as customer_id,
            (select max(id) from raw_orders) as order_id,
            (select max(id) from raw_payments) as payment_id,
            (select max(id) from raw_web_events) as event_id,
            (select max(visitor_number) from g_visitors) as visitor_number,
            (select count(*) from g_devices) as devices,
            (select count(*) from g_devices where device = 1) as first_devices,
            (select anonymous_visitors from g_meta) as anonymous_visitors
        """,
        # devices, numbered for random picks, with their visitor numbers
        """
        create or replace table b_devices as
        select
            row_number() over (order by d.cid, d.device) as pick,
            d.device,
            d.cid,
            d.login_at,
            g.visitor_number
        from g_devices as d
        inner join g_visitors as g on g.vkey = 'c' || d.cid || '.' || d.device
        """,
        """
        create or replace table b_first_devices as
        select row_number() over (order by pick) as pick, cid, login_at, visitor_number
        from b_devices where device = 1
        """,
        f"""
        create or replace table b_customers as
        select
            m.customer_id + i as id,
            {r.pick(list(FIRST_NAMES), 'first_name', 'i')} as first_name,
            chr(cast({r.int(65, 90, 'last_name', 'i')} as integer)) || '.' as last_name,
            {moment("'customer'", 'i')} as created_at
        from range(1, {n_customers} + 1) as t(i), b_max as m
        """,
        f"""
        create or replace table b_orders as
        select
            m.order_id + i as id,
            d.cid as user_id,
            d.visitor_number,
            {moment("'order'", 'i')} as paid_at
        from range(1, {n_orders} + 1) as t(i)
        cross join b_max as m
        inner join b_first_devices as d
            on d.pick = 1 + cast(floor({r.u('order_customer', 'i')} * m.first_devices) as bigint)
        """,
        f"""
        create or replace table b_payment_plans as
        select
            o.id as order_id,
            o.paid_at,
            false as unpaid,
            1000 + 50 * {r.int(0, 40, 'total', 'o.id')} as total,
            {r.u('split', 'o.id')} < 0.12 as split,
            200 + 100 * {r.int(0, 6, 'coupon', 'o.id')} as coupon,
            case
                when {r.u('same_second', 'o.id')} < 0.5 then o.paid_at
                else o.paid_at + to_seconds({r.int(5, 300, 'card_at', 'o.id')})
            end as card_at,
            {r.pick(['credit_card', 'bank_transfer', 'gift_card'], 'card', 'o.id')} as card_method,
            {r.u('method', 'o.id')} as u_method
        from b_orders as o
        """,
        _payments_sql("b_payment_plans", "b_raw_payments", "(select payment_id from b_max)"),
        f"""
        create or replace table b_sessions as
        with new_devices as (
            select
                c.id as cid,
                'n' || c.id as vkey,
                c.created_at + to_seconds({r.int(5, 90, 'login', 'c.id')}) as login_at
            from b_customers as c
        ),
        browsing as (
            select
                i,
                d.vkey_number,
                d.cid,
                d.login_at,
                {moment("'browse'", 'i')} as anchor
            from range(1, {n_browse} + 1) as t(i)
            cross join b_max as m
            inner join (
                select pick, visitor_number as vkey_number, cid, login_at from b_devices
            ) as d
                on d.pick = 1 + cast(floor({r.u('browse_device', 'i')} * m.devices) as bigint)
        ),
        anonymous as (
            select
                i,
                case
                    when {r.u('anon_new', 'i')} < 0.3
                        then 'b' || (1 + cast(floor({r.u('anon_visitor', 'i')} * {max(1, n_anonymous // 3)}) as bigint))
                    else 'a' || (1 + cast(floor({r.u('anon_visitor', 'i')} * m.anonymous_visitors) as bigint))
                end as vkey,
                {moment("'anonymous'", 'i')} as anchor
            from range(1, {n_anonymous} + 1) as t(i), b_max as m
        )
        -- a new customer's device: anonymous views, then the login
        select
            vkey, cid, login_at, 1 as k1, cid as k2, 0 as k3,
            login_at - to_seconds({r.int(10, 120, 'pre_gap', 'cid')}) as anchor,
            true as backwards,
            {r.int(15, 120, 'pre_step', 'cid')} as step,
            {r.int(1, 3, 'pre_n', 'cid')} as n,
            cast(null as varchar[]) as fixed,
            ['/', '/menu'] as choices
        from new_devices
        union all
        select vkey, cid, login_at, 2, cid, 0, login_at, false, 0, 1, ['/login'], null
        from new_devices
        union all
        -- the shopping walk of each new order, on the customer's first device
        select
            'c' || user_id || '.1', user_id, null, 3, id, 0,
            paid_at - to_seconds({r.int(5, 60, 'walk_end', 'id')}),
            true,
            {r.int(20, 120, 'walk_step', 'id')},
            case when {r.u('walk_extra', 'id')} < 0.5 then 4 else 5 end,
            case
                when {r.u('walk_extra', 'id')} < 0.5 then ['/', '/menu', '/cart', '/checkout']
                else ['/', '/menu', '/menu', '/cart', '/checkout']
            end,
            null
        from b_orders
        union all
        -- customers' devices browsing again
        select
            'v' || vkey_number, cid, login_at, 4, i, 0, anchor, false,
            {r.int(20, 240, 'browse_step', 'i')},
            {r.int(1, 3, 'browse_n', 'i')},
            null,
            ['/', '/menu', '/account']
        from browsing
        union all
        -- anonymous visitors, known and new
        select
            vkey, null, null, 5, i, 0, anchor, false,
            {r.int(20, 240, 'anon_step', 'i')},
            {r.int(1, 4, 'anon_n', 'i')},
            null,
            ['/', '/menu', '/cart']
        from anonymous
        """,
        _views_sql("b_sessions", "b_views", r, None, None),
        # Anonymous views fill the batch up to `rows`: keep them in a fixed
        # pseudo-random order.
        f"""
        create or replace table b_views_kept as
        with budget as (
            select {rows}
                - (select count(*) from b_customers)
                - (select count(*) from b_orders)
                - (select count(*) from b_raw_payments)
                - (select count(*) from b_views where k1 <> 5) as anonymous_rows
        ),
        anonymous as (
            select
                *,
                row_number() over (order by hash(k2, 'keep', {r.seed}), k2, j) as keep_rank
            from b_views
            where k1 = 5
        )
        select vkey, cid, login_at, k1, k2, k3, j, ts, page from b_views where k1 <> 5
        union all
        select vkey, cid, login_at, k1, k2, k3, j, ts, page
        from anonymous, budget
        where keep_rank <= budget.anonymous_rows
        """,
        # visitor numbers: known ones from the base data, new ones after the maximum
        """
        create or replace table b_visitors as
        with known as (
            select g.vkey, g.visitor_number from g_visitors as g
            where g.vkey in (select vkey from b_views_kept)
            union all
            select 'v' || d.visitor_number, d.visitor_number from b_devices as d
            where 'v' || d.visitor_number in (select vkey from b_views_kept)
        ),
        fresh as (
            select
                v.vkey,
                m.visitor_number
                    + row_number() over (order by min(v.ts), v.vkey) as visitor_number
            from b_views_kept as v, b_max as m
            where v.vkey not in (select vkey from known)
            group by v.vkey, m.visitor_number
        )
        select * from known
        union all
        select * from fresh
        """,
        """
        create or replace table b_raw_web_events as
        select
            cast(m.event_id + row_number() over (
                order by v.ts, g.visitor_number, v.k1, v.k2, v.k3, v.j) as integer) as id,
            printf('v%05d', g.visitor_number) as visitor_id,
            cast(case
                when v.cid is not null and (v.login_at is null or v.ts >= v.login_at)
                    then v.cid
            end as integer) as customer_id,
            v.page,
            v.ts as occurred_at
        from b_views_kept as v
        inner join b_visitors as g on g.vkey = v.vkey
        cross join b_max as m
        order by id
        """,
        """
        create or replace table b_raw_customers as
        select cast(id as integer) as id, first_name, last_name, created_at
        from b_customers order by id
        """,
        """
        create or replace table b_raw_orders as
        select
            cast(id as integer) as id,
            cast(user_id as integer) as user_id,
            cast(paid_at as date) as order_date,
            case
                when {u} < 0.45 then 'placed'
                when {u} < 0.80 then 'shipped'
                else 'completed'
            end as status
        from b_orders order by id
        """.replace("{u}", r.u("status", "id")),
    ]
    for statement in statements:
        con.execute(statement)
    bounds = " union all ".join(
        f"select min({TS_EXPRESSIONS[name]}) as low, max({TS_EXPRESSIONS[name]}) as high "
        f"from b_{name}"
        for name in RAW_TABLES
    )
    low, high = con.execute(f"select min(low), max(high) from ({bounds})").fetchone()
    latest_loads = " union all ".join(
        f"select max({LOADED_AT}) as loaded_at from {name}" for name in RAW_TABLES
    )
    loaded_before = con.execute(f"select max(loaded_at) from ({latest_loads})").fetchone()[0]
    loaded_at = batch_load_time(loaded_before, high)
    _stamp_loaded_at(con, "b_", loaded_at)
    empty_identity_batch(con)

    summary: dict[str, Any] = {
        "tables": {}, "late_rows": 0, "rows": 0, "late_hours": [low_hours, high_hours],
    }
    if window_hours is not None:
        summary["outside_window"] = 0
    for name in RAW_TABLES:
        ts = TS_EXPRESSIONS[name]
        outside = (
            f"count(*) filter (where {ts} < (select max({ts}) from {name})"
            f" - to_seconds({round(window_hours * 3600)}))"
            if window_hours is not None else "0"
        )
        count, late_rows, outside_rows = con.execute(
            f"select count(*), count(*) filter (where {ts} < {hwm}), {outside} from b_{name}"
        ).fetchone()
        summary["tables"][name] = count
        summary["rows"] += count
        summary["late_rows"] += late_rows
        if window_hours is not None:
            summary["outside_window"] += outside_rows
    summary["min_ts"], summary["max_ts"] = low, high
    summary["loaded_at"] = loaded_at
    return summary


def batch_load_time(previous: datetime | None, latest_ts: datetime) -> datetime:
    """A batch's load time: the midnight after `latest_ts`'s day, at least a
    second after `previous` (the latest load time before the batch)."""
    midnight = datetime.combine(latest_ts.date() + timedelta(days=1), datetime.min.time())
    if previous is None:
        return midnight
    return max(previous + timedelta(seconds=1), midnight)
