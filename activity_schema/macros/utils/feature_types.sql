{#-
    feature_types() -> list of the type names a feature may be declared with.
    feature_sql_type(type) -> the warehouse's SQL type for one of them, from
    dbt's cross-database type macros.

    Example: activity_schema.feature_sql_type('numeric') -> 'numeric(28,6)'
    on Postgres.
-#}
{% macro feature_types() -%}
    {{ return([
        'string', 'integer', 'bigint', 'numeric', 'float', 'boolean',
        'date', 'timestamp',
    ]) }}
{%- endmacro %}

{% macro feature_sql_type(type) -%}
    {%- set types = {
        'string': dbt.type_string(),
        'integer': dbt.type_int(),
        'bigint': dbt.type_bigint(),
        'numeric': dbt.type_numeric(),
        'float': dbt.type_float(),
        'boolean': dbt.type_boolean(),
        'date': 'date',
        'timestamp': dbt.type_timestamp(),
    } -%}
    {%- if type not in types -%}
        {{ exceptions.raise_compiler_error(
            "activity_schema.feature_sql_type: unknown feature type '" ~ type
            ~ "'; allowed types: " ~ types.keys() | join(', ') ~ ".") }}
    {%- endif -%}
    {{ return(types[type]) }}
{%- endmacro %}
