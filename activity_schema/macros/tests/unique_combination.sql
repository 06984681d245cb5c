{#-
    Generic test: the combination of `columns` is unique. Fails with one row
    per duplicated combination and the number of rows that share it.

    Example (YAML):
        data_tests:
          - activity_schema.unique_combination:
              arguments:
                columns: [activity, activity_id]
-#}
{% test unique_combination(model, columns) %}

select
    {{ columns | join(', ') }},
    count(*) as n_records
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1

{% endtest %}
