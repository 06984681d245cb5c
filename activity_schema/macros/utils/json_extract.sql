{#-
    json_extract(column, key, type) -> SQL reading one key of a JSON object
    column as text and casting it to a declared feature type.

    Example: activity_schema.json_extract('feature_json', 'order_status',
    'string')
-#}
{% macro json_extract(column, key, type) -%}
    cast(
        {{ adapter.dispatch('json_extract_text', 'activity_schema')(column, key) }}
        as {{ activity_schema.feature_sql_type(type) }}
    )
{%- endmacro %}

{% macro default__json_extract_text(column, key) -%}
    json_extract_string({{ column }}, '$.{{ key }}')
{%- endmacro %}

{% macro postgres__json_extract_text(column, key) -%}
    ({{ column }} ->> '{{ key }}')
{%- endmacro %}

{% macro snowflake__json_extract_text(column, key) -%}
    {{ column }}:"{{ key }}"::varchar
{%- endmacro %}

{% macro bigquery__json_extract_text(column, key) -%}
    json_value({{ column }}, '$.{{ key }}')
{%- endmacro %}

{% macro redshift__json_extract_text(column, key) -%}
    json_extract_path_text(json_serialize({{ column }}), '{{ key }}')
{%- endmacro %}

{% macro spark__json_extract_text(column, key) -%}
    get_json_object({{ column }}, '$.{{ key }}')
{%- endmacro %}
