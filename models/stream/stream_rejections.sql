{{ activity_schema.rejections(customer_activities()) }}
