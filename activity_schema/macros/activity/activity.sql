{#-
    activity(activity, activity_id, ts, customer=none,
             anonymous_customer_id=none, anonymous_source=none,
             features={}, revenue_impact=none, link=none,
             loaded_at=none)

    Shapes any query into the stream's columns. Called as a `call` block, so
    that the query (with its import CTEs) is the block's body:

        {% call activity_schema.activity(
            activity='placed_order',
            activity_id='order_id',
            ts='ordered_at',
            customer='customer_id',
            features={'order_status': 'string'},
        ) %}
            select * from {{ ref('stg_jaffle_shop__orders') }}
        {% endcall %}

    Returns a `select` with the stream's columns (`activity_id`, `ts`,
    `customer`, `anonymous_customer_id`, `activity`, `feature_json`,
    `revenue_impact`, `link`) plus `_loaded_at`, `_source_key` and
    `_rejection_reason`: null for a row the
    stream accepts, otherwise why it cannot enter the stream. No source row is
    dropped here; `customer_stream` keeps the accepted rows and
    `stream_rejections` lists the others.

    Arguments (each names a column of the block's query):
    - activity: the `verb_noun` activity name (a literal, not a column).
    - activity_id: the source record's key; a column name or a list of them.
      The id is a hash of the key, so it is deterministic and never depends
      on `ts` or `customer`.
    - ts: the activity's timestamp: a timestamp, a date or text. Text with
      a UTC offset is converted to UTC, text without one is taken as UTC;
      a value that is not a timestamp rejects the row, naming the value
      (`utc_timestamp`).
    - customer: the global entity id (cast to a string).
    - anonymous_customer_id / anonymous_source: a source-local visitor id and
      the source's name; the stream stores `<source>_<id>`.
    - features: {feature name: type} of columns copied into `feature_json`;
      types are string, integer, bigint, numeric, float, boolean, date,
      timestamp. The declaration is also stored in the model's `meta`, where
      the dataset macros read it.
    - revenue_impact, link: optional columns.
    - loaded_at: optional, the column of the time each source row was
      loaded (the `_loaded_at` a loader such as Fivetran, Airbyte or dlt
      adds). Where it is declared, an incremental run of the stream
      re-derives every row loaded since the previous run, whatever its
      `ts`. For an activity built from several sources, give the latest
      load time of the rows it combines.

    At least one of customer and anonymous_customer_id is required. Missing
    arguments, unknown types and (when dbt can query the warehouse) columns
    absent from the query fail at compile time with the model's name.
-#}
{% macro activity(
    activity,
    activity_id,
    ts,
    customer=none,
    anonymous_customer_id=none,
    anonymous_source=none,
    features={},
    revenue_impact=none,
    link=none,
    loaded_at=none
) -%}
    {%- set source_sql = caller() -%}
    {%- set key_columns = [activity_id] if activity_id is string else activity_id -%}
    {%- set spec = activity_schema._validate_activity_spec(
        activity=activity,
        key_columns=key_columns,
        ts=ts,
        customer=customer,
        anonymous_customer_id=anonymous_customer_id,
        anonymous_source=anonymous_source,
        features=features,
        revenue_impact=revenue_impact,
        link=link,
        loaded_at=loaded_at,
    ) -%}
    {%- do config.set('meta', {'activity_schema': {
        'activity': activity,
        'features': features,
        'activity_id': spec.key_columns,
        'ts': ts,
        'customer': customer,
        'anonymous_customer_id': anonymous_customer_id,
        'anonymous_source': anonymous_source,
        'revenue_impact': revenue_impact,
        'link': link,
        'loaded_at': loaded_at,
    }}) -%}
    {#- The stream's incremental runs and `dbt --sample` filter on `ts`. -#}
    {%- do config.set('event_time', 'ts') -%}
    {%- set column_types = activity_schema._check_activity_columns(
        source_sql, spec) -%}
    {{ activity_schema._activity_select(source_sql, spec, column_types) }}
{%- endmacro %}
