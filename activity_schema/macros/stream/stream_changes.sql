{#-
    The select of an incremental run of the stream: the rows to write, each
    with `_change` = 'upsert' (insert or replace the row of its key) or
    'delete' (remove the row of its key). Applied by the `activity_stream`
    incremental strategy (`stream_upsert_sql`).

    1. `source_rows` / `stream_rows`: the sources and the stream, both cut
       to the scope of `stream_scope` (the lookback window by default).
    2. `changes`: keys that are new, changed in any column, or gone from
       the sources, compared within the scope.
    3. `touched`: the (activity, entity) partitions of the old and of the
       new version of every change.
    4. `recomputed`: every row of a touched partition (the stream's rows
       that did not change plus the new versions), with the occurrence
       columns recomputed over the partition's whole history.
    5. Only rows that differ from what the stream holds are written.

    Where the warehouse can address a stored row directly
    (`stream_row_locator`: DuckDB's `rowid`), steps 3 and 4 read the stream
    once for both the touched partitions and the current rows of every
    changed key, and each output row carries `_stream_row`, the locator of
    the stored row it replaces or removes (null for a row with no stored
    version). The strategy then deletes by locator instead of joining the
    whole stream on the key a second time.

    Dispatched (`stream_changes_sql`), but every adapter uses this default.
    Spark turns these row changes into rewrites of whole entity buckets in
    `spark__stream_upsert_sql` (spark_stream.sql), so this SQL must stay
    valid Spark SQL and keep its output shape; `make test-spark` checks both.
-#}
{% macro _stream_changes_sql(activities) -%}
    {{ return(adapter.dispatch('stream_changes_sql', 'activity_schema')(activities)) }}
{%- endmacro %}

{% macro default__stream_changes_sql(activities) -%}
    {%- set columns = activity_schema.stream_columns() -%}
    {%- set scope = activity_schema.stream_scope(activities) -%}
    {%- set compared = columns | reject('in', ['activity', 'activity_id'])
        | list -%}
    {%- set locator = activity_schema.stream_row_locator() -%}
with source_rows as (
    {{ activity_schema._stream_accepted_rows(activities, scope) }}
),

stream_rows as (

    select
        {{ columns | join(',\n        ') }}
    from {{ this }}
    where {{ scope }}

),

compared as (

    select
        coalesce(source_rows.activity, stream_rows.activity) as activity,
        coalesce(source_rows.activity_id, stream_rows.activity_id)
            as activity_id,
        source_rows.activity_id is null as is_deleted,
        coalesce(source_rows.customer, source_rows.anonymous_customer_id)
            as new_entity,
        coalesce(stream_rows.customer, stream_rows.anonymous_customer_id)
            as old_entity,
        stream_rows.activity_id is null
        {%- for column in compared %}
        or source_rows.{{ column }} is distinct from stream_rows.{{ column }}
        {%- endfor %} as is_changed
    from source_rows
    full outer join stream_rows
        on
            source_rows.activity = stream_rows.activity
            and source_rows.activity_id = stream_rows.activity_id

),

changes as (

    select * from compared
    where is_deleted or is_changed

),

touched as (

    select activity, new_entity as entity from changes
    where new_entity is not null
    union
    select activity, old_entity as entity from changes
    where old_entity is not null

),

{%- if locator %}

current_rows as (

    {#- One pass over the stream: the rows of touched partitions and the
        stored version of every changed key, wherever it lies. -#}
    select
        {%- for column in columns %}
        stored.{{ column }},
        {%- endfor %}
        stored.activity_occurrence,
        stored.activity_repeated_at,
        stored.{{ locator }} as _stream_row,
        touched.entity is not null as _is_touched,
        changes.activity_id is not null as _is_changed
    from {{ this }} as stored
    left join touched
        on
            stored.activity = touched.activity
            and coalesce(stored.customer, stored.anonymous_customer_id)
            = touched.entity
    left join changes
        on
            stored.activity = changes.activity
            and stored.activity_id = changes.activity_id
    where touched.entity is not null or changes.activity_id is not null

),

kept as (

    select
        {%- for column in columns %}
        {{ column }},
        {%- endfor %}
        activity_occurrence as _old_occurrence,
        activity_repeated_at as _old_repeated_at,
        _stream_row
    from current_rows
    where _is_touched and not _is_changed

),
{%- else %}

kept as (

    select
        {%- for column in columns %}
        current_rows.{{ column }},
        {%- endfor %}
        current_rows.activity_occurrence as _old_occurrence,
        current_rows.activity_repeated_at as _old_repeated_at
    from {{ this }} as current_rows
    inner join touched
        on
            current_rows.activity = touched.activity
            and coalesce(
                current_rows.customer, current_rows.anonymous_customer_id
            ) = touched.entity
    left join changes
        on
            current_rows.activity = changes.activity
            and current_rows.activity_id = changes.activity_id
    where changes.activity_id is null

),
{%- endif %}

fresh as (

    select
        {%- for column in columns %}
        source_rows.{{ column }},
        {%- endfor %}
        cast(null as {{ dbt.type_bigint() }}) as _old_occurrence,
        cast(null as {{ dbt.type_timestamp() }}) as _old_repeated_at
        {%- if locator %},
        cast(null as {{ dbt.type_bigint() }}) as _stream_row
        {%- endif %}
    from source_rows
    inner join changes
        on
            source_rows.activity = changes.activity
            and source_rows.activity_id = changes.activity_id
    where not changes.is_deleted

),

recomputed as (

    select
        *,
        {{ activity_schema.occurrence_columns() | indent(8) }}
    from (
        select * from kept
        union all
        select * from fresh
    ) as partition_rows

),

upserts as (

    select
        {{ columns | join(',\n        ') }},
        activity_occurrence,
        activity_repeated_at,
        'upsert' as _change
        {%- if locator %},
        _stream_row
        {%- endif %}
    from recomputed
    where
        _old_occurrence is null
        or activity_occurrence != _old_occurrence
        or activity_repeated_at is distinct from _old_repeated_at

),

deletes as (
{%- if locator %}

    {#- The stored version of every changed key: removed, and replaced by
        its upsert if it has one. -#}
    select
        {{ columns | join(',\n        ') }},
        activity_occurrence,
        activity_repeated_at,
        'delete' as _change,
        _stream_row
    from current_rows
    where _is_changed
{%- else %}

    select
        {%- for column in columns %}
        current_rows.{{ column }},
        {%- endfor %}
        current_rows.activity_occurrence,
        current_rows.activity_repeated_at,
        'delete' as _change
    from {{ this }} as current_rows
    inner join changes
        on
            current_rows.activity = changes.activity
            and current_rows.activity_id = changes.activity_id
    where changes.is_deleted
{%- endif %}

)

select * from upserts
union all
select * from deletes
{%- endmacro %}



{#-
    stream_row_locator() -> the name of a column that addresses a stored row
    of the stream for as long as the table is not written (DuckDB:
    `rowid`), or none. With one, an incremental run finds the rows to
    delete in the same pass that reads the touched partitions
    (`default__stream_changes_sql`) and deletes them by locator
    (`duckdb__stream_upsert_sql`). None by default: the strategy deletes by
    (activity, activity_id).
-#}
{% macro stream_row_locator() -%}
    {{ return(adapter.dispatch('stream_row_locator', 'activity_schema')()) }}
{%- endmacro %}

{% macro default__stream_row_locator() -%}
    {{ return(none) }}
{%- endmacro %}

{% macro duckdb__stream_row_locator() -%}
    {{ return('rowid') }}
{%- endmacro %}
