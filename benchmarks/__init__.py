"""Benchmarks: runnable scripts, plus the peer-baseline endpoint used by ingest_speed.py."""
