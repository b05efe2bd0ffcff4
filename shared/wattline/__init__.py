"""wattline: Shelly energy telemetry from MQTT to BigQuery.

Pure domain modules (models, parsing, energy, tariffs, keys) import no cloud SDK; adapters do.
"""

__version__ = "0.1.0"
PARSER_VERSION = "1"
