{#-
    One row per placed order (every order, whatever its status): where the
    order sits in the customer's history, the visits around it and the
    payments between it and the customer's next order. Page views count when
    they carry the customer (logged in); anonymous views belong to the
    visitor's own entity.
-#}
with order_activity as (

    {{ activity_schema.dataset(
        stream=ref('customer_stream'),
        primary={
            'activity': 'placed_order',
            'selector': 'all',
            'columns': [
                'activity_id',
                'customer',
                {'column': 'ts', 'alias': 'ordered_at'},
                {'column': 'activity_occurrence', 'alias': 'order_occurrence'},
            ],
        },
        append=[
            {
                'activity': 'placed_order',
                'relationship': 'first_ever',
                'columns': [{'column': 'ts', 'alias': 'first_order_ever_at'}],
            },
            {
                'activity': 'placed_order',
                'relationship': 'aggregate_before',
                'columns': [{'aggregate': 'count', 'alias': 'orders_before'}],
            },
            {
                'activity': 'viewed_page',
                'relationship': 'last_before',
                'columns': [{'column': 'ts', 'alias': 'last_visit_before_at'}],
            },
            {
                'activity': 'viewed_page',
                'relationship': 'first_after',
                'columns': [{'column': 'ts', 'alias': 'first_visit_after_at'}],
            },
            {
                'activity': 'made_payment',
                'relationship': 'first_in_between',
                'columns': [{'column': 'ts', 'alias': 'first_payment_at'}],
            },
            {
                'activity': 'made_payment',
                'relationship': 'aggregate_in_between',
                'columns': [
                    {'aggregate': 'count', 'alias': 'payments_in_between'},
                    {
                        'column': 'revenue_impact',
                        'aggregate': 'sum',
                        'default': 0,
                        'alias': 'amount_paid_in_between',
                    },
                ],
            },
            {
                'activity': 'made_payment',
                'relationship': 'last_before',
                'columns': [{'column': 'ts', 'alias': 'last_payment_before_at'}],
            },
            {
                'activity': 'placed_order',
                'relationship': 'last_after',
                'columns': [{'column': 'ts', 'alias': 'last_order_after_at'}],
            },
        ],
    ) | indent(4) }}

),

final as (

    -- The contract's types (_datasets__models.yml): a sum comes back wider
    -- than its column and is cast back to the column's numeric type.
    select
        activity_id,
        customer,
        ordered_at,
        order_occurrence,
        first_order_ever_at,
        orders_before,
        last_visit_before_at,
        first_visit_after_at,
        first_payment_at,
        payments_in_between,
        cast(amount_paid_in_between as {{ dbt.type_numeric() }})
            as amount_paid_in_between,
        last_payment_before_at,
        last_order_after_at
    from order_activity

)

select * from final
