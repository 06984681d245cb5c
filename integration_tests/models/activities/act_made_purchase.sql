{#-
    With `--vars '{batch: 2}'` the second load is read too: the seeds stand
    in for a raw table that a loader appends to. The file (and so the
    activity's fingerprint) is the same in both runs.
-#}
{% call activity_schema.activity(
    activity='made_purchase',
    activity_id='purchase_id',
    ts='purchased_at',
    customer='customer_id',
    features={'purchase_id': 'integer', 'amount': 'numeric'},
    revenue_impact='amount',
    loaded_at='_loaded_at',
) %}

with purchases as (

    select * from {{ ref('raw_purchases') }}
    {%- if var('batch') | int >= 2 %}
    union all
    select * from {{ ref('raw_purchases_batch_2') }}
    {%- endif %}

)

select
    id as purchase_id,
    customer_id,
    amount,
    purchased_at,
    _loaded_at
from purchases

{% endcall %}
