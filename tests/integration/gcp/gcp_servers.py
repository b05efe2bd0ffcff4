"""Names of the local GCP resources the gcp integration tests create (shared by conftest and tests)."""

PROJECT = "wattline-local"
NOTIFY_TOPIC = "gcs-notifications"
NOTIFY_SUBSCRIPTION = "gcs-to-eventarc"
ENERGY_TOPIC = "energy-updated"
ENERGY_SUBSCRIPTION = "energy-updated-test"
