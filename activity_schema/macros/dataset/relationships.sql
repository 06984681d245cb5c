{#-
    dataset_relationships() -> {relationship: {'kind': 'pick' | 'aggregate',
    'window': 'ever' | 'before' | 'after' | 'in_between', 'pick': 'first' |
    'last' | 'nth' (picks only)}} for every relationship an appended
    activity can have; an nth pick takes the n-th row of its window,
    counted from the window's start, with n given as the appended
    activity's 'nth'.
    dataset_aggregates() -> the aggregate functions an aggregate
    relationship accepts.
    dataset_filter_operators() -> the operators a filter accepts.
-#}
{% macro dataset_relationships() -%}
    {{ return({
        'first_ever': {'kind': 'pick', 'window': 'ever', 'pick': 'first'},
        'last_ever': {'kind': 'pick', 'window': 'ever', 'pick': 'last'},
        'first_before': {'kind': 'pick', 'window': 'before', 'pick': 'first'},
        'last_before': {'kind': 'pick', 'window': 'before', 'pick': 'last'},
        'first_after': {'kind': 'pick', 'window': 'after', 'pick': 'first'},
        'last_after': {'kind': 'pick', 'window': 'after', 'pick': 'last'},
        'first_in_between': {
            'kind': 'pick', 'window': 'in_between', 'pick': 'first'},
        'last_in_between': {
            'kind': 'pick', 'window': 'in_between', 'pick': 'last'},
        'nth_ever': {'kind': 'pick', 'window': 'ever', 'pick': 'nth'},
        'nth_before': {'kind': 'pick', 'window': 'before', 'pick': 'nth'},
        'nth_after': {'kind': 'pick', 'window': 'after', 'pick': 'nth'},
        'nth_in_between': {
            'kind': 'pick', 'window': 'in_between', 'pick': 'nth'},
        'aggregate_before': {'kind': 'aggregate', 'window': 'before'},
        'aggregate_after': {'kind': 'aggregate', 'window': 'after'},
        'aggregate_in_between': {'kind': 'aggregate', 'window': 'in_between'},
        'aggregate_all': {'kind': 'aggregate', 'window': 'ever'},
    }) }}
{%- endmacro %}

{% macro dataset_aggregates() -%}
    {{ return([
        'count', 'count_distinct', 'sum', 'avg', 'min', 'max', 'first_value',
        'last_value', 'listagg', 'listagg_distinct', 'count_if', 'sum_bool',
        'is_null', 'not_null',
    ]) }}
{%- endmacro %}

{% macro dataset_filter_operators() -%}
    {{ return([
        '=', '!=', '<', '<=', '>', '>=', 'in', 'not in', 'is null',
        'is not null',
    ]) }}
{%- endmacro %}

{% macro dataset_selectors() -%}
    {{ return(['all', 'first', 'last', 'nth']) }}
{%- endmacro %}

{#- The stream's own columns and their feature-like types. -#}
{% macro stream_column_types() -%}
    {{ return({
        'activity_id': 'string',
        'ts': 'timestamp',
        'customer': 'string',
        'anonymous_customer_id': 'string',
        'activity': 'string',
        'revenue_impact': 'numeric',
        'link': 'string',
        'activity_occurrence': 'integer',
        'activity_repeated_at': 'timestamp',
    }) }}
{%- endmacro %}

{#-
    dataset_periods() -> the periods of a time-spine primary.
    dataset_spine_columns() -> the primary columns of a time spine.
-#}
{% macro dataset_periods() -%}
    {{ return(['day', 'week', 'month', 'quarter', 'year']) }}
{%- endmacro %}

{% macro dataset_spine_columns() -%}
    {{ return(['customer', 'period_start', 'period_end']) }}
{%- endmacro %}
