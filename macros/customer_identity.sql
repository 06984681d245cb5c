{#-
    customer_identity() -> the identity inputs of the customer stream: the
    account merges (aliases) and the erasure requests (removals), as
    `activity_schema.stream` and its hooks take them. `customer_stream` and
    its post-hook both read this dict.
-#}
{% macro customer_identity() -%}
    {{ return({
        'aliases': {
            'relation': ref('stg_jaffle_shop__customer_aliases'),
            'customer': 'customer_id',
            'canonical_customer': 'canonical_customer_id',
        },
        'removals': {
            'relation': ref('stg_jaffle_shop__customer_removals'),
            'customer': 'customer_id',
        },
    }) }}
{%- endmacro %}
