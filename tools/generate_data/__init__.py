"""Deterministic generator for the raw jaffle_activity seed data.

Data model
----------
The generator simulates a small online jaffle shop over a date range
(default 2024-01-01, 182 days) and writes four raw tables:

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
    Page views by visitors (``v00042``). A visitor is anonymous
    (``customer_id`` empty) until a ``/login`` view; that view and every
    later view of the visitor carry the customer's id. Customers log in at
    sign-up on their first device; some use a second device (another
    visitor id) that logs in later. Shopping sessions (``/`` ... ``/cart``,
    ``/checkout``) end just before the order's payment, with more views
    before and after orders. Other visitors never log in.

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
(year 2099, ignored by later high-water marks); plus a JSON-ready summary of
what it did. See its docstring for the details.

Modules
-------
``shop``       vocabulary of the shop (statuses, pages, names, shares), period, id counters
``tables``     column lists, value formatting, CSV read/write, event times,
               high-water mark, load times
``initial``    :func:`generate` and the per-table builders
``new_rows``   planning, timing and numbering the new rows of a batch
``changes``    deletes, restatements, duplicates, conflicting versions, future rows
``batch``      :func:`next_batch` and its summary
``cli``        argument parsing and :func:`main`

Usage::

    python -m tools.generate_data --seed 42 --scale 1.0 --out seeds
    python -m tools.generate_data next-batch --seeds seeds --seed 7 --days 1
        --late 0.2 --duplicates 0.02 --ties 0.05 --restated 0.01 --deletes 0.005
        [--conflicting 0.0] [--future 0]
        [--very-late 0.0] [--new-fraction 0.01] [--late-hours 1 48]
        [--very-late-hours 100 2000] [--out OTHER_FOLDER]   (one command line)
"""

from .batch import batch_load_time, next_batch
from .cli import main, next_batch_main, parse_args, parse_next_batch_args
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
    LOADED_AT,
    TABLE_COLUMNS,
    TIME_COLUMNS,
    TIMESTAMP_FORMAT,
    Row,
    Tables,
    format_value,
    high_water_mark,
    is_clock_skewed,
    latest_load_time,
    parse_value,
    read_csv,
    row_moment,
    write_csv,
    write_tables_into,
)

__all__ = [
    "CARD_METHODS",
    "CLOCK_SKEW_TOLERANCE",
    "DEFAULT_DAYS",
    "DEFAULT_SCALE",
    "DEFAULT_SEED",
    "DEFAULT_START",
    "FIRST_NAMES",
    "LOADED_AT",
    "ORDER_STATUSES",
    "PAGES",
    "PAYMENT_METHODS",
    "PAYMENT_METHOD_WEIGHTS",
    "TABLE_COLUMNS",
    "TIMESTAMP_FORMAT",
    "TIME_COLUMNS",
    "DateRange",
    "IdCounters",
    "Row",
    "Tables",
    "batch_load_time",
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
    "next_batch_main",
    "parse_args",
    "parse_next_batch_args",
    "parse_value",
    "read_csv",
    "row_moment",
    "table_rng",
    "write_csv",
    "write_tables_into",
]
