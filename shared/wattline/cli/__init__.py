"""The `wattline` command line. Each sub-module registers its commands; heavy imports stay inside commands."""
