"""Test-only plugins that fail: ember must skip each with a warning and keep working."""
