with source as (

    select * from {{ source('jaffle_shop', 'raw_customers') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_int() }}) as customer_id,
        cast(first_name as {{ dbt.type_string() }}) as first_name,
        cast(last_name as {{ dbt.type_string() }}) as last_name,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at
    from source

)

select * from renamed
