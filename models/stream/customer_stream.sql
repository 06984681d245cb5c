{{ config(
    materialized='incremental',
    incremental_strategy='activity_stream',
    unique_key=['activity', 'activity_id'],
    event_time='ts',
    **activity_schema.physical_design('stream')
) }}

{{ activity_schema.stream(customer_activities()) }}
