{#-
    Custom schemas are used as they are named, not prefixed by the target's
    schema: seeds land in `raw`, as a real warehouse's raw data would.
    Models without a custom schema go to the target's schema.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
