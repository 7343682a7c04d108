"""Getting events in and out of files: readers, writers and the progress line."""
