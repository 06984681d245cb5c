{#-
    loaded_at_column(relation) -> SQL of the load time of a raw table's
    rows: its `_loaded_at` column (added by the loader, or by the project's
    generator), or a null timestamp when the table has none (the public
    jaffle shop tables, for example). An activity over such a table works
    as one without a load column: its window alone decides what an
    incremental run re-reads.
-#}
{% macro loaded_at_column(relation) -%}
    {%- if execute -%}
        {%- set names = adapter.get_columns_in_relation(relation)
            | map(attribute='name') | map('lower') | list -%}
        {%- if '_loaded_at' in names -%}
            {{ return('cast(_loaded_at as ' ~ dbt.type_timestamp() ~ ')') }}
        {%- endif -%}
    {%- endif -%}
    {{ return('cast(null as ' ~ dbt.type_timestamp() ~ ')') }}
{%- endmacro %}
