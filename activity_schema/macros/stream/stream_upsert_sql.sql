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
delete from {{ target }}
where exists (
    select 1 from {{ changes }} as changes
    where
        changes.activity = {{ target }}.activity
        and changes.activity_id = {{ target }}.activity_id
);

insert into {{ target }} ({{ columns | join(', ') }})
select {{ columns | join(', ') }}
from {{ changes }}
where _change = 'upsert'
{%- endmacro %}
