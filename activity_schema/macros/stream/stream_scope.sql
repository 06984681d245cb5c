{#-
    stream_scope(activities) -> a SQL predicate on `activity` and `ts`: the
    rows an incremental run of the stream re-derives from its sources.

    - By default: `ts >= high-water mark - stream_lookback_hours`, where the
      high-water mark is the stream's own latest `ts` (so a replay of the
      same data gives the same window). An empty stream: everything.
    - `stream_reconcile: true`: everything (compare all sources with the
      stream and repair every difference, whatever its age).
    - `stream_rebuild_activity: <name>`: also every row of that activity.
    - `stream_rebuild_from` / `stream_rebuild_to` (timestamps, either may be
      left out): also every row with from <= ts < to.
    The parts are or-ed. Unknown activities and malformed values fail at
    compile time.
-#}
{% macro stream_scope(activities) -%}
    {%- set where = "activity_schema.stream in model '" ~ model.name ~ "'" -%}
    {%- if var('stream_reconcile', false) | string | lower in ['true', '1', 'yes'] -%}
        {{ return('true') }}
    {%- endif -%}
    {%- set lookback = var('stream_lookback_hours', 72) -%}
    {%- if lookback is not number or lookback < 0 -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": variable 'stream_lookback_hours' must be a number of"
            ~ " hours >= 0, got '" ~ lookback ~ "'.") }}
    {%- endif -%}
    {%- set high_water_mark = activity_schema._stream_high_water_mark() -%}
    {%- if high_water_mark is none -%}
        {{ return('true') }}
    {%- endif -%}
    {%- set window_start = high_water_mark
        - modules.datetime.timedelta(hours=lookback) -%}
    {%- set parts = [
        'ts >= ' ~ activity_schema._timestamp_literal(window_start)] -%}

    {%- set rebuild_activity = var('stream_rebuild_activity', none) -%}
    {%- if rebuild_activity -%}
        {%- set known = activity_schema._stream_activity_names(activities) -%}
        {%- if rebuild_activity not in known -%}
            {{ exceptions.raise_compiler_error(
                where ~ ": variable 'stream_rebuild_activity' is '"
                ~ rebuild_activity ~ "'; allowed values: "
                ~ known | join(', ') ~ ".") }}
        {%- endif -%}
        {%- do parts.append("activity = '" ~ rebuild_activity ~ "'") -%}
    {%- endif -%}

    {%- set rebuild_from = var('stream_rebuild_from', none) -%}
    {%- set rebuild_to = var('stream_rebuild_to', none) -%}
    {%- if rebuild_from or rebuild_to -%}
        {%- set bounds = [] -%}
        {%- if rebuild_from -%}
            {%- do bounds.append('ts >= ' ~ activity_schema._timestamp_literal(
                activity_schema._parse_timestamp(
                    'stream_rebuild_from', rebuild_from))) -%}
        {%- endif -%}
        {%- if rebuild_to -%}
            {%- do bounds.append('ts < ' ~ activity_schema._timestamp_literal(
                activity_schema._parse_timestamp(
                    'stream_rebuild_to', rebuild_to))) -%}
        {%- endif -%}
        {%- do parts.append('(' ~ bounds | join(' and ') ~ ')') -%}
    {%- endif -%}
    {{ return('(' ~ parts | join(' or ') ~ ')') }}
{%- endmacro %}


{#- The stream's latest ts, from the table as it is before this run. -#}
{% macro _stream_high_water_mark() -%}
    {%- set result = run_query(adapter.dispatch(
        'stream_high_water_mark_sql', 'activity_schema')()) -%}
    {%- set value = result.columns[0].values()[0] if result else none -%}
    {%- if value is string -%}
        {%- set value = activity_schema._parse_timestamp('max(ts)', value) -%}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}


{#-
    The query of the stream's latest ts. Dispatched: Spark returns it as
    text (see spark_stream.sql), since pyspark turns timestamps into the
    Python process's local time.
-#}
{% macro default__stream_high_water_mark_sql() -%}
    {{ return('select max(ts) from ' ~ this) }}
{%- endmacro %}


{#- The activity names declared by the given activity relations. -#}
{% macro _stream_activity_names(activities) -%}
    {%- set names = [] -%}
    {%- for relation in activities -%}
        {%- for node in graph.nodes.values() -%}
            {%- set declared = (node.config.meta or {}).get('activity_schema') -%}
            {%- if node.resource_type == 'model'
                and node.alias | lower == relation.identifier | lower
                and declared -%}
                {%- do names.append(declared.get('activity')) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(names | unique | sort) }}
{%- endmacro %}


{% macro _parse_timestamp(name, value) -%}
    {%- set text = value | string | trim | replace('T', ' ') -%}
    {%- for format in [
        '%Y-%m-%d %H:%M:%S.%f', '%Y-%m-%d %H:%M:%S', '%Y-%m-%d %H:%M',
        '%Y-%m-%d',
    ] -%}
        {%- set parsed = activity_schema._try_strptime(text, format) -%}
        {%- if parsed is not none -%}
            {{ return(parsed) }}
        {%- endif -%}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error(
        "activity_schema.stream in model '" ~ model.name ~ "': variable '"
        ~ name ~ "' must be a timestamp like '2024-06-30 00:00:00', got '"
        ~ value ~ "'.") }}
{%- endmacro %}


{% macro _try_strptime(text, format) -%}
    {%- if modules.re.match(
        {
            '%Y-%m-%d %H:%M:%S.%f':
                '^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}\\.\\d{1,6}$',
            '%Y-%m-%d %H:%M:%S': '^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}$',
            '%Y-%m-%d %H:%M': '^\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}$',
            '%Y-%m-%d': '^\\d{4}-\\d{2}-\\d{2}$',
        }[format], text) -%}
        {{ return(modules.datetime.datetime.strptime(text, format)) }}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}


{% macro _timestamp_literal(value) -%}
    {{ return("cast('" ~ value.strftime('%Y-%m-%d %H:%M:%S.%f') ~ "' as "
        ~ dbt.type_timestamp() ~ ")") }}
{%- endmacro %}
