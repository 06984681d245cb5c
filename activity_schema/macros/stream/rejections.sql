{#-
    rejections(activities) -> one row for every source row that the stream
    cannot accept, with the activity, the source key and the reason.

    activities: the same list of activity relations as `stream`.

    Example: {{ activity_schema.rejections([ref('act_placed_order')]) }}
-#}
{% macro rejections(activities) -%}
    {%- for relation in activities %}
select
    activity,
    _source_key as source_key,
    activity_id,
    ts,
    customer,
    anonymous_customer_id,
    _rejection_reason as rejection_reason
from {{ relation }}
where _rejection_reason is not null
{{ 'union all' if not loop.last }}
    {%- endfor %}
{%- endmacro %}
