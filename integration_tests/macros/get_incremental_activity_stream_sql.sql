{#-
    The `activity_stream` incremental strategy. dbt looks strategies up in
    the root project only, so every project that builds a stream needs this
    wrapper around the package's implementation.
-#}
{% macro get_incremental_activity_stream_sql(arg_dict) -%}
    {{ return(activity_schema.stream_upsert_sql(arg_dict)) }}
{%- endmacro %}
