-- In this project the seed raw_customers loads the source: the reference below
-- makes dbt build it first and links the two in the lineage graph.
-- depends_on: {{ ref('raw_customers') }}

with source as (

    select * from {{ source('jaffle_shop', 'raw_customers') }}

),

renamed as (

    -- A record the loader delivered twice in one load arrives as two
    -- identical rows: `distinct` keeps one. Deliveries at different load
    -- times differ in `_loaded_at` and both remain; the stream keeps the
    -- latest, and the key's one_version_per_key test names any key whose
    -- versions differ in their values.
    select distinct
        cast(id as {{ dbt.type_int() }}) as customer_id,
        cast(first_name as {{ dbt.type_string() }}) as first_name,
        cast(last_name as {{ dbt.type_string() }}) as last_name,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        {{ loaded_at_column(
            source('jaffle_shop', 'raw_customers')) }} as _loaded_at
    from source

)

select * from renamed
