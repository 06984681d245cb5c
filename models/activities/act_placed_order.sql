{% call activity_schema.activity(
    activity='placed_order',
    activity_id='order_id',
    ts='order_date',
    customer='customer_id',
    features={'order_id': 'integer', 'order_status': 'string'},
    loaded_at='_loaded_at',
) %}

with orders as (

    select * from {{ ref('stg_jaffle_shop__orders') }}

)

select * from orders

{% endcall %}
