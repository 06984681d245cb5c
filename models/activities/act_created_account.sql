{% call activity_schema.activity(
    activity='created_account',
    activity_id='customer_id',
    ts='created_at',
    customer='customer_id',
    features={'first_name': 'string', 'last_name': 'string'},
    loaded_at='_loaded_at',
) %}

with customers as (

    select * from {{ ref('stg_jaffle_shop__customers') }}

)

select * from customers

{% endcall %}
