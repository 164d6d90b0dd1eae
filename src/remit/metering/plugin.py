"""Metering as a built-in plugin."""
