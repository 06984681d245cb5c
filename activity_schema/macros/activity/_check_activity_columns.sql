{#-
    Fails at compile time when a column named in the activity's arguments is
    not a column of its query, and returns {column name (lowercase): data
    type} of the query's columns. Needs the warehouse, so it runs only when
    dbt executes and may introspect (not at parse, not under
    --no-introspect); otherwise it returns none.
-#}
{% macro _check_activity_columns(source_sql, spec) -%}
    {%- if not execute or not flags.INTROSPECT
        or not var('activity_schema_check_columns', true) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set types = {} -%}
    {#- dbt's macro wraps the query so that it returns no row: the adapter
        method alone would run the whole query (every row of the source). -#}
    {%- for column in get_column_schema_from_query(source_sql) -%}
        {%- do types.update({column.name | lower: column.dtype | lower}) -%}
    {%- endfor -%}
    {%- set available = types.keys() | list -%}
    {%- set wanted = [] -%}
    {%- for column in spec.key_columns -%}
        {%- do wanted.append(('activity_id', column)) -%}
    {%- endfor -%}
    {%- for argument in [
        'ts', 'customer', 'anonymous_customer_id', 'revenue_impact', 'link',
        'loaded_at',
    ] -%}
        {%- if spec[argument] is not none -%}
            {%- do wanted.append((argument, spec[argument])) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for feature in spec.features -%}
        {%- do wanted.append(('features', feature)) -%}
    {%- endfor -%}
    {%- for argument, column in wanted -%}
        {%- if column | lower not in available -%}
            {{ exceptions.raise_compiler_error(
                "activity_schema.activity in model '" ~ model.name
                ~ "': argument '" ~ argument ~ "' names column '" ~ column
                ~ "', which the query does not return. Its columns are: "
                ~ available | join(', ') ~ ".") }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(types) }}
{%- endmacro %}
