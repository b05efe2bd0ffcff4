"""wattline service aws-aggregator: validate raw objects, plan device-days, aggregate them into daily files.

Lambda entry points (referenced by serverless.yml): `aws_aggregator.validate.handler`,
`aws_aggregator.plan.handler`, `aws_aggregator.aggregate.handler`. The logic lives in `wattline.aggregation`.
"""
