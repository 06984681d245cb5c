{{ config(
    materialized='incremental',
    incremental_strategy='activity_stream',
    unique_key=['activity', 'activity_id'],
    event_time='ts',
) }}

{#- `make test-integration` checks that its second run logs this line. -#}
{%- if execute and is_incremental() %}
    {%- do log('customer_stream: incremental run', info=true) %}
{%- endif %}

{{ activity_schema.stream([
    ref('act_signed_up'),
    ref('act_made_purchase'),
]) }}
