{#-
    Generic test on a stream: `activity_repeated_at` is the `ts` of the next
    row (by occurrence) of the same (activity, entity) partition, and null on
    the last. Fails with the offending rows.

    Example (YAML, on the model): - activity_schema.stream_repeated_at_is_next_ts
-#}
{% test stream_repeated_at_is_next_ts(model) %}

with followed as (

    select
        activity,
        coalesce(customer, anonymous_customer_id) as entity,
        activity_id,
        activity_occurrence,
        activity_repeated_at,
        lead(ts) over (
            partition by activity, coalesce(customer, anonymous_customer_id)
            order by activity_occurrence
        ) as next_ts
    from {{ model }}

)

select * from followed
where
    (activity_repeated_at is null and next_ts is not null)
    or (activity_repeated_at is not null and next_ts is null)
    or activity_repeated_at <> next_ts

{% endtest %}
