{#-
    Generic test: every key has one version. Rows that agree in every
    column except the `ignore`d ones (by default the load time `_loaded_at`)
    are one version delivered twice, which is fine; two rows of one key that
    differ elsewhere are two versions. Fails with one row per such key:
    the key and its number of versions.

    The stream itself keeps one version per key whatever this test says
    (the latest `_loaded_at`, then the latest `ts`, see the README); the
    test names the keys whose source delivered conflicting values.

    Example (YAML, on the key column):
        columns:
          - name: order_id
            data_tests:
              - activity_schema.one_version_per_key
-#}
{% test one_version_per_key(model, column_name, ignore=['_loaded_at']) %}

{%- set ignored = ignore | map('lower') | list -%}
{%- set columns = [] -%}
{%- if execute -%}
    {%- for column in adapter.get_columns_in_relation(model)
        if column.name | lower not in ignored -%}
        {%- do columns.append(adapter.quote(column.name)
            if column.name != column.name | lower else column.name) -%}
    {%- endfor -%}
{%- endif -%}

select
    {{ column_name }},
    count(*) as n_versions
from (
    select distinct {{ columns | join(', ') if columns else column_name }}
    from {{ model }}
) as versions
group by {{ column_name }}
having count(*) > 1

{% endtest %}
