{#-
    Databricks: liquid clustering (`cluster by` on a Delta table), which
    Databricks recommends for new tables over partitioning and Z-ORDER and
    which dbt-databricks sets with `liquid_clustered_by`. The Activity
    Schema's guidance (partition by activity and date, cluster by customer
    and occurrence) becomes one key of four columns, the most liquid
    clustering takes: `activity` (every dataset's filter), `ts` (the
    incremental run's lookback window; liquid clustering takes columns,
    not `date(ts)`, and needs no coarser grain), `customer` and
    `activity_occurrence`. Not `partition_by`: Delta cannot combine it with
    liquid clustering, and a partition per activity and day makes small
    files. dbt-databricks runs OPTIMIZE after each build, which clusters
    the new rows (config `skip_optimize` to turn it off).

    activity (an activity model built as a table): clustered by ts.
-#}
{% macro databricks__physical_design(kind) -%}
    {%- if kind == 'stream' -%}
        {{ return({'liquid_clustered_by': [
            'activity', 'ts', 'customer', 'activity_occurrence']}) }}
    {%- else -%}
        {{ return({'liquid_clustered_by': ['ts']}) }}
    {%- endif -%}
{%- endmacro %}

{% macro databricks__check_physical_design(kind, design) -%}
    {%- do activity_schema._check_physical_design_count(
        kind, design, 'liquid_clustered_by', 4) -%}
{%- endmacro %}
