{#-
    rejections(activities) -> one row for every source row that the stream
    does not accept, with the activity, the source key and the reason:
    the activity's own `_rejection_reason` (no key, no ts, a ts that is not
    a timestamp, no entity), or a `ts` beyond the run's clock plus
    `stream_future_tolerance_hours` (`ts is in the future`: such a row
    moves no cursor and enters the stream in the first run after its time
    has come).

    activities: the same list of activity relations as `stream`.

    Example: {{ activity_schema.rejections([ref('act_placed_order')]) }}
-#}
{% macro rejections(activities) -%}
    {%- set plan = activity_schema.stream_plan(activities, false) -%}
    {%- set horizon = activity_schema._timestamp_literal(plan.horizon) -%}
    {%- for activity in plan.activities %}
select
    activity,
    _source_key as source_key,
    activity_id,
    ts,
    customer,
    anonymous_customer_id,
    case
        when _rejection_reason is not null then _rejection_reason
        else {{ dbt.concat([
            "'ts is in the future: after '",
            "'" ~ plan.horizon.strftime('%Y-%m-%d %H:%M:%S') ~ "'",
            "' (the run clock plus stream_future_tolerance_hours)'"]) }}
    end as rejection_reason
from {{ activity.relation }}
where _rejection_reason is not null or ts > {{ horizon }}
{{ 'union all' if not loop.last }}
    {%- endfor %}
{%- endmacro %}
