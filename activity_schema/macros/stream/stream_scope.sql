{#-
    stream_plan(activities, incremental) -> what one run of the stream
    reads, as a dict:

    - activities: one dict per activity model (in the given order): its
      `relation`, `name`, `fingerprint` (see `_stream_fingerprint`),
      `has_loaded_at`, and `scope`, a SQL predicate on its rows' `ts` and
      `_loaded_at` (the rows the run re-derives; 'true' for all of them);
    - removed: the activities the stream holds that are no longer listed;
    - horizon: the latest `ts` a row may have to enter the stream (the run's
      clock plus `stream_future_tolerance_hours`);
    - stored_scope: the same scopes as one predicate on the stream's rows,
      less the load cursors (no stored row was loaded after its activity's
      latest `_loaded_at`), so a range of `ts` per activity; plus every row
      of a removed activity;
    - stream_rows: the rows the stream holds before an incremental run
      (counted by the same scan as its state), none for a full build.

    A full build reads every row. An incremental run decides per activity,
    from the stream's own rows (so that a replay of the same data does the
    same thing):
    - a new activity, or one whose fingerprint differs from the one its
      rows carry: all of its rows (logged);
    - otherwise the rows with `ts >= its latest ts - stream_lookback_hours`
      (its own latest ts, never another activity's), or, where the activity
      declares `loaded_at`, loaded after the latest `_loaded_at` it holds,
      whatever their `ts` (a load is taken to become visible at once, as
      loaders commit it);
    - `stream_reconcile: true`: everything; `stream_rebuild_activity`:
      every row of that activity; `stream_rebuild_from` / `_to` (or dbt's
      `--event-time-start` / `--event-time-end`): also every row with
      from <= ts < to.
    Every variable is validated: a bad value fails naming it.
-#}
{% macro stream_plan(activities, incremental) -%}
    {%- set where = "activity_schema.stream in model '" ~ model.name ~ "'" -%}
    {%- set specs = activity_schema._stream_activity_specs(activities) -%}
    {%- set horizon = activity_schema._stream_clock()
        + modules.datetime.timedelta(hours=activity_schema._stream_number_var(
            'stream_future_tolerance_hours', 24, 0, 87600)) -%}
    {%- set lookback = activity_schema._stream_number_var(
        'stream_lookback_hours', 72, 0, 876000) -%}
    {%- set reconcile = activity_schema._stream_bool_var(
        'stream_reconcile', false) -%}
    {%- set rebuild_activity = var('stream_rebuild_activity', none) -%}
    {%- set names = specs | map(attribute='name') | list -%}
    {%- if rebuild_activity is not none and rebuild_activity not in names -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": variable 'stream_rebuild_activity' is '"
            ~ rebuild_activity ~ "'; allowed values: "
            ~ names | sort | join(', ') ~ ".") }}
    {%- endif -%}
    {%- set window = activity_schema._stream_rebuild_window() -%}

    {%- set state = activity_schema._stream_state() if incremental else {} -%}
    {%- set plan_activities = [] -%}
    {%- for spec in specs -%}
        {%- set held = state.get(spec.name) -%}
        {%- set parts = [] -%}
        {#- The stream's own rows of the activity in scope: the same, less
            the load cursor, which no stored row passes (the cursor is the
            latest `_loaded_at` the activity holds). Without it the stored
            scope is a range of `ts`, which an index on `ts` serves. -#}
        {%- set stored_parts = [] -%}
        {%- if not incremental or reconcile or rebuild_activity == spec.name -%}
            {%- do parts.append('true') -%}
        {%- elif held is none -%}
            {{ log(model.name ~ ": activity '" ~ spec.name ~ "' is new in"
                ~ " the stream: deriving all of its rows.", info=true) }}
            {%- do parts.append('true') -%}
        {%- elif held.fingerprints != [spec.fingerprint] -%}
            {{ log(model.name ~ ": the definition of activity '" ~ spec.name
                ~ "' changed (" ~ held.fingerprints | join(', ') ~ " -> "
                ~ spec.fingerprint ~ "): re-deriving all of its rows.",
                info=true) }}
            {%- do parts.append('true') -%}
        {%- else -%}
            {%- do parts.append('ts >= ' ~ activity_schema._timestamp_literal(
                held.latest_ts - modules.datetime.timedelta(hours=lookback))) -%}
            {%- do stored_parts.append(parts[0]) -%}
            {%- if spec.has_loaded_at -%}
                {%- do parts.append(
                    '_loaded_at > ' ~ activity_schema._timestamp_literal(
                        held.latest_loaded_at)
                    if held.latest_loaded_at is not none
                    else '_loaded_at is not null') -%}
            {%- endif -%}
            {%- if window -%}
                {%- do parts.append(window) -%}
                {%- do stored_parts.append(window) -%}
            {%- endif -%}
        {%- endif -%}
        {%- set scope = 'true' if 'true' in parts
            else 'coalesce(' ~ parts | join(' or ') ~ ', false)' -%}
        {%- set stored_scope = 'true' if 'true' in parts
            else '(' ~ stored_parts | join(' or ') ~ ')' -%}
        {%- do plan_activities.append({
            'relation': spec.relation,
            'name': spec.name,
            'fingerprint': spec.fingerprint,
            'has_loaded_at': spec.has_loaded_at,
            'scope': scope,
            'stored_scope': stored_scope,
        }) -%}
    {%- endfor -%}

    {%- set removed = [] -%}
    {%- for name in state.keys() | sort if name not in names -%}
        {{ log(model.name ~ ": activity '" ~ name ~ "' is no longer listed:"
            ~ " removing its rows.", info=true) }}
        {%- do removed.append(name) -%}
    {%- endfor -%}

    {%- set stored = [] -%}
    {%- for activity in plan_activities -%}
        {%- do stored.append("(activity = '" ~ activity.name ~ "'"
            ~ ('' if activity.stored_scope == 'true'
                else ' and ' ~ activity.stored_scope)
            ~ ")") -%}
    {%- endfor -%}
    {%- for name in removed -%}
        {%- do stored.append("activity = '" ~ name ~ "'") -%}
    {%- endfor -%}
    {{ return({
        'activities': plan_activities,
        'removed': removed,
        'horizon': horizon,
        'stored_scope': '(' ~ stored | join('\n        or ') ~ ')',
        'stream_rows': state.values() | sum(attribute='rows')
            if incremental else none,
    }) }}
{%- endmacro %}


{#-
    stream_scope(activities) -> the predicate on `activity` and `ts` of the
    stream rows an incremental run re-derives (see `stream_plan`).
-#}
{% macro stream_scope(activities) -%}
    {{ return(activity_schema.stream_plan(activities, true).stored_scope) }}
{%- endmacro %}


{#-
    The activity models of the list, each as {relation, name,
    has_loaded_at, fingerprint}, from their declarations in dbt's graph.
    A relation that is no activity model fails, naming it.
-#}
{% macro _stream_activity_specs(activities) -%}
    {%- set specs = [] -%}
    {%- for relation in activities -%}
        {#- A relation, or the name of a CTE in dbt's unit tests. -#}
        {%- set identifier = (relation.identifier
            if relation.identifier is defined else relation) | string
            | lower -%}
        {%- if identifier.startswith('__dbt__cte__') -%}
            {%- set identifier = identifier[12:] -%}
        {%- endif -%}
        {%- set found = [] -%}
        {%- for node in (graph.nodes or {}).values() if execute
            and node.resource_type == 'model'
            and (node.alias or node.name) | lower == identifier
            and (node.config.meta or {}).get('activity_schema') -%}
            {%- do found.append(node) -%}
        {%- endfor -%}
        {%- if found | length == 0 -%}
            {#- dbt's unit tests (and parsing) render without the graph. -#}
            {%- if not execute or not graph.nodes -%}
                {%- do found.append(none) -%}
            {%- else -%}
                {{ exceptions.raise_compiler_error(
                    "activity_schema.stream in model '" ~ model.name ~ "': '"
                    ~ relation ~ "' is not a model built with"
                    ~ " activity_schema.activity.") }}
            {%- endif -%}
        {%- endif -%}
        {%- set node = found[0] -%}
        {%- set declared = node.config.meta.activity_schema if node else {} -%}
        {%- do specs.append({
            'relation': relation,
            'name': declared.get('activity', identifier),
            'has_loaded_at': declared.get('loaded_at') is not none,
            'fingerprint': activity_schema._stream_fingerprint(node)
                if node else 'unknown',
        }) -%}
    {%- endfor -%}
    {{ return(specs) }}
{%- endmacro %}


{#-
    The fingerprint of what defines an activity's rows: its declaration
    (key, ts, entity columns, features and their types, revenue, link,
    load column) and the file checksums of its model and of every model
    upstream of it (staging included; seeds and sources are data, not
    definition). 16 hex digits of an MD5.
-#}
{% macro _stream_fingerprint(node) -%}
    {%- set checksums = [] -%}
    {%- set pending = [node.unique_id] -%}
    {%- set seen = [] -%}
    {%- for _ in range(1000) if pending -%}
        {%- set unique_id = pending.pop(0) -%}
        {%- if unique_id not in seen -%}
            {%- do seen.append(unique_id) -%}
            {%- set current = graph.nodes.get(unique_id) -%}
            {%- if current and current.resource_type == 'model' -%}
                {%- do checksums.append(
                    unique_id ~ '=' ~ current.checksum.checksum) -%}
                {%- do pending.extend(current.depends_on.nodes) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(local_md5(tojson({
        'declaration': node.config.meta.activity_schema,
        'models': checksums | sort,
    }, sort_keys=true))[:16]) }}
{%- endmacro %}


{#-
    {activity: {latest_ts, latest_loaded_at, fingerprints, rows}} of the
    stream as it is before this run: one scan of three columns.
-#}
{% macro _stream_state() -%}
    {%- set where = "activity_schema.stream in model '" ~ model.name ~ "': "
        ~ this -%}
    {%- set present = adapter.get_columns_in_relation(this)
        | map(attribute='name') | map('lower') | list -%}
    {%- for column in ['_loaded_at', '_definition'] -%}
        {%- if column not in present -%}
            {{ exceptions.raise_compiler_error(
                where ~ " has no column " ~ column ~ " (it was built by an"
                ~ " earlier version of the package); rebuild it once with"
                ~ " --full-refresh.") }}
        {%- endif -%}
    {%- endfor -%}
    {%- set text = dbt.type_string() -%}
    {%- set query -%}
        select
            activity,
            cast(max(ts) as {{ text }}) as latest_ts,
            cast(max(_loaded_at) as {{ text }}) as latest_loaded_at,
            min(_definition) as first_definition,
            max(_definition) as last_definition,
            count(*) as stored_rows
        from {{ this }}
        group by activity
    {%- endset -%}
    {%- set state = {} -%}
    {%- if execute -%}
        {%- for row in run_query(query) -%}
            {%- do state.update({row[0]: {
                'latest_ts': activity_schema._stream_state_timestamp(
                    'max(ts) of ' ~ row[0], row[1]),
                'latest_loaded_at': activity_schema._stream_state_timestamp(
                    'max(_loaded_at) of ' ~ row[0], row[2]),
                'fingerprints': [row[3], row[4]] | unique | list,
                'rows': row[5] | int,
            }}) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(state) }}
{%- endmacro %}


{% macro _stream_state_timestamp(name, value) -%}
    {%- if value is none -%}
        {{ return(none) }}
    {%- elif value is string -%}
        {{ return(activity_schema._parse_timestamp(name, value)) }}
    {%- endif -%}
    {{ return(value.replace(tzinfo=none)) }}
{%- endmacro %}


{#-
    The run's clock: the variable `stream_clock` (a timestamp, UTC) or the
    time the dbt invocation started, in UTC.
-#}
{% macro _stream_clock() -%}
    {%- set value = var('stream_clock', none) -%}
    {%- if value is not none -%}
        {{ return(activity_schema._parse_timestamp('stream_clock', value)) }}
    {%- endif -%}
    {{ return(run_started_at.astimezone(modules.pytz.utc).replace(tzinfo=none)) }}
{%- endmacro %}


{#-
    The rebuild window as a predicate on `ts`, or none: the variables
    `stream_rebuild_from` / `stream_rebuild_to`, or dbt's
    `--event-time-start` / `--event-time-end` (either may be left out;
    from must be before to).
-#}
{% macro _stream_rebuild_window() -%}
    {%- set bounds = {} -%}
    {%- for side, name, flag in [
        ('from', 'stream_rebuild_from', 'EVENT_TIME_START'),
        ('to', 'stream_rebuild_to', 'EVENT_TIME_END')] -%}
        {%- set value = var(name, none) -%}
        {%- set flagged = activity_schema._event_time_flag(flag) -%}
        {%- if value is not none and flagged is not none -%}
            {{ exceptions.raise_compiler_error(
                "activity_schema.stream in model '" ~ model.name
                ~ "': variable '" ~ name ~ "' and --"
                ~ flag | lower | replace('_', '-')
                ~ " both set a rebuild bound; give one of them.") }}
        {%- endif -%}
        {%- if value is not none -%}
            {%- do bounds.update({side: activity_schema._parse_timestamp(
                name, value)}) -%}
        {%- elif flagged is not none -%}
            {%- do bounds.update({side: flagged}) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if 'from' in bounds and 'to' in bounds
        and bounds['from'] >= bounds['to'] -%}
        {{ exceptions.raise_compiler_error(
            "activity_schema.stream in model '" ~ model.name ~ "': the"
            ~ " rebuild window is empty: from '" ~ bounds['from']
            ~ "' is not before to '" ~ bounds['to'] ~ "' (variables"
            ~ " 'stream_rebuild_from' / 'stream_rebuild_to' or"
            ~ " --event-time-start / --event-time-end).") }}
    {%- endif -%}
    {%- set parts = [] -%}
    {%- if 'from' in bounds -%}
        {%- do parts.append('ts >= ' ~ activity_schema._timestamp_literal(
            bounds['from'])) -%}
    {%- endif -%}
    {%- if 'to' in bounds -%}
        {%- do parts.append('ts < ' ~ activity_schema._timestamp_literal(
            bounds['to'])) -%}
    {%- endif -%}
    {{ return('(' ~ parts | join(' and ') ~ ')' if parts else none) }}
{%- endmacro %}


{#- dbt's --event-time-start / --event-time-end, or none. -#}
{% macro _event_time_flag(flag) -%}
    {%- set value = invocation_args_dict.get(flag | lower) -%}
    {%- if value is none -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(activity_schema._parse_timestamp(
        '--' ~ flag | lower | replace('_', '-'), value)) }}
{%- endmacro %}


{#- How a variable's value is described in an error. -#}
{% macro _value_kind(value) -%}
    {%- if value is sameas true or value is sameas false -%}
        {{ return('a boolean') }}
    {%- elif value is number -%}
        {{ return('a number') }}
    {%- elif value is string -%}
        {{ return('a string') }}
    {%- elif value is none -%}
        {{ return('null') }}
    {%- endif -%}
    {{ return('a list or mapping') }}
{%- endmacro %}


{#- A variable that must be true or false (YAML booleans only). -#}
{% macro _stream_bool_var(name, default) -%}
    {%- set value = var(name, default) -%}
    {%- if value is not sameas true and value is not sameas false -%}
        {{ exceptions.raise_compiler_error(
            "activity_schema.stream in model '" ~ model.name ~ "': variable '"
            ~ name ~ "' must be true or false, got '" ~ value ~ "' ("
            ~ activity_schema._value_kind(value) ~ ").") }}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}


{#- A variable that must be a number between low and high. -#}
{% macro _stream_number_var(name, default, low, high) -%}
    {%- set value = var(name, default) -%}
    {%- if value is sameas true or value is sameas false
        or value is not number or value != value
        or value < low or value > high -%}
        {{ exceptions.raise_compiler_error(
            "activity_schema.stream in model '" ~ model.name ~ "': variable '"
            ~ name ~ "' must be a number from " ~ low ~ " to " ~ high
            ~ ", got '" ~ value ~ "' (" ~ activity_schema._value_kind(value)
            ~ ").") }}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}


{% macro _parse_timestamp(name, value) -%}
    {%- if value is not string and value.strftime is defined -%}
        {%- set value = value.strftime('%Y-%m-%d %H:%M:%S.%f') -%}
    {%- endif -%}
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
        "activity_schema.stream in model '" ~ model.name ~ "': " ~ name
        ~ " must be a timestamp like '2024-06-30 00:00:00' (UTC), got '"
        ~ value ~ "'.") }}
{%- endmacro %}


{#- A datetime for text of one of the formats, or none: every field is
    checked first (hour 25, minute 61 or 2024-02-30 give none). -#}
{% macro _try_strptime(text, format) -%}
    {%- set shapes = {
        '%Y-%m-%d %H:%M:%S.%f': ' ([01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d\\.\\d{1,6}',
        '%Y-%m-%d %H:%M:%S': ' ([01]\\d|2[0-3]):[0-5]\\d:[0-5]\\d',
        '%Y-%m-%d %H:%M': ' ([01]\\d|2[0-3]):[0-5]\\d',
        '%Y-%m-%d': '',
    } -%}
    {%- if modules.re.match(
            '^\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])'
            ~ shapes[format] ~ '$', text)
        and text[8:10] | int <= activity_schema._days_in_month(
            text[0:4] | int, text[5:7] | int) -%}
        {{ return(modules.datetime.datetime.strptime(text, format)) }}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}


{% macro _days_in_month(year, month) -%}
    {%- if month == 2 -%}
        {{ return(29 if (year % 4 == 0 and year % 100 != 0)
            or year % 400 == 0 else 28) }}
    {%- endif -%}
    {{ return(30 if month in [4, 6, 9, 11] else 31) }}
{%- endmacro %}


{% macro _timestamp_literal(value) -%}
    {{ return("cast('" ~ value.strftime('%Y-%m-%d %H:%M:%S.%f') ~ "' as "
        ~ dbt.type_timestamp() ~ ")") }}
{%- endmacro %}
