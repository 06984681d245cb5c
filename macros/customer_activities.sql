{#-
    customer_activities() -> the ref()s of every activity model of the
    customer stream. `customer_stream` and `stream_rejections` both read this
    list, so an activity is added to the stream in one place.
-#}
{% macro customer_activities() -%}
    {{ return([
        ref('act_created_account'),
        ref('act_placed_order'),
        ref('act_made_payment'),
        ref('act_viewed_page'),
    ]) }}
{%- endmacro %}
