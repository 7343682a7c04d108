"""Rule hosts that run rule plugins outside the native EQL fast path."""
