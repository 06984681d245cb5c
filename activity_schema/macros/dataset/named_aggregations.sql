{#-
    An appended activity named in a dataset's `append` list by a string:
    the named aggregation of that name, from `dataset_aggregations()`,
    without its 'description'.
-#}
{% macro _dataset_named_aggregation(where, argument, name) -%}
    {%- set declared = activity_schema.dataset_aggregations() -%}
    {%- if declared is not mapping or name not in declared -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": argument '" ~ argument ~ "' is '" ~ name ~ "', which"
            ~ " names no aggregation of dataset_aggregations(); allowed"
            ~ " values: " ~ ((declared.keys() | sort | join(', ')
                if declared is mapping and declared else '')
                or 'none declared') ~ ".") }}
    {%- endif -%}
    {%- set item = {} -%}
    {%- for key, value in declared[name].items() if key != 'description' -%}
        {%- do item.update({key: value}) -%}
    {%- endfor -%}
    {%- if (item.get('columns') or []) | length != 1 -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": the named aggregation '" ~ name ~ "' (argument '"
            ~ argument ~ "') must have exactly one column, with its alias:"
            ~ " the column the name stands for.") }}
    {%- endif -%}
    {{ return(item) }}
{%- endmacro %}


{#-
    dataset_aggregations() -> {name: appended activity} of the named
    aggregations that a dataset's `append` list may name by a string: an
    appended activity as `dataset` takes it (activity, relationship,
    filters, one column with its aggregate and alias), plus an optional
    'description'. Declared once, they mean the same wherever they are
    used. Dispatched: a project declares its own with a macro
    `default__dataset_aggregations` and a `dispatch` entry for the
    `activity_schema` namespace that searches the project first. None by
    default.
-#}
{% macro dataset_aggregations() -%}
    {{ return(adapter.dispatch('dataset_aggregations', 'activity_schema')()) }}
{%- endmacro %}

{% macro default__dataset_aggregations() -%}
    {{ return({}) }}
{%- endmacro %}
