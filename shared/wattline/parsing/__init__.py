"""Shelly message parsers: envelopes in, canonical readings or quarantine records out. Pure; never raises."""
