"""Rules on disk: the file format, loading, and embedded tests."""
