with source as (

    select * from {{ source('jaffle_shop', 'raw_orders') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_int() }}) as order_id,
        cast(user_id as {{ dbt.type_int() }}) as customer_id,
        cast(order_date as date) as order_date,
        cast(status as {{ dbt.type_string() }}) as order_status
    from source

)

select * from renamed
