{{ config(**activity_schema.stream_config({
    'materialized': 'incremental',
    'incremental_strategy': 'activity_stream',
    'unique_key': ['activity', 'activity_id'],
    'event_time': 'ts',
    'pre_hook': ["{{ activity_schema.stream_pre_hook() }}"],
    'post_hook': [
        "{{ activity_schema.stream_post_hook(customer_identity()) }}",
    ],
})) }}

{{ activity_schema.stream(
    customer_activities(), identity=customer_identity()
) }}
