"""What the dataset benchmark times: the datasets, their floors, their self-joins.

bench/bench_datasets.py writes every model of `MODELS` into `models/bench/`
of its throwaway copy of the project, and times each dataset of `DATASETS`
against:

- its floor: a table model that reads the rows the dataset reads, once, and
  writes them sorted as the dataset's window pass needs them (entity, then
  time). Nothing that computes the dataset from those rows can skip reading,
  sorting by entity and time and writing them, so the dataset's time over
  the floor's is what its relationships cost on top.
- a stricter second floor where one is meaningful: for order_journeys the
  same sorted copy with only the columns it reads (writing every column
  weighs on the floor more than the dataset's narrow output weighs on it);
  for customer_monthly_orders a hand-written query of the same result
  (aggregates per customer and month, then running totals over the months),
  whose rows are compared with the dataset's like a self-join's.
- its self-join form: the same result written as joins of the primary rows
  (or periods) to the appended rows on the entity and the relationship's
  condition, then grouped or ranked back to one row per primary row, the
  shape the public dbt activity-schema packages generate. Its rows must
  equal the dataset's.

The self-joins take `var('bench_statement_timeout_ms')` as a Postgres
statement_timeout (on DuckDB the bench kills the dbt process).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BenchDataset:
    """A dataset model the bench times, and what it is compared with."""

    name: str  # the dataset model
    summary: str  # what it is, for the report
    floor: str  # the floor model
    floor_summary: str
    selfjoin: str  # the self-join model, whose rows must equal the dataset's
    selfjoin_summary: str
    keys: tuple[str, ...]  # the columns that identify a row
    columns: tuple[str, ...]  # the other columns, compared value by value
    strict: str | None = None  # a stricter floor, if any
    strict_label: str = ""  # its short name in the tables
    strict_summary: str = ""
    strict_same_rows: bool = False  # whether its rows must equal the dataset's

    @property
    def compared(self) -> tuple[str, ...]:
        """The models whose rows must equal the dataset's."""
        return (self.selfjoin,) + ((self.strict,) if self.strict_same_rows else ())


# The prologue of every self-join: a table, with a statement timeout on
# Postgres.
_SELFJOIN_CONFIG = """\
{{ config(materialized='table') }}
{%- if target.type == 'postgres' and var('bench_statement_timeout_ms', 0) %}
{{ config(pre_hook="set statement_timeout = "
    ~ var('bench_statement_timeout_ms')) }}
{%- endif %}
{%- set stream = ref('customer_stream') %}
"""

# --------------------------------------------------------------------------- #
# order_journeys (models/datasets/order_journeys.sql)
# --------------------------------------------------------------------------- #
FLOOR_SQL = """\
{#- The floor of order_journeys and bench_order_picks: a sorted copy of the
    stream rows they read (their three activities, every column), in the
    order the dataset needs them (entity, then time), built the way every
    dataset model is built (a table materialization). -#}
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
ORDER_JOURNEYS_SELFJOIN_SQL = _SELFJOIN_CONFIG + """\
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
# bench_order_picks: nth picks, one of them with a join condition
# --------------------------------------------------------------------------- #
# Per order: the 2nd payment of *that* order after it (nth_after, n = 2,
# join order_id = order_id: orders paid in two parts have one; half of those
# pay both parts in the same second, so the tie on ts is broken by
# activity_id) and the 3rd page view in the 24 hours before it (nth_before,
# n = 3, within 24 hours: counted from the start of [t - 24 h, t)).
PICKS_SQL = """\
{#- nth picks with a join condition and a time bound, on the rows of
    order_journeys (the bench times it against the same floor). A dataset:
    on Postgres it takes the pre-hook of the project's datasets folder
    (dbt_project.yml), which models/bench/ does not inherit. -#}
{{ config(materialized='table', pre_hook=(
    'set local enable_nestloop = off; set local enable_mergejoin = off'
    if target.type == 'postgres' else '')) }}

with order_picks as (

    {{ activity_schema.dataset(
        stream=ref('customer_stream'),
        primary={
            'activity': 'placed_order',
            'columns': [
                'activity_id',
                'customer',
                {'column': 'ts', 'alias': 'ordered_at'},
                'order_id',
            ],
        },
        append=[
            {
                'activity': 'made_payment',
                'relationship': 'nth_after',
                'nth': 2,
                'join': [{'column': 'order_id', 'primary_column': 'order_id'}],
                'columns': [
                    {'column': 'ts', 'alias': 'second_payment_at'},
                    {'column': 'payment_method',
                     'alias': 'second_payment_method'},
                    {'column': 'revenue_impact',
                     'alias': 'second_payment_amount'},
                ],
            },
            {
                'activity': 'viewed_page',
                'relationship': 'nth_before',
                'nth': 3,
                'within': {'hours': 24},
                'columns': [
                    {'column': 'ts', 'alias': 'third_visit_before_at'},
                    {'column': 'page_path',
                     'alias': 'third_visit_before_page'},
                ],
            },
        ],
    ) | indent(4) }}

)

select * from order_picks
"""

# The same picks as self-joins: each order joined to the appended rows of its
# entity that meet the relationship (and the join condition, or the bound),
# the joined rows numbered by (ts, activity_id) from the window's start, and
# the n-th kept. The entity is coalesce(customer, anonymous_customer_id), as
# in the dataset (orders always carry a customer, so it is the customer).
PICKS_SELFJOIN_SQL = _SELFJOIN_CONFIG + """\
{%- set entity = 'coalesce(a.customer, a.anonymous_customer_id)' %}

with

orders as (

    select
        activity_id,
        coalesce(customer, anonymous_customer_id) as entity,
        customer,
        ts,
        {{ activity_schema.json_extract('feature_json', 'order_id', 'integer') }}
            as order_id
    from {{ stream }}
    where activity = 'placed_order'

),

second_payment as (

    select activity_id, payment_at, payment_method, amount
    from (
        select
            p.activity_id,
            a.ts as payment_at,
            {{ activity_schema.json_extract(
                'a.feature_json', 'payment_method', 'string') }}
                as payment_method,
            a.revenue_impact as amount,
            row_number() over (
                partition by p.activity_id order by a.ts, a.activity_id
            ) as n
        from orders as p
        inner join {{ stream }} as a
            on
                {{ entity }} = p.entity
                and a.activity = 'made_payment'
                and {{ activity_schema.json_extract(
                    'a.feature_json', 'order_id', 'integer') }} = p.order_id
                and a.ts > p.ts
    ) as ranked
    where n = 2

),

third_visit_before as (

    select activity_id, visit_at, page_path
    from (
        select
            p.activity_id,
            a.ts as visit_at,
            {{ activity_schema.json_extract(
                'a.feature_json', 'page_path', 'string') }} as page_path,
            row_number() over (
                partition by p.activity_id order by a.ts, a.activity_id
            ) as n
        from orders as p
        inner join {{ stream }} as a
            on
                {{ entity }} = p.entity
                and a.activity = 'viewed_page'
                and a.ts >= {{ dbt.dateadd('hour', -24, 'p.ts') }}
                and a.ts < p.ts
    ) as ranked
    where n = 3

),

final as (

    select
        o.activity_id,
        o.customer,
        o.ts as ordered_at,
        o.order_id,
        sp.payment_at as second_payment_at,
        sp.payment_method as second_payment_method,
        sp.amount as second_payment_amount,
        tv.visit_at as third_visit_before_at,
        tv.page_path as third_visit_before_page
    from orders as o
    left join second_payment as sp on sp.activity_id = o.activity_id
    left join third_visit_before as tv on tv.activity_id = o.activity_id

)

select * from final
"""

# --------------------------------------------------------------------------- #
# customer_monthly_orders (models/datasets/customer_monthly_orders.sql): a
# monthly time spine of orders and payments
# --------------------------------------------------------------------------- #
# The spine, written by hand the way the macro defines it: per entity, every
# month from the month of its first order to the month of the stream's
# latest ts, periods [period_start, period_end).
_SPINE_CTES = """\
spine_anchors as (

    select
        coalesce(customer, anonymous_customer_id) as customer,
        min(ts) as first_ts
    from {{ stream }}
    where activity = 'placed_order'
    group by coalesce(customer, anonymous_customer_id)

),

spine_end as (

    select {{ dbt.date_trunc('month', 'max(ts)') }} as last_period
    from {{ stream }}

),

spine as (

    select
        customer,
        period_start,
        period_start + interval '1 month' as period_end
    from (
        select
            spine_anchors.customer,
            {%- set series = "generate_series("
                ~ dbt.date_trunc('month', 'spine_anchors.first_ts')
                ~ ", spine_end.last_period, interval '1 month')" %}
            {{ 'unnest(' ~ series ~ ')' if target.type == 'duckdb'
                else series }} as period_start
        from spine_anchors
        cross join spine_end
    ) as periods

)"""

# The floor of the spine: a sorted copy of what the dataset's window pass
# sorts, the rows it reads (orders and payments, every column) and one row
# per customer and month (at the month's end, as the macro places them).
SPINE_FLOOR_SQL = """\
{#- The floor of customer_monthly_orders: a sorted copy of the stream rows
    it reads (orders and payments, every column) together with its spine
    (a row per customer and month, at the month's end), in the order of
    the dataset's window pass (entity, then time). -#}
{{ config(materialized='table') }}
{%- set stream = ref('customer_stream') %}
{%- set columns = adapter.get_columns_in_relation(stream)
    | map(attribute='name') | map('lower') | list %}
{%- set spine_values = {
    'customer': 'customer',
    'activity': "'__time_spine'",
    'activity_id': "'period'",
    'ts': 'period_end',
} %}

with

""" + _SPINE_CTES + """,

rows_and_periods as (

    select
        {%- for column in columns %}
        {{ column }},
        {%- endfor %}
        cast(null as {{ dbt.type_timestamp() }}) as period_start
    from {{ stream }}
    where activity in ('placed_order', 'made_payment')
    union all
    select
        {%- for column in columns %}
        {{ spine_values.get(column, 'null') }} as {{ column }},
        {%- endfor %}
        period_start
    from spine

)

select * from rows_and_periods
order by coalesce(customer, anonymous_customer_id), ts, activity_id
"""

# The same result as customer_monthly_orders, written by hand for this one
# dataset: the rows read once and grouped per customer and month (the
# month's last order found by a row_number per customer, activity and month),
# the months joined to the spine (and to any earlier month with payments),
# running totals over the months, and the latest order as of each month's
# end read back from the last month that had one.
SPINE_HANDWRITTEN_SQL = """\
{{ config(materialized='table') }}
{%- set stream = ref('customer_stream') %}
{%- set to_date = 'partition by coalesce(s.customer, m.customer)'
    ~ ' order by coalesce(s.period_start, m.period_start)'
    ~ ' rows between unbounded preceding and current row' %}

with

""" + _SPINE_CTES + """,

events as (

    select
        coalesce(customer, anonymous_customer_id) as customer,
        {{ dbt.date_trunc('month', 'ts') }} as period_start,
        activity,
        ts,
        revenue_impact,
        case when activity = 'placed_order' then
            {{ activity_schema.json_extract(
                'feature_json', 'order_status', 'string') }}
        end as order_status,
        row_number() over (
            partition by
                coalesce(customer, anonymous_customer_id),
                activity,
                {{ dbt.date_trunc('month', 'ts') }}
            order by ts desc, activity_id desc
        ) as rank_from_last
    from {{ stream }}
    where activity in ('placed_order', 'made_payment')

),

monthly as (

    select
        customer,
        period_start,
        count(case when activity = 'placed_order' then 1 end) as orders,
        count(case when activity = 'made_payment' then 1 end) as payments,
        sum(case when activity = 'made_payment' then revenue_impact end)
            as revenue,
        max(case
            when activity = 'placed_order' and rank_from_last = 1 then ts
        end) as last_order_at,
        max(case
            when activity = 'placed_order' and rank_from_last = 1
                then order_status
        end) as last_order_status
    from events
    group by customer, period_start

),

running as (

    select
        s.customer,
        s.period_start,
        s.period_end,
        coalesce(m.orders, 0) as orders_in_month,
        case when coalesce(m.payments, 0) = 0 then 0 else m.revenue end
            as revenue_in_month,
        sum(coalesce(m.orders, 0)) over ({{ to_date }}) as orders_to_date,
        sum(coalesce(m.payments, 0)) over ({{ to_date }}) as payments_to_date,
        sum(m.revenue) over ({{ to_date }}) as revenue_to_date,
        max(case when m.orders > 0 then m.period_start end)
            over ({{ to_date }}) as last_order_period
    from spine as s
    full outer join monthly as m
        on m.customer = s.customer and m.period_start = s.period_start

)

select
    r.customer,
    r.period_start as month_start_at,
    r.period_end as month_end_at,
    r.orders_in_month,
    cast(r.revenue_in_month as {{ dbt.type_numeric() }}) as revenue_in_month,
    r.orders_to_date,
    cast(
        case when r.payments_to_date = 0 then 0 else r.revenue_to_date end
        as {{ dbt.type_numeric() }}
    ) as lifetime_value_to_date,
    last_order.last_order_at,
    last_order.last_order_status
from running as r
left join monthly as last_order
    on
        last_order.customer = r.customer
        and last_order.period_start = r.last_order_period
where r.customer is not null
"""

# customer_monthly_orders as self-joins: the spine (periods per customer)
# left-joined to the orders or payments of its customer under each
# relationship's half-open condition, one CTE per relationship grouped back
# per period, the latest order before the month's end as a row_number over
# the joined rows; then the CTEs joined back to the spine.
SPINE_SELFJOIN_SQL = _SELFJOIN_CONFIG + """\
{%- set entity = 'coalesce(a.customer, a.anonymous_customer_id)' %}
{%- set in_month = 'a.ts >= p.period_start and a.ts < p.period_end' %}
{%- set to_date = 'a.ts < p.period_end' %}
{%- set paid = 'case when count(a.activity_id) = 0 then 0'
    ~ ' else sum(a.revenue_impact) end' %}
{%- set relationships = [
    ('orders_in_month', 'placed_order', in_month,
        'count(a.activity_id)'),
    ('revenue_in_month', 'made_payment', in_month, paid),
    ('orders_to_date', 'placed_order', to_date, 'count(a.activity_id)'),
    ('lifetime_value_to_date', 'made_payment', to_date, paid),
] %}

with

""" + _SPINE_CTES + """,
{%- for name, activity, condition, output in relationships %}

{{ name }} as (

    select
        p.customer,
        p.period_start,
        {{ output }} as {{ name }}
    from spine as p
    left join {{ stream }} as a
        on
            {{ entity }} = p.customer
            and a.activity = '{{ activity }}'
            and {{ condition }}
    group by p.customer, p.period_start

),
{%- endfor %}

last_order as (

    select customer, period_start, last_order_at, last_order_status
    from (
        select
            p.customer,
            p.period_start,
            a.ts as last_order_at,
            {{ activity_schema.json_extract(
                'a.feature_json', 'order_status', 'string') }}
                as last_order_status,
            row_number() over (
                partition by p.customer, p.period_start
                order by a.ts desc, a.activity_id desc
            ) as n
        from spine as p
        inner join {{ stream }} as a
            on
                {{ entity }} = p.customer
                and a.activity = 'placed_order'
                and {{ to_date }}
    ) as ranked
    where n = 1

),

final as (

    select
        s.customer,
        s.period_start as month_start_at,
        s.period_end as month_end_at,
        {%- for name, activity, condition, output in relationships %}
        {{ name }}.{{ name }},
        {%- endfor %}
        last_order.last_order_at,
        last_order.last_order_status
    from spine as s
    {%- for name, activity, condition, output in relationships + [
        ('last_order', none, none, none)] %}
    left join {{ name }}
        on
            {{ name }}.customer = s.customer
            and {{ name }}.period_start = s.period_start
    {%- endfor %}

)

select * from final
"""

# --------------------------------------------------------------------------- #
# What is timed
# --------------------------------------------------------------------------- #
FLOOR = "bench_stream_sorted"
NARROW_FLOOR = "bench_stream_sorted_narrow"
SPINE_FLOOR = "bench_monthly_floor"
SPINE_HANDWRITTEN = "bench_monthly_handwritten"
PICKS = "bench_order_picks"

# The models written into models/bench/ of the copy.
MODELS = {
    FLOOR: FLOOR_SQL,
    NARROW_FLOOR: NARROW_FLOOR_SQL,
    "bench_order_journeys_selfjoin": ORDER_JOURNEYS_SELFJOIN_SQL,
    PICKS: PICKS_SQL,
    "bench_order_picks_selfjoin": PICKS_SELFJOIN_SQL,
    SPINE_FLOOR: SPINE_FLOOR_SQL,
    SPINE_HANDWRITTEN: SPINE_HANDWRITTEN_SQL,
    "bench_monthly_orders_selfjoin": SPINE_SELFJOIN_SQL,
}

DATASETS = (
    BenchDataset(
        name="order_journeys",
        summary="the shipped dataset of every order: first_ever, before, "
        "after and in-between picks and aggregates of orders, page views and "
        "payments",
        floor=FLOOR,
        floor_summary="`bench_stream_sorted`: `select * from customer_stream "
        "where activity in ('placed_order', 'viewed_page', 'made_payment') "
        "order by coalesce(customer, anonymous_customer_id), ts, activity_id`, "
        "a sorted copy of the rows it reads",
        strict=NARROW_FLOOR,
        strict_label="narrow copy",
        strict_summary="`bench_stream_sorted_narrow`: the same rows in the same "
        "order with only the columns it reads (no feature_json, no link, no "
        "metadata columns)",
        selfjoin="bench_order_journeys_selfjoin",
        selfjoin_summary="one CTE per appended relationship (the orders "
        "left-joined to the appended activity's rows on customer and the "
        "relationship's time condition, grouped back per order; first_ever on "
        "`activity_occurrence = 1`; picks of ts as min/max), joined back on "
        "activity_id",
        keys=("activity_id",),
        columns=(
            "customer", "ordered_at", "order_occurrence",
            "first_order_ever_at", "orders_before", "last_visit_before_at",
            "first_visit_after_at", "first_payment_at", "payments_in_between",
            "amount_paid_in_between", "last_payment_before_at",
            "last_order_after_at",
        ),
    ),
    BenchDataset(
        name=PICKS,
        summary="a bench-only dataset of every order with nth picks: the 2nd "
        "payment after it with `order_id` = `order_id` (nth_after, n = 2, a "
        "join condition) and the 3rd page view in the 24 hours before it "
        "(nth_before, n = 3, within 24 hours)",
        floor=FLOOR,
        floor_summary="`bench_stream_sorted`, the floor of order_journeys: "
        "the dataset reads the same rows (orders, payments, page views)",
        selfjoin="bench_order_picks_selfjoin",
        selfjoin_summary="each order inner-joined to its entity's payments "
        "with the same order_id after it, and to its entity's page views in "
        "`[ts - 24 h, ts)`, the joined rows numbered by `row_number() over "
        "(partition by order order by ts, activity_id)`, n = 2 and n = 3 "
        "kept and joined back to the orders",
        keys=("activity_id",),
        columns=(
            "customer", "ordered_at", "order_id", "second_payment_at",
            "second_payment_method", "second_payment_amount",
            "third_visit_before_at", "third_visit_before_page",
        ),
    ),
    BenchDataset(
        name="customer_monthly_orders",
        summary="the shipped monthly time spine: per customer and month, "
        "the month's orders and payments, and orders, lifetime value and "
        "latest order as of the month's end",
        floor=SPINE_FLOOR,
        floor_summary="`bench_monthly_floor`: a sorted copy (entity, ts, "
        "activity_id) of what the dataset's window pass sorts: the orders and "
        "payments it reads, every column, and one row per customer and month "
        "(at the month's end, as the macro places them), the spine generated "
        "as the macro defines it",
        strict=SPINE_HANDWRITTEN,
        strict_label="hand-written",
        strict_summary="`bench_monthly_handwritten`: a hand-written query of "
        "the same result for this one dataset (rows grouped per customer and "
        "month, the months joined to the spine, running totals over the "
        "months, the latest order read back from the last month with one); "
        "its rows must equal the dataset's",
        strict_same_rows=True,
        selfjoin="bench_monthly_orders_selfjoin",
        selfjoin_summary="the spine (periods per customer) left-joined to the "
        "customer's orders or payments under each relationship's half-open "
        "condition (`period_start <= ts < period_end` for the month, `ts < "
        "period_end` to date), one CTE per relationship grouped back per "
        "period, the latest order by `row_number()` over the joined rows, "
        "joined back to the spine",
        keys=("customer", "month_start_at"),
        columns=(
            "month_end_at", "orders_in_month", "revenue_in_month",
            "orders_to_date", "lifetime_value_to_date", "last_order_at",
            "last_order_status",
        ),
    ),
)
DATASET_NAMES = tuple(d.name for d in DATASETS)


def selected(names: list[str] | None) -> tuple[BenchDataset, ...]:
    """The datasets named (all without names), in DATASETS' order."""
    if not names:
        return DATASETS
    unknown = sorted(set(names) - set(DATASET_NAMES))
    if unknown:
        raise ValueError(f"unknown datasets {unknown}; known: {list(DATASET_NAMES)}")
    return tuple(d for d in DATASETS if d.name in names)


def round_models(datasets: tuple[BenchDataset, ...]) -> list[str]:
    """The models of one round, each once: per dataset its floor, its
    stricter floor and itself (a floor shared by two datasets runs once)."""
    models: list[str] = []
    for dataset in datasets:
        for model in (dataset.floor, dataset.strict, dataset.name):
            if model and model not in models:
                models.append(model)
    return models
