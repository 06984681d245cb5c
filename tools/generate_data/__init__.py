"""Deterministic generator for the raw jaffle_activity seed data.

Data model
----------
The generator simulates a small online jaffle shop over a date range
(default 2024-01-01, 182 days) and writes six raw tables, four of the shop
and two of identity (account merges and erasure requests):

``raw_customers``  ``id, first_name, last_name, created_at, _loaded_at``
    People who signed up. ``created_at`` is the sign-up moment; ids follow
    sign-up order. ``last_name`` is an initial plus a dot (``P.``), as in
    the classic jaffle shop.
``raw_orders``     ``id, user_id, order_date, status, _loaded_at``
    About 1 in 6 customers never order; the others place 1-5 orders on or
    after their sign-up date. Some customers deliberately place two orders
    on the same date so that downstream models meet equal timestamps.
    Recent orders are still ``placed``/``shipped``; older ones are mostly
    ``completed`` with a few returns.
``raw_payments``   ``id, order_id, payment_method, amount, created_at, _loaded_at``
    ``amount`` is in integer cents. Most orders get one payment; some are
    split into a coupon plus a card payment (part of those with exactly the
    same ``created_at``, on purpose); some ``placed`` orders are unpaid.
``raw_web_events`` ``id, visitor_id, customer_id, page, occurred_at, _loaded_at``
    Page views by visitors (``v00042``); a visitor's views are strictly
    increasing in time. A visitor is anonymous (``customer_id`` empty)
    until a ``/login`` view, which carries the customer who logs in, as
    does every later view up to and including a ``/logout`` view (which
    carries the customer who logs out); after a logout the views are
    anonymous until the next ``/login``. Customers log in at sign-up on
    their first device; some use a second device (another visitor id) that
    logs in later. Some browse anonymously in several sessions over 1-5
    days on that first device before signing up. A few percent of the
    customers' devices are shared: another customer (another person) uses
    them in turn, the owner logging out, the device showing anonymous
    views, the other customer logging in and out, the owner logging in
    again (on some devices twice, on some the other customer stays at the
    end). Shopping sessions (``/`` ... ``/cart``, ``/checkout``) end just
    before the order's payment, with more views before and after orders.
    Other visitors never log in.
``raw_customer_aliases`` ``customer_id, canonical_customer_id, merged_at, _loaded_at``
    Account merges, one row per merged account: about 2 % of the customers
    are a second account of an earlier customer (same name, created later,
    with their own orders and devices), merged into it after both exist.
    The second of them is merged into the first, which is merged into an
    original account: a chain ``X -> Y -> Z``. Merges point from a later
    account to an earlier one, so there is no cycle.
``raw_customer_removals`` ``customer_id, requested_at, _loaded_at``
    Erasure requests, one row per customer (about 1 % of the customers,
    after their sign-up): the end of the longest alias chain, a customer of
    a shared device, then customers with web activity.

``_loaded_at`` is when the loader wrote the row, as Fivetran, Airbyte or dlt
record it. The initial load (:func:`generate`) is one historical backfill:
every row has the midnight after the last day of the period. Each
:func:`next_batch` has one load time, later than every earlier one, carried
by every row it writes. Files without the column (such as the public jaffle
shop tables) are read with ``_loaded_at = None``.

All timestamps are naive UTC. Equal seed, scale and dates give
byte-identical CSV files.

Next batch (incremental ingestion)
-----------------------------------
:func:`next_batch` takes the current tables (from :func:`generate` or
:func:`read_csv`) and returns their state after one more daily load, as a
loader would leave it: new rows after the high-water mark, late and very
late rows before it, rows sharing a timestamp with another row of the same
customer (ties), rows delivered twice (same values), rows delivered twice
with other values (conflicting), rows restated in place (same id, new
timestamp and/or values), deleted rows and rows from a clock far ahead
(year 2099, ignored by later high-water marks); and, when asked, identity
changes: logins of visitors who never logged in (their earlier anonymous
views become the customer's), logins by a second customer on a device,
new account merges (some extending a chain, never a cycle), erasure
requests, each on time or late, and merges of accounts whose row arrives
with the next batch; plus a JSON-ready summary of what it did. See its
docstring for the details.

Modules
-------
``shop``       vocabulary of the shop (statuses, pages, names, shares), period, id counters
``tables``     column lists, value formatting, CSV read/write, event times,
               high-water mark, load times
``visitors``   who is logged in on a device when (the login rule as a timeline)
``initial``    :func:`generate` and the builders of customers, orders, payments
``web_events`` the initial devices and their views
``identity``   initial duplicates and aliases, long anonymous preludes,
               shared devices, removals
``context``    look-ups over the current tables for a batch's new rows
``new_rows``   planning, timing and numbering the new rows of a batch
``changes``    deletes, restatements, duplicates, conflicting versions
``future``     rows from a clock far ahead
``identity_batch`` a batch's logins, shared logins, aliases and removals
``held_back``  accounts whose row arrives after their alias
``batch``      :func:`next_batch` and its summary
``cli``        argument parsing and :func:`main`

Usage::

    python -m tools.generate_data --seed 42 --scale 1.0 --out seeds
    python -m tools.generate_data next-batch --seeds seeds --seed 7 --days 1
        --late 0.2 --duplicates 0.02 --ties 0.05 --restated 0.01 --deletes 0.005
        [--conflicting 0.0] [--future 0]
        [--very-late 0.0] [--new-fraction 0.01] [--late-hours 1 48]
        [--very-late-hours 100 2000] [--logins 0.0] [--shared-logins 0]
        [--aliases 0] [--removals 0] [--late-identity 0.0] [--identity-first 0]
        [--out OTHER_FOLDER]   (one command line)
"""

from .batch import batch_load_time, next_batch
from .cli import main, next_batch_main, parse_args, parse_next_batch_args
from .identity import build_customer_aliases, build_customer_removals, resolve
from .initial import (
    build_customers,
    build_orders,
    build_payments,
    build_web_events,
    customer_count,
    generate,
    initial_load_time,
)
from .shop import (
    CARD_METHODS,
    DEFAULT_DAYS,
    DEFAULT_SCALE,
    DEFAULT_SEED,
    DEFAULT_START,
    FIRST_NAMES,
    LOGIN,
    LOGOUT,
    ORDER_STATUSES,
    PAGES,
    PAYMENT_METHOD_WEIGHTS,
    PAYMENT_METHODS,
    DateRange,
    IdCounters,
    table_rng,
)
from .tables import (
    CLOCK_SKEW_TOLERANCE,
    IDENTITY_TABLES,
    KEY_COLUMNS,
    LOADED_AT,
    SHOP_TABLES,
    TABLE_COLUMNS,
    TIME_COLUMNS,
    TIMESTAMP_FORMAT,
    Row,
    Tables,
    format_value,
    high_water_mark,
    is_clock_skewed,
    latest_load_time,
    next_customer_id,
    parse_value,
    read_csv,
    row_moment,
    write_csv,
    write_tables_into,
)
from .visitors import Timeline, visitor_timelines

__all__ = [
    "CARD_METHODS",
    "CLOCK_SKEW_TOLERANCE",
    "DEFAULT_DAYS",
    "DEFAULT_SCALE",
    "DEFAULT_SEED",
    "DEFAULT_START",
    "FIRST_NAMES",
    "IDENTITY_TABLES",
    "KEY_COLUMNS",
    "LOADED_AT",
    "LOGIN",
    "LOGOUT",
    "ORDER_STATUSES",
    "PAGES",
    "PAYMENT_METHODS",
    "PAYMENT_METHOD_WEIGHTS",
    "SHOP_TABLES",
    "TABLE_COLUMNS",
    "TIMESTAMP_FORMAT",
    "TIME_COLUMNS",
    "DateRange",
    "IdCounters",
    "Row",
    "Tables",
    "Timeline",
    "batch_load_time",
    "build_customer_aliases",
    "build_customer_removals",
    "build_customers",
    "build_orders",
    "build_payments",
    "build_web_events",
    "customer_count",
    "format_value",
    "generate",
    "high_water_mark",
    "initial_load_time",
    "is_clock_skewed",
    "latest_load_time",
    "main",
    "next_batch",
    "next_customer_id",
    "next_batch_main",
    "parse_args",
    "parse_next_batch_args",
    "parse_value",
    "read_csv",
    "resolve",
    "row_moment",
    "table_rng",
    "visitor_timelines",
    "write_csv",
    "write_tables_into",
]
