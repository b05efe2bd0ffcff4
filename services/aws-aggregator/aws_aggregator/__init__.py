"""wattline service aws-aggregator: validate raw objects, plan device-days, aggregate them into daily files, and
watch for silent meters.

Lambda entry points (referenced by serverless.yml): `aws_aggregator.validate.handler`,
`aws_aggregator.plan.handler`, `aws_aggregator.aggregate.handler`, `aws_aggregator.watchdog.handler`. The logic
lives in `wattline.aggregation`, `wattline.realtime` and `wattline.alerts.watchdog`.
"""
