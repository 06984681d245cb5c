{#-
    occurrence_columns() -> the select-list SQL of `activity_occurrence` and
    `activity_repeated_at`, as the semantics define them:

        partition by activity, coalesce(customer, anonymous_customer_id)
        order by ts, activity_id

    `activity_occurrence` is the 1-based rank of the row in its partition,
    `activity_repeated_at` the `ts` of the partition's next row (null on the
    last). `activity_id` breaks ties between equal timestamps.

    Example: select *, {{ activity_schema.occurrence_columns() }} from rows
-#}
{% macro occurrence_columns() -%}
    {%- set window -%}
        partition by activity, coalesce(customer, anonymous_customer_id)
        order by ts, activity_id
    {%- endset -%}
    row_number() over ({{ window }}) as activity_occurrence,
    lead(ts) over ({{ window }}) as activity_repeated_at
{%- endmacro %}
