with source as (

    select * from {{ source('jaffle_shop', 'raw_customers') }}

),

renamed as (

    -- A record the loader delivered twice arrives as two identical rows:
    -- `distinct` keeps one. Two different versions of one id remain and
    -- fail the unique test on the key.
    select distinct
        cast(id as {{ dbt.type_int() }}) as customer_id,
        cast(first_name as {{ dbt.type_string() }}) as first_name,
        cast(last_name as {{ dbt.type_string() }}) as last_name,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at
    from source

)

select * from renamed
