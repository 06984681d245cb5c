{#-
    dataset(stream, primary, append=[]) -> the select of a dataset: one row
    per selected row of the primary activity, with columns of activities
    appended by time relationships. See the README for the full reference.

    stream: the stream relation, e.g. ref('customer_stream').
    primary: {
        'activity': name,
        'selector': 'all' | 'first' | 'last' | 'nth' (default 'all'),
        'nth': n (with selector 'nth'),
        'columns': [column, ...],   -- stream columns or features
        'filters': [filter, ...],   -- optional
    }
    append: a list of {
        'activity': name,
        'relationship': first_ever | last_ever | first_before | last_before
            | first_after | last_after | first_in_between | last_in_between
            | aggregate_before | aggregate_after | aggregate_in_between
            | aggregate_all,
        'columns': [column, ...],
        'filters': [filter, ...],   -- optional
    }
    A column is a name, or {'column', 'alias', 'aggregate', 'default'};
    aggregates are count, count_distinct, sum, avg, min, max (a count may
    leave out 'column' to count rows). A filter is {'column', 'operator',
    'value'}. Output names: primary columns keep their names; appended ones
    are '<relationship>_<activity>_<column>' for picks and
    '<relationship>_<activity>_<aggregate>[_<column>]' for aggregates,
    unless an alias is given.

    Example:
        {{ activity_schema.dataset(
            stream=ref('customer_stream'),
            primary={'activity': 'created_account',
                     'columns': ['customer', 'ts']},
            append=[{'activity': 'placed_order',
                     'relationship': 'first_ever',
                     'columns': [{'column': 'ts', 'alias': 'first_order_at'}]}],
        ) }}
-#}
{% macro dataset(stream, primary, append=[]) -%}
    {%- set spec = activity_schema._dataset_spec(stream, primary, append) -%}
    {{ activity_schema._dataset_sql(spec) }}
{%- endmacro %}
