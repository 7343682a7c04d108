"""Live event sources (the eBPF source and its libbpf binding)."""
