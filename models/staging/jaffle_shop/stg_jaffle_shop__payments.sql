with source as (

    select * from {{ source('jaffle_shop', 'raw_payments') }}

),

renamed as (

    -- A record the loader delivered twice arrives as two identical rows:
    -- `distinct` keeps one. Two different versions of one id remain and
    -- fail the unique test on the key.
    select distinct
        cast(id as {{ dbt.type_int() }}) as payment_id,
        cast(order_id as {{ dbt.type_int() }}) as order_id,
        cast(payment_method as {{ dbt.type_string() }}) as payment_method,
        cast(amount as {{ dbt.type_int() }}) as amount_cents,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at
    from source

)

select * from renamed
