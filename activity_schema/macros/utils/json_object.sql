{#-
    json_object(pairs) -> SQL for a JSON object in the warehouse's JSON type.

    pairs: a list of (key, sql expression) tuples; keys keep their order
    where the warehouse keeps it. Null values are kept as JSON nulls, so
    every row of an activity carries the same keys.

    Example: activity_schema.json_object([('order_status', 'status')])
-#}
{% macro json_object(pairs) -%}
    {{ return(adapter.dispatch('json_object', 'activity_schema')(pairs)) }}
{%- endmacro %}

{% macro default__json_object(pairs) -%}
    json_object(
        {%- for key, expression in pairs %}
        '{{ key }}', {{ expression }}{{ ',' if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}

{% macro postgres__json_object(pairs) -%}
    jsonb_build_object(
        {%- for key, expression in pairs %}
        '{{ key }}', {{ expression }}{{ ',' if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}

{% macro snowflake__json_object(pairs) -%}
    object_construct_keep_null(
        {%- for key, expression in pairs %}
        '{{ key }}', {{ expression }}{{ ',' if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}

{% macro redshift__json_object(pairs) -%}
    object(
        {%- for key, expression in pairs %}
        '{{ key }}', {{ expression }}{{ ',' if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}

{% macro spark__json_object(pairs) -%}
    {%- if pairs | length == 0 -%}
    '{}'
    {%- else -%}
    to_json(
        named_struct(
            {%- for key, expression in pairs %}
            '{{ key }}', {{ expression }}{{ ',' if not loop.last }}
            {%- endfor %}
        ),
        map('ignoreNullFields', 'false')
    )
    {%- endif -%}
{%- endmacro %}
