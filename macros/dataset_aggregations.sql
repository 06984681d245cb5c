{#-
    The named aggregations of this project's datasets: each is declared
    once here, documented in models/datasets/_aggregations.md (docs block
    `aggregation__<name>`), and named in a dataset's `append` list by its
    name, so that a column means the same in every dataset that has it.
    `activity_schema.dataset_aggregations()` finds this macro through the
    `dispatch` entry of dbt_project.yml.
-#}
{% macro default__dataset_aggregations() -%}
    {{ return({
        'first_order_at': {
            'activity': 'placed_order',
            'relationship': 'first_ever',
            'columns': [{'column': 'ts', 'alias': 'first_order_at'}],
        },
        'most_recent_order_at': {
            'activity': 'placed_order',
            'relationship': 'last_ever',
            'columns': [{'column': 'ts', 'alias': 'most_recent_order_at'}],
        },
        'number_of_orders': {
            'activity': 'placed_order',
            'relationship': 'aggregate_all',
            'columns': [{'aggregate': 'count', 'alias': 'number_of_orders'}],
        },
        'customer_lifetime_value': {
            'activity': 'made_payment',
            'relationship': 'aggregate_all',
            'columns': [{
                'column': 'revenue_impact',
                'aggregate': 'sum',
                'default': 0,
                'alias': 'customer_lifetime_value',
            }],
        },
    }) }}
{%- endmacro %}
