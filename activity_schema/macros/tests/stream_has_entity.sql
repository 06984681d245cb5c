{#-
    Generic test on a stream: every row has a `customer` or an
    `anonymous_customer_id`. Fails with the rows that have neither.

    Example (YAML, on the model): - activity_schema.stream_has_entity
-#}
{% test stream_has_entity(model) %}

select
    activity,
    activity_id,
    ts
from {{ model }}
where customer is null and anonymous_customer_id is null

{% endtest %}
