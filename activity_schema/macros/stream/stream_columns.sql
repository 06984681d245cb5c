{#-
    stream_columns() -> the stream's columns, in order, without the two
    occurrence columns that the stream computes.
-#}
{% macro stream_columns() -%}
    {{ return([
        'activity_id', 'ts', 'customer', 'anonymous_customer_id', 'activity',
        'feature_json', 'revenue_impact', 'link',
    ]) }}
{%- endmacro %}
