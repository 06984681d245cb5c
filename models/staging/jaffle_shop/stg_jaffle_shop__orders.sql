with source as (

    select * from {{ source('jaffle_shop', 'raw_orders') }}

),

renamed as (

    -- A record the loader delivered twice arrives as two identical rows:
    -- `distinct` keeps one. Two different versions of one id remain and
    -- fail the unique test on the key.
    select distinct
        cast(id as {{ dbt.type_int() }}) as order_id,
        cast(user_id as {{ dbt.type_int() }}) as customer_id,
        cast(order_date as date) as order_date,
        cast(status as {{ dbt.type_string() }}) as order_status
    from source

)

select * from renamed
