"""Presentation only: text, tables, JSON. Never decides anything."""
