{% call activity_schema.activity(
    activity='signed_up',
    activity_id='id',
    ts='signed_up_at',
    customer='id',
    features={'name': 'string', 'plan': 'string'},
    loaded_at='_loaded_at',
) %}

select * from {{ ref('raw_signups') }}

{% endcall %}
