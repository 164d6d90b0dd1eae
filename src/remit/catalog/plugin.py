"""Catalog as a built-in plugin."""
