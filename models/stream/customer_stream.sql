{%- set design = activity_schema.physical_design('stream') -%}
{%- set design_hooks = design.pop('pre_hook', []) -%}
{{ config(
    materialized='incremental',
    incremental_strategy='activity_stream',
    unique_key=['activity', 'activity_id'],
    event_time='ts',
    pre_hook=["{{ activity_schema.stream_pre_hook() }}"] + design_hooks,
    post_hook="{{ activity_schema.stream_post_hook(customer_identity()) }}",
    **design
) }}

{{ activity_schema.stream(customer_activities(), identity=customer_identity()) }}
