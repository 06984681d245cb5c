{{ config(materialized='view') }}

{{ activity_schema.rejections(customer_activities()) }}
