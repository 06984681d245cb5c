{#-
    activity_declaration(activity) -> {'activity': name, 'features':
    {name: type}, 'model': model name} of the activity model that declares
    `activity` (through `activity_schema.activity`), or none when no model
    does. Reads dbt's graph, so it only knows the models when dbt executes.

    Example: activity_schema.activity_declaration('placed_order').features
-#}
{% macro activity_declaration(activity) -%}
    {%- for node in graph.nodes.values() -%}
        {%- set declared = (node.config.meta or {}).get('activity_schema') -%}
        {%- if node.resource_type == 'model' and declared
            and declared.get('activity') == activity -%}
            {{ return({
                'activity': activity,
                'features': declared.get('features', {}),
                'model': node.name,
            }) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(none) }}
{%- endmacro %}

{#- declared_activities() -> the sorted names of every declared activity. -#}
{% macro declared_activities() -%}
    {%- set names = [] -%}
    {%- for node in graph.nodes.values() -%}
        {%- set declared = (node.config.meta or {}).get('activity_schema') -%}
        {%- if node.resource_type == 'model' and declared
            and declared.get('activity') -%}
            {%- do names.append(declared.get('activity')) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(names | unique | sort) }}
{%- endmacro %}
