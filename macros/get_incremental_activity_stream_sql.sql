{#-
    The `activity_stream` incremental strategy of `customer_stream`. dbt
    finds strategies in the root project only, so this wrapper exposes the
    package's implementation.
-#}
{% macro get_incremental_activity_stream_sql(arg_dict) -%}
    {{ return(activity_schema.stream_upsert_sql(arg_dict)) }}
{%- endmacro %}
