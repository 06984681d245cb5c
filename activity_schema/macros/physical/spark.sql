{#-
    spark__physical_design(kind) -> the configs of the activity schema's
    tables on Spark (dbt-spark, plain parquet: Delta Lake is not assumed).

    - stream: parquet, partitioned by `_entity_bucket` (a bucket of the
      entity, see activity_schema/macros/stream/spark_stream.sql), so that an
      incremental run rewrites only the buckets of the entities it touches
      (dynamic partition overwrite; the table option makes the overwrite
      dynamic whatever the session says). The bucket count is recorded in
      the table's properties.
    - activity: parquet (activities are views in this project; the format
      applies if one is materialized as a table).
-#}
{% macro spark__physical_design(kind) -%}
    {%- if kind == 'stream' -%}
        {{ return({
            'file_format': 'parquet',
            'partition_by': ['_entity_bucket'],
            'options': {'partitionOverwriteMode': 'dynamic'},
            'tblproperties': {
                'activity_schema.entity_buckets':
                    activity_schema.stream_entity_buckets() | string,
            },
        }) }}
    {%- endif -%}
    {{ return({'file_format': 'parquet'}) }}
{%- endmacro %}
