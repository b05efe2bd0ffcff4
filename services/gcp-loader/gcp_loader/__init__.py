"""gcp-loader: the wiring of the GCS-finalize loader Cloud Function (settings, adapters).

No logic lives here: `wattline.loader.load_daily_file` is the use case; `main.load_daily_file` is the trigger.
"""
