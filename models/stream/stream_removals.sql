{{ config(materialized='view') }}

{{ activity_schema.removed_row_counts(ref('customer_stream')) }}
