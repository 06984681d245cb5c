{#-
    One row per customer and calendar month, from the month of the
    customer's first order to the month of the stream's latest activity: a
    time-spine dataset. Each row has the month's orders and payments
    (`start <= ts < end`) and the state as of the month's end (`ts < end`):
    orders and lifetime value to date, and the latest order so far with its
    status. Months without activity are rows too, with counts of 0.
-#}
with monthly_activity as (

    {{ activity_schema.dataset(
        stream=ref('customer_stream'),
        primary={
            'activity': 'placed_order',
            'time_spine': 'month',
            'columns': [
                'customer',
                {'column': 'period_start', 'alias': 'month_start_at'},
                {'column': 'period_end', 'alias': 'month_end_at'},
            ],
        },
        append=[
            {
                'activity': 'placed_order',
                'relationship': 'aggregate_in_between',
                'columns': [{'aggregate': 'count', 'alias': 'orders_in_month'}],
            },
            {
                'activity': 'made_payment',
                'relationship': 'aggregate_in_between',
                'columns': [{
                    'column': 'revenue_impact',
                    'aggregate': 'sum',
                    'default': 0,
                    'alias': 'revenue_in_month',
                }],
            },
            {
                'activity': 'placed_order',
                'relationship': 'aggregate_before',
                'columns': [{'aggregate': 'count', 'alias': 'orders_to_date'}],
            },
            {
                'activity': 'made_payment',
                'relationship': 'aggregate_before',
                'columns': [{
                    'column': 'revenue_impact',
                    'aggregate': 'sum',
                    'default': 0,
                    'alias': 'lifetime_value_to_date',
                }],
            },
            {
                'activity': 'placed_order',
                'relationship': 'last_before',
                'columns': [
                    {'column': 'ts', 'alias': 'last_order_at'},
                    {'column': 'order_status', 'alias': 'last_order_status'},
                ],
            },
        ],
    ) | indent(4) }}

),

final as (

    -- The contract's types (_datasets__models.yml): a sum comes back wider
    -- than its column and is cast back to the column's numeric type.
    select
        customer,
        month_start_at,
        month_end_at,
        orders_in_month,
        cast(revenue_in_month as {{ dbt.type_numeric() }}) as revenue_in_month,
        orders_to_date,
        cast(lifetime_value_to_date as {{ dbt.type_numeric() }})
            as lifetime_value_to_date,
        last_order_at,
        last_order_status
    from monthly_activity

)

select * from final
