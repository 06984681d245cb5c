{#-
    The window frames of `_dataset_sql`, per adapter, over the rows of
    `unified` (columns _entity, ts, activity_id, _kind; _kind 0 is the
    primary activity). At a primary row with time t:

    - 'ever': every row of the entity;
    - 'before': rows with ts < t, and 'after': rows with ts > t (strict:
      rows of equal ts are in neither);
    - 'rank': a running frame in which the count of a set's rows at one of
      its rows is that row's rank among them by (ts, activity_id);
    - 'in_between': the rows of the primary row's bucket (`_bucket`);
    - 'earlier_primaries': an expression, at an appended row, for the
      number of primary rows with a ts strictly before the row's;
    - 'ts_pick': how a pick of ts reads its before or after frame: 'min_max'
      (the frame's min or max ts of the set's rows) or 'ignore_nulls'
      (first_value or last_value of the set's ts, ignoring the other rows'
      nulls: cheaper than an aggregate's segment tree on DuckDB).

    With `spine` (a time-spine primary, whose row stands at its period's
    end e), 'after' holds the rows with ts >= e: rows of equal ts are in
    it, as the half-open periods [start, e) want.

    Every frame starts at the partition's start or spans it: aggregates
    without an inverse (min, max) never restart at every row.
-#}
{% macro _dataset_frames(spine=false) -%}
    {{ return(adapter.dispatch('_dataset_frames', 'activity_schema')(spine)) }}
{%- endmacro %}


{#-
    Two sorts per entity. F, ascending (ts, primary rows first,
    activity_id, _kind): its running frame at a primary row holds the rows
    strictly before it (rows of equal ts sort after it). R, descending (ts,
    primary rows first, activity_id, _kind): its running frame holds the
    rows strictly after it. Frame exclusion (EXCLUDE GROUP) would need one
    sort only, but Postgres recomputes an aggregate for every row of a
    frame with an exclusion.
-#}
{% macro default___dataset_frames(spine) -%}
    {%- set order_f = 'partition by _entity order by ts, case when _kind = 0'
        ~ ' then 0 else 1 end, activity_id, _kind' -%}
    {#- A spine row sorts after the rows of its ts in R, so that its
        running frame holds them. -#}
    {%- set order_r = 'partition by _entity order by ts desc, case when'
        ~ ' _kind = 0 then ' ~ ('1 else 0' if spine else '0 else 1')
        ~ ' end, activity_id desc, _kind desc' -%}
    {%- set running = ' rows between unbounded preceding and current row' -%}
    {%- set ever = order_f
        ~ ' rows between unbounded preceding and unbounded following' -%}
    {%- set primaries = 'count(case when _kind = 0 then 1 end) over (' -%}
    {{ return({
        'ever': ever,
        'before': order_f ~ running,
        'after': order_r ~ running,
        'rank': order_f ~ running,
        'in_between': 'partition by _entity, _bucket',
        'earlier_primaries': primaries ~ ever ~ ') - ' ~ primaries ~ order_r
            ~ running ~ ')',
        'ts_pick': 'min_max',
    }) }}
{%- endmacro %}


{#-
    One sort per entity, by ts: rows of equal ts are peers, and EXCLUDE
    GROUP takes them out of the running frames, which DuckDB evaluates
    without restarting. A pick of ts is the first or last non-null ts of the
    frame (peers have the same ts, so their order does not matter). The rank of a set's rows needs an order by
    activity_id too (a second sort, only for picks of columns other than
    ts).
-#}
{% macro duckdb___dataset_frames(spine) -%}
    {%- set by_ts = 'partition by _entity order by ts range between ' -%}
    {{ return({
        'ever': 'partition by _entity',
        'before': by_ts ~ 'unbounded preceding and current row exclude group',
        'after': by_ts ~ 'current row and unbounded following exclude '
            ~ ('current row' if spine else 'group'),
        'rank': 'partition by _entity order by ts, activity_id, _kind rows'
            ~ ' between unbounded preceding and current row',
        'in_between': 'partition by _entity, _bucket',
        'earlier_primaries': 'count(case when _kind = 0 then 1 end) over ('
            ~ by_ts ~ 'unbounded preceding and current row exclude group)',
        'ts_pick': 'ignore_nulls',
    }) }}
{%- endmacro %}


{#-
    The frame of a time-bounded window's rows with ts >= t - d (d: an
    interval literal, `_dataset_interval`), at a row with time t, within
    `partition`. Default: descending by ts, from the partition's start, so
    that the frame never restarts (Postgres recomputes an aggregate without
    an inverse, min or max, at every row whose frame start moves), and
    sorted as the descending frames of `_dataset_frames` are.
-#}
{% macro _dataset_since_frame(partition, interval) -%}
    {{ return(adapter.dispatch('_dataset_since_frame', 'activity_schema')(
        partition, interval)) }}
{%- endmacro %}

{% macro default___dataset_since_frame(partition, interval) -%}
    {{ return('partition by ' ~ partition ~ ' order by ts desc range between'
        ~ ' unbounded preceding and ' ~ interval ~ ' following') }}
{%- endmacro %}

{#- DuckDB: the same rows in ascending order, so that the window shares the
    one sort by ts of `duckdb___dataset_frames` (a descending frame is a
    second sort of every row); its segment trees serve a moving frame
    start. -#}
{% macro duckdb___dataset_since_frame(partition, interval) -%}
    {{ return('partition by ' ~ partition ~ ' order by ts range between '
        ~ interval ~ ' preceding and unbounded following') }}
{%- endmacro %}


{#-
    The frame of a time-spine row's period, or none: at a spine row (at
    its period's end e = s + one period, s its start), the rows with
    s <= ts < e of its entity. Where there is one, the spine's in-between
    aggregates are columns of the window pass (`_dataset_plan`); with none
    (the default) they take a pass of their own, partitioned by entity and
    bucket. DuckDB: a frame by ts from one period before the row (s: a
    period's start, truncated, less nothing lost by adding and taking away
    one period) to the row, its peers excluded, in the pass's one sort by
    ts.
-#}
{% macro _dataset_period_frame(period) -%}
    {{ return(adapter.dispatch('_dataset_period_frame', 'activity_schema')(
        period)) }}
{%- endmacro %}

{% macro default___dataset_period_frame(period) -%}
    {{ return(none) }}
{%- endmacro %}

{% macro duckdb___dataset_period_frame(period) -%}
    {{ return('partition by _entity order by ts range between '
        ~ activity_schema._dataset_period_interval(period)
        ~ ' preceding and current row exclude group') }}
{%- endmacro %}
