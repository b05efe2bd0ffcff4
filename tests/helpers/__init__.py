"""Test helpers shared across tests/unit, tests/integration and tests/e2e (importable as `helpers`: pytest puts
tests/ on sys.path through `pythonpath` in the root pyproject.toml)."""
