{#-
    Generic test on a stream: in every (activity, entity) partition,
    `activity_occurrence` runs 1..n without gaps or repeats, in the order of
    (ts, activity_id). Fails with the offending rows and why.

    Example (YAML, on the model): - activity_schema.stream_occurrence_is_sequential
-#}
{% test stream_occurrence_is_sequential(model) %}

with ranked as (

    select
        activity,
        coalesce(customer, anonymous_customer_id) as entity,
        activity_id,
        ts,
        activity_occurrence,
        count(*) over (
            partition by activity, coalesce(customer, anonymous_customer_id)
        ) as partition_rows,
        lag(ts) over (
            partition by activity, coalesce(customer, anonymous_customer_id)
            order by activity_occurrence
        ) as previous_ts,
        lag(activity_id) over (
            partition by activity, coalesce(customer, anonymous_customer_id)
            order by activity_occurrence
        ) as previous_activity_id,
        lag(activity_occurrence) over (
            partition by activity, coalesce(customer, anonymous_customer_id)
            order by activity_occurrence
        ) as previous_occurrence
    from {{ model }}

),

checked as (

    select
        *,
        case
            when activity_occurrence is null then 'null occurrence'
            when activity_occurrence < 1 or activity_occurrence > partition_rows
                then 'occurrence outside 1..n'
            when previous_occurrence is null and activity_occurrence <> 1
                then 'first row is not occurrence 1'
            when activity_occurrence <> previous_occurrence + 1
                then 'occurrence gap or repeat'
            when previous_ts > ts
                or (previous_ts = ts and previous_activity_id >= activity_id)
                then 'occurrence out of (ts, activity_id) order'
        end as problem
    from ranked

)

select * from checked
where problem is not null

{% endtest %}
