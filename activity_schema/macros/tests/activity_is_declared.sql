{#-
    Generic test on a stream's `activity` column: every value names an
    activity that a model of the project declares with
    `activity_schema.activity` (`declared_activities()`), so the list of
    allowed values follows the activity models instead of being written
    out. Fails with one row per unknown value: the value and its row count.

    Example (YAML, on the column):
        columns:
          - name: activity
            data_tests:
              - activity_schema.activity_is_declared
-#}
{% test activity_is_declared(model, column_name) %}

{#- dbt's graph is there only once the test executes, not at parse. -#}
{%- set declared = activity_schema.declared_activities() if execute else [] -%}

select
    {{ column_name }} as activity,
    count(*) as n_rows
from {{ model }}
where
    {{ column_name }} is not null
    {%- if declared %}
    and {{ column_name }} not in (
        {%- for name in declared %}
        '{{ name }}'{{ ',' if not loop.last }}
        {%- endfor %}
    )
    {%- endif %}
group by {{ column_name }}

{% endtest %}
