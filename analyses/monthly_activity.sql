-- How many customers did each activity, per month, and how many of them did
-- it for at least the second time. Compile with `dbt compile` and run the
-- SQL in target/compiled/.
with stream as (

    select * from {{ ref('customer_stream') }}

),

monthly as (

    select
        activity,
        {{ dbt.date_trunc('month', 'ts') }} as activity_month,
        count(*) as n_activities,
        count(distinct coalesce(customer, anonymous_customer_id)) as n_entities,
        count(
            distinct case
                when activity_occurrence > 1 then customer
            end
        ) as n_repeat_customers
    from stream
    group by activity, {{ dbt.date_trunc('month', 'ts') }}

)

select * from monthly
order by activity_month, activity
