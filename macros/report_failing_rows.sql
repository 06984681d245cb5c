{#-
    report_failing_rows(results, limit=20) -> '' (an on-run-end hook).

    After a run, prints the first `limit` rows returned by every test that
    failed or warned, so that a failure says which rows broke the rule
    (dbt itself only prints how many). Set the variable
    `report_failing_rows_limit` to change the limit, 0 to turn it off.

    Example (dbt_project.yml):
        on-run-end: ["{{ report_failing_rows(results) }}"]
-#}
{% macro report_failing_rows(results) -%}
    {%- set limit = var('report_failing_rows_limit', 20) | int -%}
    {%- if execute and limit > 0 -%}
        {%- for result in results
            if result.node.resource_type == 'test'
            and result.status in ['fail', 'warn']
            and result.node.compiled_code -%}
            {%- set query -%}
                select * from ({{ result.node.compiled_code }}) as failing_rows
                limit {{ limit }}
            {%- endset -%}
            {%- set rows = run_query(query) -%}
            {%- do log(
                'Failing rows of ' ~ result.node.name ~ ' ('
                ~ result.failures ~ ' in all, first ' ~ rows | length ~ '):',
                info=true) -%}
            {%- for row in rows -%}
                {%- set cells = [] -%}
                {%- for column in rows.column_names -%}
                    {%- do cells.append(column ~ '=' ~ row[column]) -%}
                {%- endfor -%}
                {%- do log('    ' ~ cells | join(', '), info=true) -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
