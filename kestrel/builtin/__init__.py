"""Kestrel's own plugins, registered like third-party ones through the hooks."""
