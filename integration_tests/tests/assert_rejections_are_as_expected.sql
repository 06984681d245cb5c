{#- Purchase 107 has no customer: the only row the stream turns away. -#}
with expected as (

    select
        'made_purchase' as activity,
        '107' as source_key,
        'missing customer and anonymous_customer_id' as rejection_reason

),

actual as (

    select activity, source_key, rejection_reason
    from {{ ref('stream_rejections') }}

)

select 'missing' as problem, *
from (select * from expected except all select * from actual) as missing
union all
select 'unexpected' as problem, *
from (select * from actual except all select * from expected) as unexpected
