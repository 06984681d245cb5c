{#-
    dbt-spark (1.11) accepts only its own incremental strategies (append,
    merge, insert_overwrite, microbatch) and never looks up
    `get_incremental_<strategy>_sql` (dbt-labs/dbt-spark#411). These two
    overrides of its macros (adapter macros can be overridden from the root
    project only) let the `activity_stream` strategy of `customer_stream`
    through to `get_incremental_activity_stream_sql`, and hand every other
    strategy to dbt-spark unchanged. Other adapters never call them.
-#}
{% macro dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format) -%}
    {%- if raw_strategy == 'activity_stream' -%}
        {{ return(raw_strategy) }}
    {%- endif -%}
    {{ return(dbt.dbt_spark_validate_get_incremental_strategy(
        raw_strategy, file_format)) }}
{%- endmacro %}

{% macro dbt_spark_get_incremental_sql(strategy, source, target, existing, unique_key, incremental_predicates) -%}
    {%- if strategy == 'activity_stream' -%}
        {{ return(get_incremental_activity_stream_sql({
            'target_relation': target,
            'temp_relation': source,
            'unique_key': unique_key,
            'dest_columns': none,
            'incremental_predicates': incremental_predicates,
        })) }}
    {%- endif -%}
    {{ return(dbt.dbt_spark_get_incremental_sql(
        strategy, source, target, existing, unique_key,
        incremental_predicates)) }}
{%- endmacro %}
