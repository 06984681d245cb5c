"""The simulated shop: its vocabulary, shares and weights, period and id counters."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

DEFAULT_SEED = 42
DEFAULT_SCALE = 1.0
DEFAULT_START = date(2024, 1, 1)
DEFAULT_DAYS = 182

CUSTOMERS_PER_SCALE = 300
SIGNUP_WINDOW = 0.8  # customers sign up during the first 80 % of the range
NO_ORDER_SHARE = 1 / 6
ORDER_COUNTS = ((1, 2, 3, 4, 5), (20, 25, 25, 18, 12))
SAME_DAY_ORDER_SHARE = 0.08
UNPAID_PLACED_SHARE = 0.5
SPLIT_PAYMENT_SHARE = 0.12
SAME_SECOND_SPLIT_SHARE = 0.5
EXTRA_DEVICE_SHARE = 0.2
NO_ORDER_WEB_SHARE = 0.6
ANONYMOUS_VISITORS_PER_CUSTOMER = 0.4
# Identity: second accounts merged by an alias, erasure requests, devices used
# in turn by two customers, and visitors who browse for days before signing up.
DUPLICATE_SHARE = 0.02  # of the customers: a second account of an earlier one
REMOVAL_SHARE = 0.01  # of the customers: an erasure request
SHARED_DEVICE_SHARE = 0.04  # of the customers' devices: a second customer logs in in turn
LONG_PRELUDE_SHARE = 0.08  # of the customers: anonymous sessions 1-5 days before sign-up
LONG_PRELUDE_DAYS = (1, 5)

ORDER_STATUSES = ("placed", "shipped", "completed", "return_pending", "returned")
# (maximum age in days, weights over ORDER_STATUSES); the last entry is the default.
STATUS_WEIGHTS_BY_AGE = (
    (2, (45, 35, 20, 0, 0)),
    (7, (5, 20, 70, 5, 0)),
    (None, (3, 3, 85, 3, 6)),
)
PAYMENT_METHODS = ("credit_card", "coupon", "bank_transfer", "gift_card")
PAYMENT_METHOD_WEIGHTS = (55, 10, 25, 10)
CARD_METHODS = ("credit_card", "bank_transfer", "gift_card")
LOGIN, LOGOUT = "/login", "/logout"
PAGES = ("/", "/menu", "/cart", "/checkout", "/account", LOGIN, LOGOUT)
BROWSE_PAGES_KNOWN = ("/", "/menu", "/account")
BROWSE_PAGES_ANONYMOUS = ("/", "/menu", "/cart")

FIRST_NAMES = (
    "Michael", "Shawn", "Kathleen", "Jimmy", "Katherine", "Sarah", "Martin",
    "Frank", "Jennifer", "Henry", "Fred", "Amy", "Kathleen", "Steve", "Teresa",
    "Amanda", "Kimberly", "Johnny", "Virginia", "Anna", "Willie", "Sean",
    "Mildred", "David", "Victor", "Aaron", "Benjamin", "Lisa", "Benjamin",
    "Marie", "Scott", "Emily", "Jennifer", "Janet", "Nancy", "Robert", "Laura",
    "Paula", "Jeffrey", "Harold", "Diana", "Adam", "Ruth", "Shirley", "Linda",
    "Andrew", "Rose", "Lillian", "Craig", "Earl", "Christina", "Brenda",
    "Denise", "Carlos", "Joshua", "Gloria", "Sandra", "Raymond", "Jessica",
    "Angela", "Justin", "Ralph", "Peter", "Alan", "Debra", "Ann", "Judith",
    "Howard", "Donna", "Thomas", "Phillip", "Cynthia", "Patricia", "Gregory",
    "Joe", "Paul", "Nicole", "Jacqueline", "Mary", "Elizabeth", "Wanda",
    "Catherine", "Louise", "Pamela", "Irene", "Gary", "Jose", "Samuel",
)


@dataclass(frozen=True)
class DateRange:
    """The simulated period: ``days`` days starting at ``start`` (UTC)."""

    start: date
    days: int

    @property
    def first_moment(self) -> datetime:
        """Midnight at the start of the first day."""
        return datetime.combine(self.start, time())

    @property
    def end_moment(self) -> datetime:
        """Midnight after the last day (exclusive upper bound)."""
        return self.first_moment + timedelta(days=self.days)

    @property
    def last_date(self) -> date:
        """The last day of the period."""
        return self.start + timedelta(days=self.days - 1)

    def contains(self, moment: datetime) -> bool:
        """True if ``moment`` lies inside the period."""
        return self.first_moment <= moment < self.end_moment


@dataclass
class IdCounters:
    """Next free id per table (and visitor number), shared by the builders.

    Kept explicit so that a later batch can continue numbering where an
    earlier batch stopped, e.g. ``IdCounters(orders=max_order_id + 1)``.
    """

    customers: int = 1
    orders: int = 1
    payments: int = 1
    web_events: int = 1
    visitors: int = 1

    def take(self, name: str) -> int:
        """Return the next id for ``name`` and advance its counter."""
        value = getattr(self, name)
        setattr(self, name, value + 1)
        return value


def table_rng(seed: int, table: str) -> random.Random:
    """An independent, reproducible random stream for one table."""
    return random.Random(f"{seed}:{table}")


def seconds(rng: random.Random, low: int, high: int) -> timedelta:
    """A random whole-second duration between ``low`` and ``high`` inclusive."""
    return timedelta(seconds=rng.randint(low, high))


def payment_time(rng: random.Random, order_date: date, signed_up: datetime) -> datetime:
    """When an order is paid: daytime on the order date, after sign-up."""
    earliest = max(datetime.combine(order_date, time(7)), signed_up + timedelta(minutes=30))
    return earliest + seconds(rng, 0, 14 * 3600)
