{#-
    dataset(stream, primary, append=[]) -> the select of a dataset: one row
    per selected row of the primary activity, with columns of activities
    appended by time relationships. The README's `dataset` section has a
    guided example.

    stream: the stream relation, e.g. ref('customer_stream').
    primary: {
        'activity': name,
        'selector': 'all' | 'first' | 'last' | 'nth' (default 'all'),
        'nth': n (with selector 'nth'),
        'columns': [column, ...],   -- stream columns or features
        'filters': [filter, ...],   -- optional, applied before the selector
    }
    append: a list of {
        'activity': name,
        'relationship': first_ever | last_ever | first_before | last_before
            | first_after | last_after | first_in_between | last_in_between
            | nth_ever | nth_before | nth_after | nth_in_between
            | aggregate_before | aggregate_after | aggregate_in_between
            | aggregate_all,
        'nth': n (required with nth_*: the n-th row of the window, counted
            from its start; nth 1 is first),
        'columns': [column, ...],
        'filters': [filter, ...],   -- optional
        'join': [{'column': c, 'primary_column': pc}, ...],  -- optional:
            only appended rows whose column c equals the primary row's
            pc (one type, typed values; null equals nothing)
        'within': {'days' | 'hours' | 'minutes': d},  -- optional, before
            and after relationships: [t - d, t) before, (t, t + d] after
    }
    Filters and join conditions narrow the appended rows before the
    relationship's window is taken, for picks and aggregates alike.
    A column is a name (a stream column such as ts, activity_id,
    revenue_impact, or a feature the activity declares, cast to its
    declared type), or {'column', 'alias', 'aggregate', 'default',
    'delimiter'}. Aggregates are count, count_distinct, sum, avg, min, max,
    over the non-null values as in SQL (a count may leave out 'column' to
    count rows; sum and avg need a numeric column; min and max of a boolean
    are false < true); first_value and last_value (the earliest and latest
    non-null value, by ts then activity_id); listagg (the non-null values
    as text, by ts then activity_id, joined by 'delimiter', default ', ')
    and listagg_distinct (each non-null value once, sorted by value, then
    as text and joined); count_if (rows whose boolean is true) and
    sum_bool (true as 1, false as 0, over the non-null values); is_null
    (no value in the window is non-null: true over no rows) and not_null
    (some value is non-null: false over no rows). A filter is {'column', 'operator', 'value'} with operator
    =, !=, <, <=, >, >=, in, not in, is null, is not null; all of an
    activity's filters must hold.

    Semantics (docs/activity-schema.md): earliest and latest order
    by (ts, activity_id); before and after are strict. The primary filters
    apply first: the selector ranks the rows that pass them, and in between
    is (ts, n] of the primary row, where n is the ts of the entity's next row
    of the primary activity that passes the primary filters (its
    activity_repeated_at when there are none), open-ended on its last.
    A count (count, count_distinct, count_if) over no rows is 0. Any other
    output over no rows (no row picked, no row aggregated) is null, or its
    'default' when one is given, except is_null and not_null, which are
    never null; a default never replaces a null computed from rows (such
    as the sum of null values). Counts, is_null and not_null take no
    default.

    Output names: primary columns keep their names; appended ones
    are '<relationship>_<activity>_<column>' for picks and
    '<relationship>_<activity>_<aggregate>[_<column>]' for aggregates,
    unless an alias is given; an nth relationship is followed by its n
    ('nth_after_2_placed_order_ts'). Names must be unique (case
    insensitive).

    Wrong arguments (an unknown activity, feature, relationship, aggregate,
    selector or key, an aggregate on a pick relationship, a duplicate output
    name...) fail when dbt compiles the model, with a message naming the
    model, the argument and the allowed values.

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
    {%- if not execute -%}
        {#- While dbt parses, its graph is empty: features and their types
            are unknown, so the spec is checked again and the SQL written
            when dbt compiles the model. -#}
        {{ return('select 1 as _dataset_not_compiled') }}
    {%- endif -%}
    {{ activity_schema._dataset_sql(spec) }}
{%- endmacro %}
