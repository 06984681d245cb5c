{#- Checks the arguments of `activity` and returns them as one dict. -#}
{% macro _validate_activity_spec(
    activity,
    key_columns,
    ts,
    customer,
    anonymous_customer_id,
    anonymous_source,
    features,
    revenue_impact,
    link,
    loaded_at
) -%}
    {%- set where = "activity_schema.activity in model '" ~ model.name ~ "'" -%}
    {%- if activity is not string or activity | trim == '' -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": argument 'activity' is required: the activity's"
            ~ " verb_noun name, such as 'placed_order'.") }}
    {%- endif -%}
    {%- if not modules.re.match('^[a-z][a-z0-9]*(_[a-z0-9]+)+$', activity) -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": argument 'activity' must be a lowercase verb_noun name"
            ~ " such as 'placed_order', got '" ~ activity ~ "'.") }}
    {%- endif -%}
    {%- if key_columns is none or key_columns | length == 0
        or key_columns | select('none') | list | length > 0 -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": argument 'activity_id' is required: the column (or list"
            ~ " of columns) that is the source record's own key.") }}
    {%- endif -%}
    {%- if ts is none or ts is not string -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": argument 'ts' is required: the column that holds the"
            ~ " activity's timestamp.") }}
    {%- endif -%}
    {%- if loaded_at is not none and loaded_at is not string -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": argument 'loaded_at' must name the column of the time"
            ~ " each source row was loaded (such as '_loaded_at'), got '"
            ~ loaded_at ~ "'.") }}
    {%- endif -%}
    {%- if customer is none and anonymous_customer_id is none -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": argument 'customer' or 'anonymous_customer_id' is"
            ~ " required: the stream needs an entity on every row.") }}
    {%- endif -%}
    {%- if anonymous_customer_id is not none and not anonymous_source -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": argument 'anonymous_source' is required with"
            ~ " 'anonymous_customer_id': anonymous ids are prefixed by their"
            ~ " source, such as 'web'.") }}
    {%- endif -%}
    {%- if features is not mapping -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": argument 'features' must be a mapping of"
            ~ " {feature: type}.") }}
    {%- endif -%}
    {%- set allowed_types = activity_schema.feature_types() -%}
    {%- for name, type in features.items() -%}
        {%- if type not in allowed_types -%}
            {{ exceptions.raise_compiler_error(
                where ~ ": argument 'features' declares '" ~ name ~ "' as '"
                ~ type ~ "'; allowed types: " ~ allowed_types | join(', ')
                ~ ".") }}
        {%- endif -%}
    {%- endfor -%}
    {{ return({
        'activity': activity,
        'key_columns': key_columns,
        'ts': ts,
        'customer': customer,
        'anonymous_customer_id': anonymous_customer_id,
        'anonymous_source': anonymous_source,
        'features': features,
        'revenue_impact': revenue_impact,
        'link': link,
        'loaded_at': loaded_at,
    }) }}
{%- endmacro %}
