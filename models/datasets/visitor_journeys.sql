{#-
    One row per customer: the way from a first visit to the shop, often
    anonymous on some device, to signing up and to a first order. The
    stream attributes a device's anonymous page views to the customer who
    later logs in on it (identity resolution), so the first visit is the
    first page view of any of the customer's devices, before or after the
    sign-up.
-#}
with journey as (

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
                'columns': [
                    {'column': 'ts', 'alias': 'first_visit_at'},
                    {
                        'column': 'anonymous_customer_id',
                        'alias': 'first_visit_device',
                    },
                ],
            },
            {
                'activity': 'viewed_page',
                'relationship': 'aggregate_before',
                'columns': [
                    {'aggregate': 'count', 'alias': 'visits_before_sign_up'},
                ],
            },
            {
                'activity': 'viewed_page',
                'relationship': 'aggregate_all',
                'columns': [{
                    'column': 'anonymous_customer_id',
                    'aggregate': 'count_distinct',
                    'alias': 'devices',
                }],
            },
            'first_order_at',
        ],
    ) | indent(4) }}

),

final as (

    -- The contract's types (_datasets__models.yml): a distinct count is a
    -- sum of ones, hugeint on DuckDB, and is cast back to bigint; the hours
    -- are a fraction (seconds / 3600), double on DuckDB and numeric on
    -- Postgres, and are cast to the project's numeric type, numeric(28,6).
    select
        cast(customer as {{ dbt.type_int() }}) as customer_id,
        first_visit_at,
        first_visit_device,
        signed_up_at,
        first_order_at,
        visits_before_sign_up,
        cast(devices as {{ dbt.type_bigint() }}) as devices,
        first_visit_at < signed_up_at as has_visited_before_sign_up,
        cast(
            {{ dbt.datediff('first_visit_at', 'signed_up_at', 'second') }}
            / 3600.0 as {{ dbt.type_numeric() }}
        ) as hours_from_first_visit_to_sign_up,
        cast(
            {{ dbt.datediff('signed_up_at', 'first_order_at', 'second') }}
            / 3600.0 as {{ dbt.type_numeric() }}
        ) as hours_from_sign_up_to_first_order
    from journey

)

select * from final
