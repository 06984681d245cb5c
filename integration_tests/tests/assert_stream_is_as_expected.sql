{#-
    The whole stream after each load, worked out by hand from the seeds
    (docs/activity-schema.md: occurrences count per activity and customer in
    ts order; activity_repeated_at is the next ts, null on the last).

    Batch 1: customer 1 bought 101 (01-03) then 102 (01-06); 107 has no
    customer and is rejected.
    Batch 2 adds 105 (customer 1, 01-11: occurrence 3, and 102 now repeats
    at 01-11); 106 (customer 2, 01-01), a late purchase older than the
    lookback window (the stream's latest purchase, 01-08 14:00, less 72
    hours), so only the load cursor finds it: it becomes customer 2's first
    and moves 103 to occurrence 2; and 103 again with amount 45.00 and a
    later _loaded_at, which wins over the first version (40.00).
-#}
with expected as (

    select * from (values
        ('signed_up', '1', null, '2024-01-01 09:00:00', 1, null, null, '2024-01-10 00:00:00'),
        ('signed_up', '2', null, '2024-01-02 10:00:00', 1, null, null, '2024-01-10 00:00:00'),
        ('signed_up', '3', null, '2024-01-05 12:00:00', 1, null, null, '2024-01-10 00:00:00'),
    {%- if var('batch') | int == 1 %}
        ('made_purchase', '1', 101, '2024-01-03 08:00:00', 1, '2024-01-06 09:00:00', 10.00, '2024-01-10 00:00:00'),
        ('made_purchase', '1', 102, '2024-01-06 09:00:00', 2, null, 25.50, '2024-01-10 00:00:00'),
        ('made_purchase', '2', 103, '2024-01-04 11:00:00', 1, null, 40.00, '2024-01-10 00:00:00'),
        ('made_purchase', '3', 104, '2024-01-08 14:00:00', 1, null, 15.00, '2024-01-10 00:00:00')
    {%- else %}
        ('made_purchase', '1', 101, '2024-01-03 08:00:00', 1, '2024-01-06 09:00:00', 10.00, '2024-01-10 00:00:00'),
        ('made_purchase', '1', 102, '2024-01-06 09:00:00', 2, '2024-01-11 10:00:00', 25.50, '2024-01-10 00:00:00'),
        ('made_purchase', '1', 105, '2024-01-11 10:00:00', 3, null, 30.00, '2024-01-12 00:00:00'),
        ('made_purchase', '2', 106, '2024-01-01 07:00:00', 1, '2024-01-04 11:00:00', 12.00, '2024-01-12 00:00:00'),
        ('made_purchase', '2', 103, '2024-01-04 11:00:00', 2, null, 45.00, '2024-01-12 00:00:00'),
        ('made_purchase', '3', 104, '2024-01-08 14:00:00', 1, null, 15.00, '2024-01-10 00:00:00')
    {%- endif %}
    ) as rows (
        activity, customer, purchase_id, ts, activity_occurrence,
        activity_repeated_at, revenue_impact, _loaded_at
    )

),

expected_typed as (

    select
        activity,
        customer,
        cast(purchase_id as integer) as purchase_id,
        cast(ts as timestamp) as ts,
        cast(activity_occurrence as bigint) as activity_occurrence,
        cast(activity_repeated_at as timestamp) as activity_repeated_at,
        cast(revenue_impact as decimal(18, 2)) as revenue_impact,
        cast(_loaded_at as timestamp) as _loaded_at
    from expected

),

actual as (

    select
        activity,
        customer,
        cast(feature_json ->> 'purchase_id' as integer) as purchase_id,
        ts,
        cast(activity_occurrence as bigint) as activity_occurrence,
        activity_repeated_at,
        cast(revenue_impact as decimal(18, 2)) as revenue_impact,
        _loaded_at
    from {{ ref('customer_stream') }}

)

select 'missing' as problem, *
from (select * from expected_typed except all select * from actual) as missing
union all
select 'unexpected' as problem, *
from (select * from actual except all select * from expected_typed) as unexpected
