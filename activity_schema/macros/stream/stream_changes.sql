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

    Dispatched (`stream_changes_sql`): a warehouse that cannot delete rows
    in place writes another shape (Spark: spark_stream_changes.sql).
-#}
{% macro _stream_changes_sql(activities) -%}
    {{ return(adapter.dispatch('stream_changes_sql', 'activity_schema')(activities)) }}
{%- endmacro %}

{% macro default__stream_changes_sql(activities) -%}
    {%- set columns = activity_schema.stream_columns() -%}
    {%- set scope = activity_schema.stream_scope(activities) -%}
    {%- set compared = columns | reject('in', ['activity', 'activity_id'])
        | list -%}
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

fresh as (

    select
        {%- for column in columns %}
        source_rows.{{ column }},
        {%- endfor %}
        cast(null as {{ dbt.type_bigint() }}) as _old_occurrence,
        cast(null as {{ dbt.type_timestamp() }}) as _old_repeated_at
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
    from recomputed
    where
        _old_occurrence is null
        or activity_occurrence != _old_occurrence
        or activity_repeated_at is distinct from _old_repeated_at

),

deletes as (

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

)

select * from upserts
union all
select * from deletes
{%- endmacro %}
