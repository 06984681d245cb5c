{#-
    A payment belongs to the customer of its order. A payment whose order is
    unknown keeps a null customer, so the stream rejects it and
    `stream_rejections` names it.
-#}
{% call activity_schema.activity(
    activity='made_payment',
    activity_id='payment_id',
    ts='created_at',
    customer='customer_id',
    features={
        'payment_id': 'integer',
        'order_id': 'integer',
        'payment_method': 'string',
        'amount': 'numeric',
    },
    revenue_impact='amount',
    loaded_at='_loaded_at',
) %}

with payments as (

    select * from {{ ref('stg_jaffle_shop__payments') }}

),

orders as (

    select * from {{ ref('stg_jaffle_shop__orders') }}

),

payments_with_customer as (

    select
        payments.payment_id,
        payments.order_id,
        payments.payment_method,
        payments.created_at,
        orders.customer_id,
        payments.amount_cents / 100.0 as amount,
        -- The row changes when either source row does: a restated order
        -- moves its payments to another customer.
        greatest(payments._loaded_at, orders._loaded_at) as _loaded_at
    from payments
    left join orders
        on payments.order_id = orders.order_id

)

select * from payments_with_customer

{% endcall %}
