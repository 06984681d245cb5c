{#-
    physical_design(kind) -> a dict of model configs (clustering,
    partitioning, sorting, indexes…) for a table of the activity schema on
    the current adapter. kind: 'stream' or 'activity'.

    The defaults come from the adapter's implementation
    (`<adapter>__physical_design`, one file each in this folder; `{}` on an
    adapter without one). The variable `activity_schema_physical_design`
    replaces them key by key, in this order (later wins):

        {kind: {config: value}}                     every target
        {<target.type>: {kind: {config: value}}}    e.g. snowflake
        {<target.name>: {kind: {config: value}}}    e.g. prod

    A value of `none` (YAML `null`) removes the config. BigQuery's
    partition granularity has its own variable,
    `activity_schema_partition_granularity` (default 'month').

    Example (in a model):
        {{ config(**activity_schema.physical_design('stream')) }}

    Example (dbt_project.yml):
        vars:
          activity_schema_physical_design:
            snowflake:
              stream:
                cluster_by: ['activity', 'to_date(ts)']
                automatic_clustering: true
-#}
{% macro physical_design(kind) -%}
    {%- if kind not in ['stream', 'activity'] -%}
        {{ exceptions.raise_compiler_error(
            "activity_schema.physical_design in model '" ~ model.name
            ~ "': argument 'kind' is '" ~ kind
            ~ "'; allowed values: stream, activity.") }}
    {%- endif -%}
    {%- set defaults = adapter.dispatch(
        'physical_design', 'activity_schema')(kind) -%}
    {%- set design = activity_schema._physical_design_overridden(
        kind, defaults) -%}
    {%- do adapter.dispatch('check_physical_design', 'activity_schema')(
        kind, design) -%}
    {{ return(design) }}
{%- endmacro %}

{% macro default__physical_design(kind) -%}
    {{ return({}) }}
{%- endmacro %}


{#-
    check_physical_design(kind, design), dispatched from physical_design:
    fails at compile time on a design the warehouse would reject.
-#}
{% macro default__check_physical_design(kind, design) -%}
    {{ return(none) }}
{%- endmacro %}


{#- Raises unless `design[config_name]` has at most `limit` entries. -#}
{% macro _check_physical_design_count(kind, design, config_name, limit) -%}
    {%- set value = design.get(config_name) -%}
    {%- set entries = [value] if value is string else (value or []) -%}
    {%- if entries | length > limit -%}
        {{ exceptions.raise_compiler_error(
            "activity_schema.physical_design in model '" ~ model.name
            ~ "': config '" ~ config_name ~ "' of the " ~ kind ~ " on "
            ~ target.type ~ " takes at most " ~ limit ~ " columns, got "
            ~ entries | length ~ " (" ~ entries | join(', ')
            ~ "); see the variable 'activity_schema_physical_design'.") }}
    {%- endif -%}
{%- endmacro %}


{#- The defaults with the layers of `activity_schema_physical_design`. -#}
{% macro _physical_design_overridden(kind, defaults) -%}
    {%- set name = 'activity_schema_physical_design' -%}
    {%- set overrides = var(name, {}) or {} -%}
    {%- set where = "activity_schema.physical_design in model '"
        ~ model.name ~ "'" -%}
    {%- if overrides is not mapping -%}
        {{ exceptions.raise_compiler_error(
            where ~ ": variable '" ~ name ~ "' must be a mapping like"
            ~ " {stream: {config: value}} or {<adapter or target name>:"
            ~ " {stream: {config: value}}}, got '" ~ overrides ~ "'.") }}
    {%- endif -%}
    {%- set layers = [(name ~ '.' ~ kind, overrides.get(kind))] -%}
    {%- for scope in [target.type, target.name] | unique -%}
        {%- set scoped = overrides.get(scope) -%}
        {%- if scoped is not none and scoped is not mapping -%}
            {{ exceptions.raise_compiler_error(
                where ~ ": variable '" ~ name ~ "." ~ scope
                ~ "' must be a mapping of kinds (stream, activity) to"
                ~ " configs, got '" ~ scoped ~ "'.") }}
        {%- endif -%}
        {%- do layers.append((name ~ '.' ~ scope ~ '.' ~ kind,
            (scoped or {}).get(kind))) -%}
    {%- endfor -%}
    {%- set design = {} -%}
    {%- do design.update(defaults) -%}
    {%- for path, layer in layers if layer is not none -%}
        {%- if layer is not mapping -%}
            {{ exceptions.raise_compiler_error(
                where ~ ": variable '" ~ path ~ "' must be a mapping of"
                ~ " model configs to values (null removes one), got '"
                ~ layer ~ "'.") }}
        {%- endif -%}
        {%- for config_name, value in layer.items() -%}
            {%- if value is none -%}
                {%- do design.pop(config_name, none) -%}
            {%- else -%}
                {%- do design.update({config_name: value}) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(design) }}
{%- endmacro %}


{#-
    stream_config(configs) -> the stream model's configs: `configs` (its
    materialization, strategy, key, hooks…) with the stream's physical
    design on this adapter (`physical_design('stream')`); the pre-hooks of
    both are kept, the design's after the model's own.

    Example:
        {{ config(**activity_schema.stream_config({
            'materialized': 'incremental',
            'incremental_strategy': 'activity_stream',
            'unique_key': ['activity', 'activity_id'],
        })) }}
-#}
{% macro stream_config(configs) -%}
    {%- set merged = {} -%}
    {%- do merged.update(activity_schema.physical_design('stream')) -%}
    {%- for key, value in configs.items() -%}
        {%- if key in ['pre_hook', 'post_hook'] and key in merged -%}
            {%- set own = [value] if value is string else value -%}
            {%- set design = [merged[key]] if merged[key] is string
                else merged[key] -%}
            {%- do merged.update({key: own + design}) -%}
        {%- else -%}
            {%- do merged.update({key: value}) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(merged) }}
{%- endmacro %}
