"""The identity tables of the benchmark data, and the identity batch.

`bench/datagen.py` generates the four activity tables at benchmark scale;
this module adds the two identity tables the stream reads,
`raw_customer_aliases` (account merges) and `raw_customer_removals`
(erasure requests), in the same generator database and with the same
deterministic `hash()` draws:

* the base data merges 0.2 % of the customers into an earlier customer (a
  few of them into a customer merged in turn: chains) and removes 0.1 %;
* `generate_identity_batch` is an ingestion batch of identity changes
  only: a `/login` of an existing customer on 1 % of the visitors (most of
  them visitors who never logged in, whose anonymous history the login
  resolves; the others a second customer on a device, a shared device),
  a few new merges (some extending a chain) and a few removals, every row
  stamped with the batch's own load time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

IDENTITY_TABLES = ("raw_customer_aliases", "raw_customer_removals")
IDENTITY_COLUMNS = {
    "raw_customer_aliases": ("customer_id", "canonical_customer_id", "merged_at",
                             "_loaded_at"),
    "raw_customer_removals": ("customer_id", "requested_at", "_loaded_at"),
}
ALIAS_SHARE = 0.002
REMOVAL_SHARE = 0.001


def _literal(value: datetime) -> str:
    return f"timestamp '{value:%Y-%m-%d %H:%M:%S}'"


def _hash(seed: int, salt: str, *keys: str) -> str:
    return f"hash({', '.join(keys)}, '{salt}', {seed})"


def generate_base_identity(con: Any, seed: int, loaded_at: datetime) -> dict[str, int]:
    """Create raw_customer_aliases and raw_customer_removals from the base
    customers of `con` (no cycle: a customer is merged into one with a
    smaller id)."""
    con.execute(f"""
        create or replace table raw_customer_aliases as
        select
            cast(id as integer) as customer_id,
            cast(1 + {_hash(seed, 'alias_to', 'id')} % (id - 1) as integer)
                as canonical_customer_id,
            created_at + interval 1 day as merged_at,
            {_literal(loaded_at)} as _loaded_at
        from raw_customers
        where id > 1 and ({_hash(seed, 'alias', 'id')} % 1000000) < {ALIAS_SHARE * 1e6}
        order by id
    """)
    con.execute(f"""
        create or replace table raw_customer_removals as
        select
            cast(id as integer) as customer_id,
            created_at + interval 2 day as requested_at,
            {_literal(loaded_at)} as _loaded_at
        from raw_customers
        where ({_hash(seed, 'removal', 'id')} % 1000000) < {REMOVAL_SHARE * 1e6}
        order by id
    """)
    return {name: con.execute(f"select count(*) from {name}").fetchone()[0]
            for name in IDENTITY_TABLES}


def empty_identity_batch(con: Any) -> None:
    """Empty b_ identity tables, for a batch without identity changes."""
    for name in IDENTITY_TABLES:
        con.execute(f"create or replace table b_{name} as select * from {name} limit 0")


def generate_identity_batch(
    con: Any,
    high_water_mark: datetime,
    loaded_at: datetime,
    *,
    seed: int,
    login_share: float = 0.01,
    aliases: int = 20,
    removals: int = 10,
) -> dict[str, Any]:
    """Create b_raw_* tables of an identity batch in `con`: logins on
    `login_share` of the visitors, `aliases` new merges and `removals` new
    removals; the activity tables get only the logins' page views."""
    hwm = _literal(high_water_mark)
    stamp = _literal(loaded_at)
    for name in ("raw_customers", "raw_orders", "raw_payments"):
        con.execute(f"create or replace table b_{name} as select * from {name} limit 0")
    con.execute(f"""
        create or replace table b_visitors as
        select
            visitor_id,
            bool_or(customer_id is not null) as logged_in,
            max(customer_id) as owner
        from raw_web_events
        group by visitor_id
    """)
    con.execute(f"""
        create or replace table b_raw_web_events as
        with chosen as (
            select
                visitor_id,
                logged_in,
                owner,
                row_number() over (order by visitor_id) as n
            from b_visitors
            where ({_hash(seed, 'login', 'visitor_id')} % 1000000) < {login_share * 1e6}
        ),

        customers as (
            select count(*) as n from raw_customers
        )

        select
            cast((select max(id) from raw_web_events) + chosen.n as integer) as id,
            chosen.visitor_id,
            cast(case
                when not chosen.logged_in
                    then 1 + {_hash(seed, 'who', 'chosen.visitor_id')} % customers.n
                else 1 + ({_hash(seed, 'other', 'chosen.visitor_id')} % (customers.n - 1)
                          + chosen.owner) % customers.n
            end as integer) as customer_id,
            '/login' as page,
            {hwm} + to_seconds(
                {_hash(seed, 'at', 'chosen.visitor_id')} % 86400) as occurred_at,
            {stamp} as _loaded_at
        from chosen, customers
        order by id
    """)
    con.execute(f"""
        create or replace table b_raw_customer_aliases as
        with existing as (
            select customer_id from raw_customer_aliases
        ),

        candidates as (
            select
                id,
                row_number() over (
                    order by {_hash(seed, 'new_alias', 'id')}) as n
            from raw_customers
            where id > 1 and id not in (select customer_id from existing)
        )

        select
            cast(candidates.id as integer) as customer_id,
            cast(case
                when candidates.n % 3 = 0 and exists (select 1 from existing)
                    then (select min(customer_id) from existing)
                else 1 + {_hash(seed, 'new_alias_to', 'candidates.id')}
                    % (candidates.id - 1)
            end as integer) as canonical_customer_id,
            {hwm} as merged_at,
            {stamp} as _loaded_at
        from candidates
        where candidates.n <= {aliases}
            and candidates.id > coalesce((select min(customer_id) from existing), 0)
        order by customer_id
    """)
    con.execute(f"""
        create or replace table b_raw_customer_removals as
        select
            cast(id as integer) as customer_id,
            {hwm} as requested_at,
            {stamp} as _loaded_at
        from raw_customers
        where id not in (select customer_id from raw_customer_removals)
        order by {_hash(seed, 'new_removal', 'id')}
        limit {removals}
    """)
    summary = {name: con.execute(f"select count(*) from b_{name}").fetchone()[0]
               for name in ("raw_web_events", *IDENTITY_TABLES)}
    summary["previously_anonymous"] = con.execute(
        "select count(*) from b_raw_web_events join b_visitors using (visitor_id) "
        "where not logged_in").fetchone()[0]
    summary["anonymous_rows_resolved"] = con.execute(
        "select count(*) from raw_web_events where customer_id is null and visitor_id in "
        "(select visitor_id from b_raw_web_events)").fetchone()[0]
    return summary


def identity_batch_load_time(previous: datetime) -> datetime:
    """The identity batch's load time: a day after the latest load."""
    return previous + timedelta(days=1)
