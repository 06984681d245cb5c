{#-
    customer_purchases after each load, by hand from the seeds. In batch 2
    customer 2's first purchase ever is the late 106 (01-01 07:00, before
    the signup on 01-02 10:00), while the first after the signup stays 103
    (01-04 11:00), whose restated amount (45.00) is now its last; customer
    1's last purchase is 105 (30.00). Purchase 107 has no customer.
-#}
with expected as (

    select * from (values
    {%- if var('batch') | int == 1 %}
        ('1', 'free', '2024-01-03 08:00:00', '2024-01-03 08:00:00', 25.50, 2, 35.50),
        ('2', 'pro', '2024-01-04 11:00:00', '2024-01-04 11:00:00', 40.00, 1, 40.00),
        ('3', 'free', '2024-01-08 14:00:00', '2024-01-08 14:00:00', 15.00, 1, 15.00)
    {%- else %}
        ('1', 'free', '2024-01-03 08:00:00', '2024-01-03 08:00:00', 30.00, 3, 65.50),
        ('2', 'pro', '2024-01-01 07:00:00', '2024-01-04 11:00:00', 45.00, 2, 57.00),
        ('3', 'free', '2024-01-08 14:00:00', '2024-01-08 14:00:00', 15.00, 1, 15.00)
    {%- endif %}
    ) as rows (
        customer, plan, first_purchase_at, first_purchase_after_signup_at,
        last_purchase_amount, purchases, total_spent
    )

),

expected_typed as (

    select
        customer,
        plan,
        cast(first_purchase_at as timestamp) as first_purchase_at,
        cast(first_purchase_after_signup_at as timestamp)
            as first_purchase_after_signup_at,
        cast(last_purchase_amount as decimal(18, 2)) as last_purchase_amount,
        cast(purchases as bigint) as purchases,
        cast(total_spent as decimal(18, 2)) as total_spent
    from expected

),

actual as (

    select
        customer,
        plan,
        first_purchase_at,
        first_purchase_after_signup_at,
        cast(last_purchase_amount as decimal(18, 2)) as last_purchase_amount,
        cast(purchases as bigint) as purchases,
        cast(total_spent as decimal(18, 2)) as total_spent
    from {{ ref('customer_purchases') }}

)

select 'missing' as problem, *
from (select * from expected_typed except all select * from actual) as missing
union all
select 'unexpected' as problem, *
from (select * from actual except all select * from expected_typed) as unexpected
