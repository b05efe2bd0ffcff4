-- The role of a meter channel in its site's energy balance, from the setting `channels` (WATTLINE_CHANNELS or
-- [channels] in wattline.toml; wattline.solar.channel_role_rows): grid, solar (generation in the export direction),
-- solar+ (generation in the import direction) or load. Channels without a row are grid.
CREATE TABLE IF NOT EXISTS `{{project}}.{{dataset}}.channel_roles` (
  device_id STRING NOT NULL,
  channel INT64 NOT NULL,
  role STRING NOT NULL
)
OPTIONS (description = 'Channel roles grid, solar, solar+ or load per device and channel (unlisted: grid)');
