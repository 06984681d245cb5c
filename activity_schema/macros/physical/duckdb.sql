{#-
    DuckDB: no configs. A DuckDB table has no clustering or sort key and
    no use for secondary indexes here: rows stay in insertion order, and
    each row group (122,880 rows) keeps min/max zone maps that skip groups
    for filters such as `ts >= <literal>` as far as that order allows. An
    ART index (dbt-duckdb's `indexes`) serves constraints and point or
    very selective (< 0.1 %) lookups, not the lookback window (a few % of
    the rows) nor windows over whole partitions, and it must fit in memory
    and slows every insert. dbt-duckdb 1.11's
    `sorted_by`/`partitioned_by` apply to DuckLake tables only and are
    ignored, with a warning, on a DuckDB file. On DuckLake, set them with
    the variable (see physical_design):
        {duckdb: {stream: {sorted_by: ['activity', 'ts']}}}
-#}
{% macro duckdb__physical_design(kind) -%}
    {{ return({}) }}
{%- endmacro %}
