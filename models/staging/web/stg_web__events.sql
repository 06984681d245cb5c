with source as (

    select * from {{ source('web', 'raw_web_events') }}

),

renamed as (

    -- A record the loader delivered twice arrives as two identical rows:
    -- `distinct` keeps one. Two different versions of one id remain and
    -- fail the unique test on the key.
    select distinct
        cast(id as {{ dbt.type_int() }}) as event_id,
        cast(visitor_id as {{ dbt.type_string() }}) as visitor_id,
        cast(customer_id as {{ dbt.type_int() }}) as customer_id,
        cast(page as {{ dbt.type_string() }}) as page_path,
        cast(occurred_at as {{ dbt.type_timestamp() }}) as occurred_at
    from source

)

select * from renamed
