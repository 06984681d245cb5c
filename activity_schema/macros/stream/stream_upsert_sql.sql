{#-
    stream_upsert_sql(arg_dict) -> the statements of the `activity_stream`
    incremental strategy: delete the stream's rows whose (activity,
    activity_id) the run's changes name, then insert the changes marked
    'upsert'. dbt looks strategies up in the root project, so a project
    that uses the package adds this wrapper to its macros:

        {% macro get_incremental_activity_stream_sql(arg_dict) %}
            {{ return(activity_schema.stream_upsert_sql(arg_dict)) }}
        {% endmacro %}

    arg_dict: dbt's strategy arguments (target_relation, temp_relation, …).
-#}
{% macro stream_upsert_sql(arg_dict) -%}
    {{ return(adapter.dispatch('stream_upsert_sql', 'activity_schema')(arg_dict)) }}
{%- endmacro %}

{% macro default__stream_upsert_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set changes = arg_dict['temp_relation'] -%}
    {%- set columns = adapter.get_columns_in_relation(target)
        | map(attribute='name') | list -%}
    {%- set removed_writes = activity_schema._stream_removed_writes(
        target, changes) -%}
delete from {{ target }}
where exists (
    select 1 from {{ changes }} as changes
    where
        changes._change in ('upsert', 'delete')
        and changes.activity = {{ target }}.activity
        and changes.activity_id = {{ target }}.activity_id
);

insert into {{ target }} ({{ columns | join(', ') }})
select {{ columns | join(', ') }}
from {{ changes }}
where _change = 'upsert'
{%- if removed_writes %};

{{ removed_writes }}
{%- endif %}
{%- endmacro %}


{#-
    DuckDB: the changes carry `_stream_row`, the `rowid` of the stored row
    each one removes or updates (`stream_row_locator`), read in the same
    pass as the touched partitions. The strategy updates the occurrence
    columns of the rows marked 'update' (rows of a touched partition whose
    own values did not change) and deletes the rows marked 'delete' by
    `rowid`, which reads no other column of the stream, then inserts the
    upserts. A `rowid` holds while the table is not written, and nothing
    writes the stream between the select of the changes and these
    statements (the model's own run does both, in one transaction); the
    strategy still checks first that every locator points at a row of the
    same key, and fails the run rather than change another row.
-#}
{% macro duckdb__stream_upsert_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set changes = arg_dict['temp_relation'] -%}
    {%- set columns = adapter.get_columns_in_relation(target)
        | map(attribute='name') | list -%}
    {%- set removed_writes = activity_schema._stream_removed_writes(
        target, changes) -%}
    {%- if execute -%}
        {%- set check -%}
            select count(*)
            from {{ changes }} as changes
            left join (
                select rowid as _stream_row, activity, activity_id
                from {{ target }}
                where rowid in (
                    select _stream_row from {{ changes }}
                    where _stream_row is not null
                )
            ) as stored
                on changes._stream_row = stored._stream_row
            where
                changes._stream_row is not null
                and (
                    stored.activity is distinct from changes.activity
                    or stored.activity_id is distinct from changes.activity_id
                )
        {%- endset -%}
        {%- set moved = run_query(check).columns[0].values()[0] -%}
        {%- if moved | int != 0 -%}
            {{ exceptions.raise_compiler_error(
                "activity_schema.stream_upsert_sql on " ~ target ~ ": "
                ~ moved ~ " rows of the stream moved while the run read it"
                ~ " (was it written by another process?); nothing was"
                ~ " changed, run it again.") }}
        {%- endif -%}
    {%- endif -%}
update {{ target }}
set
    activity_occurrence = changes.activity_occurrence,
    activity_repeated_at = changes.activity_repeated_at
from {{ changes }} as changes
where
    changes._change = 'update'
    and {{ target }}.rowid = changes._stream_row;

delete from {{ target }}
where rowid in (
    select _stream_row from {{ changes }}
    where _change = 'delete' and _stream_row is not null
);

insert into {{ target }} ({{ columns | join(', ') }})
select {{ columns | join(', ') }}
from {{ changes }}
where _change = 'upsert'
{%- if removed_writes %};

{{ removed_writes }}
{%- endif %}
{%- endmacro %}
