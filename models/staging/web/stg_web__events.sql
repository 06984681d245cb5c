-- In this project the seed raw_web_events loads the source: the reference below
-- makes dbt build it first and links the two in the lineage graph.
-- depends_on: {{ ref('raw_web_events') }}

with source as (

    select * from {{ source('web', 'raw_web_events') }}

),

renamed as (

    -- A record the loader delivered twice in one load arrives as two
    -- identical rows: `distinct` keeps one. Deliveries at different load
    -- times differ in `_loaded_at` and both remain; the stream keeps the
    -- latest, and the key's one_version_per_key test names any key whose
    -- versions differ in their values.
    select distinct
        cast(id as {{ dbt.type_int() }}) as event_id,
        cast(visitor_id as {{ dbt.type_string() }}) as visitor_id,
        cast(customer_id as {{ dbt.type_int() }}) as customer_id,
        cast(page as {{ dbt.type_string() }}) as page_path,
        cast(occurred_at as {{ dbt.type_timestamp() }}) as occurred_at,
        {{ loaded_at_column(
            source('web', 'raw_web_events')) }} as _loaded_at
    from source

)

select * from renamed
