-- Which notification each subscriber (sink: email, slack, outbox) handled: token = '<alert key>:<event>'.
-- status sent | quiet_hours | rate_limited. Makes a redelivered Pub/Sub message send nothing twice, and
-- counts what a sink sent in the last hour for its rate limit. Written with MERGE on (sink, token).
CREATE TABLE IF NOT EXISTS `{{project}}.{{dataset}}.alert_deliveries` (
  sink STRING NOT NULL,
  token STRING NOT NULL,
  status STRING NOT NULL,
  delivered_at TIMESTAMP NOT NULL
)
PARTITION BY DATE(delivered_at)
CLUSTER BY sink
OPTIONS (description = 'Alert notifications handled per sink and token (alert key:event); sent once each');
