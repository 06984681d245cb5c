{#-
    The time spine of a dataset's primary, validated: none when the primary
    names no 'time_spine', else {'period', 'end', 'columns'}, where period
    is one of `dataset_periods()`, end a timestamp literal or none (the
    stream's latest ts) and columns the default primary columns.

    A time-spine primary has one row per entity and period, from the period
    of the entity's first row of the anchor activity (primary.activity,
    through the primary filters) to the period holding the end. Its rows
    are periods, so it takes no selector and no nth.
-#}
{% macro _dataset_time_spine(where, primary) -%}
    {%- set period = primary.get('time_spine') -%}
    {%- if period is none -%}
        {%- if primary.get('end') is not none -%}
            {{ exceptions.raise_compiler_error(
                where ~ ": argument 'primary.end' is set, but the primary has"
                ~ " no time_spine; end is the last period of a time spine.") }}
        {%- endif -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set periods = activity_schema.dataset_periods() -%}
    {%- if period not in periods -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": argument 'primary.time_spine' is '" ~ period
            ~ "'; allowed values: " ~ periods | join(', ') ~ ".") }}
    {%- endif -%}
    {%- if primary.get('selector', 'all') != 'all'
        or primary.get('nth') is not none -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": argument 'primary.selector' is '"
            ~ primary.get('selector', 'all') ~ "' (or nth is set), but the"
            ~ " primary is a time spine, with a row for every period; allowed"
            ~ " values: all.") }}
    {%- endif -%}
    {%- set end = primary.get('end') -%}
    {%- if end is not none and (end is not string or not modules.re.match(
        '^[0-9]{4}-[0-9]{2}-[0-9]{2}( [0-9]{2}:[0-9]{2}(:[0-9]{2})?)?$',
        end)) -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": argument 'primary.end' is '" ~ end ~ "'; allowed"
            ~ " values: a date or timestamp such as '2024-06-30' or"
            ~ " '2024-06-30 12:00:00', or none (the stream's latest ts).") }}
    {%- endif -%}
    {{ return({
        'period': period,
        'end': end,
        'columns': activity_schema.dataset_spine_columns(),
    }) }}
{%- endmacro %}


{#-
    A primary column of a time spine: 'customer' (the entity), or
    'period_start' / 'period_end' (the period's bounds, [start, end)), as a
    name or {'column', 'alias'}.
-#}
{% macro _dataset_spine_column(where, argument, item) -%}
    {%- set item = {'column': item} if item is string else item -%}
    {%- set allowed = activity_schema.dataset_spine_columns() -%}
    {%- if item is not mapping or item.get('column') not in allowed -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": argument '" ~ argument ~ "' is '" ~ item ~ "'; a time"
            ~ " spine's columns are its entity and its period, allowed values: "
            ~ allowed | join(', ') ~ ".") }}
    {%- endif -%}
    {%- do activity_schema._dataset_check_keys(
        where, argument, item, ['column', 'alias']) -%}
    {%- set column = item.get('column') -%}
    {{ return({
        'column': column,
        'source': 'stream' if column == 'customer' else 'spine',
        'type': 'string' if column == 'customer' else 'timestamp',
        'aggregate': none,
        'alias': item.get('alias') or column,
        'default': none,
        'delimiter': ', ',
        'output_type': 'string' if column == 'customer' else 'timestamp',
    }) }}
{%- endmacro %}


{#- The activity name that marks a spine row in `spine_stream`. -#}
{% macro _dataset_spine_activity() -%}
    {{ return('__time_spine') }}
{%- endmacro %}


{#-
    The common table expressions of a time-spine dataset, before
    `unified` (each followed by a comma):

    - `spine_anchors`: per entity, the ts of its first anchor row (through
      the primary filters);
    - `spine_periods`: every period from the earliest anchor's to the one
      holding the end (the stream's latest ts unless declared);
    - `spine_rows`: per entity, its periods from its first anchor's on, a
      join whose output is the spine itself;
    - `spine_stream`: the stream's rows of the appended activities, and a
      row per spine row shaped like a stream row: activity
      `__time_spine`, customer the entity, ts the period's end (periods are
      [start, end)), `_period_start` its start.

    The spine rows then take the place of a primary activity's rows in the
    one window pass: at a spine row, "before" is ts < end, "after" ts >=
    end (`_dataset_frames` with spine), and the in-between bucket of every
    row is the period holding its ts.
-#}
{% macro _dataset_spine_ctes(spec) -%}
    {%- set spine = spec.primary.time_spine -%}
    {%- set timestamp_type = activity_schema.feature_sql_type('timestamp') -%}
    {%- set columns = adapter.get_columns_in_relation(spec.stream)
        | map(attribute='name') | map('lower') | list -%}
    {%- set spine_values = {
        'customer': 'spine_rows._entity',
        'activity': "'" ~ activity_schema._dataset_spine_activity() ~ "'",
        'activity_id': "'period'",
        'ts': 'spine_rows.period_start + '
            ~ activity_schema._dataset_period_interval(spine.period),
    } -%}
    {%- if spine.end is none -%}
        {%- set end = '(select max(ts) from ' ~ spec.stream ~ ')' -%}
    {%- else -%}
        {%- set end = 'cast(' ~ activity_schema._dataset_literal(spine.end)
            ~ ' as ' ~ timestamp_type ~ ')' -%}
    {%- endif -%}
spine_anchors as (

    select
        coalesce(customer, anonymous_customer_id) as _entity,
        min(ts) as _first_ts
    from {{ spec.stream }}
    where
        activity = '{{ spec.primary.activity }}'
        and {{ activity_schema._dataset_condition(spec.primary.filters) }}
    group by coalesce(customer, anonymous_customer_id)

),

spine_bounds as (

    select
        {{ dbt.date_trunc(spine.period, 'min(_first_ts)') }} as _first_period,
        {{ dbt.date_trunc(spine.period, end) }} as _last_period
    from spine_anchors

),

spine_periods as (

    {{ activity_schema._dataset_period_series(
        spine.period, '_first_period', '_last_period') }}

),

spine_rows as (

    select
        spine_anchors._entity,
        spine_periods.period_start
    from spine_anchors
    inner join spine_periods
        on spine_periods.period_start
        >= {{ dbt.date_trunc(spine.period, 'spine_anchors._first_ts') }}

),

spine_stream as (

    select
        {%- for column in columns %}
        {{ column }},
        {%- endfor %}
        cast(null as {{ timestamp_type }}) as _period_start
    from {{ spec.stream }}
    where activity in (
        {%- for activity in spec.activities -%}
        '{{ activity }}'{{ ', ' if not loop.last }}
        {%- endfor -%}
        {{- "''" if not spec.activities }})
    union all
    select
        {%- for column in columns %}
        {{ spine_values.get(column, 'null') }} as {{ column }},
        {%- endfor %}
        spine_rows.period_start as _period_start
    from spine_rows

),
{%- endmacro %}


{#-
    A select of one column, period_start: every period from the timestamp
    column `start` to `stop` of `spine_bounds`, both included (none when
    there is no anchor row).
-#}
{% macro _dataset_period_series(period, start, stop) -%}
    {{ return(adapter.dispatch('_dataset_period_series', 'activity_schema')(
        period, start, stop)) }}
{%- endmacro %}

{% macro default___dataset_period_series(period, start, stop) -%}
    select
        generate_series(
            {{ start }}, {{ stop }},
            {{ activity_schema._dataset_period_interval(period) }}
        ) as period_start
    from spine_bounds
{%- endmacro %}

{% macro duckdb___dataset_period_series(period, start, stop) -%}
    select
        unnest(generate_series(
            {{ start }}, {{ stop }},
            {{ activity_schema._dataset_period_interval(period) }}
        )) as period_start
    from spine_bounds
{%- endmacro %}

{% macro spark___dataset_period_series(period, start, stop) -%}
    select
        explode(sequence(
            {{ start }}, {{ stop }},
            {{ activity_schema._dataset_period_interval(period) }}
        )) as period_start
    from spine_bounds
    where {{ start }} is not null
{%- endmacro %}


{#- An interval literal of one period. -#}
{% macro _dataset_period_interval(period) -%}
    {{ return(adapter.dispatch('_dataset_period_interval', 'activity_schema')(
        period)) }}
{%- endmacro %}

{% macro default___dataset_period_interval(period) -%}
    {%- set amounts = {'day': '1 day', 'week': '7 days', 'month': '1 month',
        'quarter': '3 months', 'year': '1 year'} -%}
    interval '{{ amounts[period] }}'
{%- endmacro %}

{% macro spark___dataset_period_interval(period) -%}
    {%- set amounts = {'day': '1 day', 'week': '7 days', 'month': '1 month',
        'quarter': '3 months', 'year': '1 year'} -%}
    interval {{ amounts[period] }}
{%- endmacro %}
