{#-
    stream_columns() -> the stream's columns, in order, without the two
    occurrence columns that the stream computes and without its metadata
    columns (`stream_metadata_columns`).
-#}
{% macro stream_columns() -%}
    {{ return([
        'activity_id', 'ts', 'customer', 'anonymous_customer_id', 'activity',
        'feature_json', 'revenue_impact', 'link',
    ]) }}
{%- endmacro %}


{#-
    stream_metadata_columns() -> the stream's implementation columns, after
    the occurrence columns (their names start with `_`, outside the spec):
    - `_loaded_at`: when the row's source version was loaded, where its
      activity declares `loaded_at` (null otherwise); the activity's load
      cursor is its latest `_loaded_at` in the stream;
    - `_definition`: the fingerprint of the activity's definition that the
      row was derived with (`_stream_fingerprint`);
    - `_source_customer`: the customer the source row carried (null when it
      carried none). A row whose `customer` differs from it was resolved:
      filled in from its anonymous id's logins, or replaced by an alias.
-#}
{% macro stream_metadata_columns() -%}
    {{ return(['_loaded_at', '_definition', '_source_customer']) }}
{%- endmacro %}


{#-
    The order in which versions of one (activity, activity_id) compete:
    the first one wins. The latest `_loaded_at`, then the latest `ts`, then
    the greatest values, so that the choice never depends on the order the
    rows were read in.
-#}
{% macro _stream_version_order() -%}
    _loaded_at desc nulls last,
    ts desc,
    customer desc nulls last,
    anonymous_customer_id desc nulls last,
    cast(feature_json as {{ dbt.type_string() }}) desc nulls last,
    revenue_impact desc nulls last,
    link desc nulls last
{%- endmacro %}
