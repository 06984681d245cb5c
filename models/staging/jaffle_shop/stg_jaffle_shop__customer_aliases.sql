-- In this project the seed raw_customer_aliases loads the source: the reference
-- below makes dbt build it first and links the two in the lineage graph.
-- depends_on: {{ ref('raw_customer_aliases') }}

with source as (

    select * from {{ source('jaffle_shop', 'raw_customer_aliases') }}

),

renamed as (

    -- A merge delivered twice in one load arrives as two identical rows:
    -- `distinct` keeps one.
    select distinct
        cast(customer_id as {{ dbt.type_int() }}) as customer_id,
        cast(
            canonical_customer_id as {{ dbt.type_int() }}
        ) as canonical_customer_id,
        cast(merged_at as {{ dbt.type_timestamp() }}) as merged_at,
        {{ loaded_at_column(
            source('jaffle_shop', 'raw_customer_aliases')) }} as _loaded_at
    from source

)

select * from renamed
