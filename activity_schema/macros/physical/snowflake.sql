{#-
    Snowflake: a clustering key, from the lowest cardinality to the
    highest, on what queries of an activity stream prune micro-partitions
    by (the Activity Schema's implementation guidance): the activity, the
    first-occurrence and last-occurrence flags (a dataset's `first` and
    `last` selectors, `activity_occurrence = 1` and
    `activity_repeated_at is null`), and the day of `ts` (the incremental
    run's lookback window). Expressions, not raw columns: a boolean has two
    values and a date far fewer than a timestamp, as Snowflake's
    clustering guidance advises; nothing of type VARIANT (feature_json).
    dbt-snowflake orders the rows of the initial `create table as` by the
    key and sets it with `alter table … cluster by (…)`; automatic
    reclustering stays the account's choice (config
    `automatic_clustering`, through the variable).

    activity (an activity model built as a table): the day of `ts`, which
    the stream's lookback window reads by; activity models have no
    occurrence columns, and one table holds one activity.
-#}
{% macro snowflake__physical_design(kind) -%}
    {%- if kind == 'stream' -%}
        {{ return({'cluster_by': [
            'activity',
            'activity_occurrence = 1',
            'activity_repeated_at is null',
            'to_date(ts)',
        ]}) }}
    {%- else -%}
        {{ return({'cluster_by': ['to_date(ts)']}) }}
    {%- endif -%}
{%- endmacro %}
