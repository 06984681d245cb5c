{{ activity_schema.rejections([
    ref('act_signed_up'),
    ref('act_made_purchase'),
]) }}
