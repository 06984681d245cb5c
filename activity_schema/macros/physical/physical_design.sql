{#-
    physical_design(kind) -> a dict of model configs (clustering,
    partitioning, sorting, indexes…) for a table of the activity schema on
    the current adapter. kind: 'stream' or 'activity'.

    Example (in a model):
        {{ config(**activity_schema.physical_design('stream')) }}
-#}
{% macro physical_design(kind) -%}
    {%- if kind not in ['stream', 'activity'] -%}
        {{ exceptions.raise_compiler_error(
            "activity_schema.physical_design in model '" ~ model.name
            ~ "': argument 'kind' is '" ~ kind
            ~ "'; allowed values: stream, activity.") }}
    {%- endif -%}
    {{ return(adapter.dispatch('physical_design', 'activity_schema')(kind)) }}
{%- endmacro %}

{% macro default__physical_design(kind) -%}
    {{ return({}) }}
{%- endmacro %}
