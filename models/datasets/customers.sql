{#-
    jaffle shop's `customers` table, as a dataset of the customer stream:
    one row per customer, with its first and most recent order, its order
    count and its lifetime value (payments, in dollars). A customer is a
    person after identity resolution: accounts merged into another one
    (aliases) count as that one, with the names of its first account. Its
    order and payment columns are the project's named aggregations
    (macros/dataset_aggregations.sql), shared with the other datasets.
-#}
with customer_activity as (

    {{ activity_schema.dataset(
        stream=ref('customer_stream'),
        primary={
            'activity': 'created_account',
            'selector': 'first',
            'columns': ['customer', 'first_name', 'last_name'],
        },
        append=[
            'first_order_at',
            'most_recent_order_at',
            'number_of_orders',
            'customer_lifetime_value',
        ],
    ) | indent(4) }}

),

final as (

    -- The contract's types (_datasets__models.yml): a sum comes back wider
    -- than its column and is cast back to the column's numeric type.
    select
        cast(customer as {{ dbt.type_int() }}) as customer_id,
        first_name,
        last_name,
        cast(first_order_at as date) as first_order,
        cast(most_recent_order_at as date) as most_recent_order,
        number_of_orders,
        cast(customer_lifetime_value as {{ dbt.type_numeric() }})
            as customer_lifetime_value
    from customer_activity

)

select * from final
