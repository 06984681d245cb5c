{#-
    One row per customer (a person after identity resolution: merged
    accounts count once, from the first account's sign-up): how far the
    customer went down the shop's funnel (visit, cart, checkout, order,
    payment), when each step first happened, and what the customer has
    brought in since. Page views count when the stream resolves them to the
    customer: those of a device after it logged in as the customer, and
    those it browsed anonymously before its first login. Orders carry their
    date's midnight, so on the day of a first order the order can come
    before that day's checkout view.
-#}
with customer_activity as (

    {{ activity_schema.dataset(
        stream=ref('customer_stream'),
        primary={
            'activity': 'created_account',
            'selector': 'first',
            'columns': [
                'customer',
                {'column': 'ts', 'alias': 'signed_up_at'},
            ],
        },
        append=[
            {
                'activity': 'viewed_page',
                'relationship': 'first_ever',
                'columns': [{'column': 'ts', 'alias': 'first_visit_at'}],
            },
            {
                'activity': 'viewed_page',
                'relationship': 'first_ever',
                'filters': [
                    {'column': 'page_path', 'operator': '=', 'value': '/cart'},
                ],
                'columns': [{'column': 'ts', 'alias': 'first_cart_view_at'}],
            },
            {
                'activity': 'viewed_page',
                'relationship': 'first_ever',
                'filters': [
                    {
                        'column': 'page_path',
                        'operator': '=',
                        'value': '/checkout',
                    },
                ],
                'columns': [
                    {'column': 'ts', 'alias': 'first_checkout_view_at'},
                ],
            },
            {
                'activity': 'viewed_page',
                'relationship': 'aggregate_all',
                'filters': [
                    {
                        'column': 'page_path',
                        'operator': '=',
                        'value': '/checkout',
                    },
                ],
                'columns': [
                    {'aggregate': 'count', 'alias': 'checkout_views'},
                ],
            },
            'first_order_at',
            {
                'activity': 'placed_order',
                'relationship': 'first_ever',
                'columns': [
                    {'column': 'order_status', 'alias': 'first_order_status'},
                ],
            },
            {
                'activity': 'placed_order',
                'relationship': 'aggregate_all',
                'columns': [{'aggregate': 'count', 'alias': 'orders'}],
            },
            {
                'activity': 'made_payment',
                'relationship': 'first_ever',
                'columns': [{'column': 'ts', 'alias': 'first_payment_at'}],
            },
            {
                'activity': 'made_payment',
                'relationship': 'aggregate_all',
                'columns': [{
                    'column': 'revenue_impact',
                    'aggregate': 'sum',
                    'default': 0,
                    'alias': 'total_paid',
                }],
            },
        ],
    ) | indent(4) }}

),

final as (

    -- The contract's types (_datasets__models.yml): a sum comes back wider
    -- than its column and is cast back to the column's numeric type; the
    -- day difference is bigint on DuckDB, integer elsewhere: integer.
    select
        cast(customer as {{ dbt.type_int() }}) as customer_id,
        signed_up_at,
        first_visit_at,
        first_cart_view_at,
        first_checkout_view_at,
        first_order_at,
        first_order_status,
        first_payment_at,
        checkout_views,
        orders,
        cast(total_paid as {{ dbt.type_numeric() }}) as total_paid,
        first_cart_view_at is not null as has_viewed_cart,
        first_checkout_view_at is not null as has_viewed_checkout,
        first_order_at is not null as has_ordered,
        first_payment_at is not null as has_paid,
        cast(
            case
                when first_order_at is not null
                    then {{ dbt.datediff(
                        'signed_up_at', 'first_order_at', 'day'
                    ) }}
            end as {{ dbt.type_int() }}
        ) as days_to_first_order
    from customer_activity

)

select * from final
