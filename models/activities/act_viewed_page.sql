{#-
    Every page view carries the visitor's anonymous id (`web_<visitor_id>`);
    once the visitor has logged in it carries the customer too.
-#}
{% call activity_schema.activity(
    activity='viewed_page',
    activity_id='event_id',
    ts='occurred_at',
    customer='customer_id',
    anonymous_customer_id='visitor_id',
    anonymous_source='web',
    features={'page_path': 'string', 'visitor_id': 'string'},
    loaded_at='_loaded_at',
) %}

with events as (

    select * from {{ ref('stg_web__events') }}

)

select * from events

{% endcall %}
