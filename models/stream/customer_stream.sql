{{ activity_schema.stream(customer_activities()) }}
