{#-
    Redshift: rows spread evenly over the slices (`diststyle even`), and a
    compound sort key (activity, ts, activity_occurrence), the Activity
    Schema's implementation guidance. The sort key's zone maps skip blocks
    for a dataset's `activity in (…)` filter, for the incremental run's
    `ts >= <literal>` within each activity (a stream has few activities),
    and for `activity_occurrence = 1` within an activity and day.

    Not `dist` on `customer`: anonymous rows (page views before a login)
    have no customer and would all land on one slice, and the windows of
    the stream and of every dataset partition by
    `coalesce(customer, anonymous_customer_id)`, an expression that no
    distribution key can match, so they redistribute either way.

    activity (an activity model built as a table): even, sorted by ts for
    the stream's lookback window.
-#}
{% macro redshift__physical_design(kind) -%}
    {%- if kind == 'stream' -%}
        {{ return({
            'dist': 'even',
            'sort': ['activity', 'ts', 'activity_occurrence'],
            'sort_type': 'compound',
        }) }}
    {%- else -%}
        {{ return({'dist': 'even', 'sort': ['ts'], 'sort_type': 'compound'}) }}
    {%- endif -%}
{%- endmacro %}
