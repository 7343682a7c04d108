# The two commands of the README: `make run` and `make test`.
# Both create .venv and install Kestrel with everything it needs first.
VENV ?= .venv
PYTHON ?= python3
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: setup run demo test bench clean bpf bpf-tools wasm wasm-tools

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

setup: $(STAMP) bpf wasm

# The live eBPF source (`kestrel run`, `kestrel record`) needs its CO-RE
# programs built: clang, bpftool and libbpf's headers, installed from the
# distribution (apt) when missing. Not Linux, or no way to install them: a
# warning, and everything but the live source still works.
bpf-tools:
	@if [ "$$(uname -s)" != Linux ]; then exit 0; fi; \
	missing=""; \
	command -v clang >/dev/null 2>&1 || missing="$$missing clang"; \
	{ command -v bpftool >/dev/null 2>&1 || [ -x /usr/sbin/bpftool ]; } || missing="$$missing bpftool"; \
	[ -f /usr/include/bpf/bpf_helpers.h ] || missing="$$missing libbpf-dev"; \
	[ -n "$$missing" ] || exit 0; \
	if ! command -v apt-get >/dev/null 2>&1; then \
		echo "kestrel: warning: missing$$missing (no apt-get here): install them to build the eBPF programs"; exit 0; fi; \
	SUDO=""; if [ "$$(id -u)" != 0 ]; then \
		if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else \
			echo "kestrel: warning: missing$$missing and not root: install them to build the eBPF programs"; exit 0; fi; fi; \
	echo "kestrel: installing$$missing with apt-get"; \
	$$SUDO apt-get update -qq && \
	$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang libbpf-dev bpftool >/dev/null

bpf: bpf-tools
	@if [ "$$(uname -s)" = Linux ] && [ -r /sys/kernel/btf/vmlinux ] && command -v clang >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory -C bpf; \
	else \
		echo "kestrel: warning: eBPF programs not built (needs Linux with BTF, clang, bpftool, libbpf-dev): kestrel run is unavailable"; \
	fi

# Wasm rules (docs/wasm-abi.md) are built from source: Debian's Rust
# toolchain with the wasm32 standard library (rustup's has none here),
# clang + lld for C, and the AssemblyScript compiler from npm, pinned in the
# SDK's package-lock.json. Installed when missing, like the eBPF tools.
WASM_APT := rustc cargo libstd-rust-dev-wasm32 lld clang
wasm-tools:
	@missing=""; \
	[ -x /usr/bin/cargo ] && [ -x /usr/bin/rustc ] || missing="$$missing rustc cargo"; \
	[ -d /usr/lib/rustlib/wasm32-unknown-unknown ] || missing="$$missing libstd-rust-dev-wasm32"; \
	command -v wasm-ld >/dev/null 2>&1 || missing="$$missing lld"; \
	command -v clang >/dev/null 2>&1 || missing="$$missing clang"; \
	if [ -n "$$missing" ]; then \
		if ! command -v apt-get >/dev/null 2>&1; then \
			echo "kestrel: warning: missing$$missing (no apt-get here): Rust/C Wasm rules cannot be built"; \
		else \
			SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
			echo "kestrel: installing$$missing with apt-get"; \
			$$SUDO apt-get update -qq && \
			$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(WASM_APT) >/dev/null; \
		fi; \
	fi; \
	if [ -f sdk/wasm/assemblyscript/package-lock.json ] && [ ! -x sdk/wasm/assemblyscript/node_modules/.bin/asc ]; then \
		if command -v npm >/dev/null 2>&1; then \
			echo "kestrel: installing the AssemblyScript compiler (npm ci)"; \
			(cd sdk/wasm/assemblyscript && npm ci --no-audit --no-fund --loglevel=error >/dev/null); \
		else echo "kestrel: warning: no npm: AssemblyScript Wasm rules cannot be built"; fi; \
	fi

wasm: wasm-tools $(STAMP)
	$(VENV)/bin/kestrel rules build --quiet examples/rules tests/wasm

# Watch this host with the bundled rules until Ctrl-C (root, BPF + BTF).
run: setup
	$(VENV)/bin/kestrel run

# Replay the bundled sample events through the bundled rules (no root needed).
demo: setup
	$(VENV)/bin/kestrel replay

test: setup
	$(VENV)/bin/python -m pytest -q

bench: setup
	$(VENV)/bin/kestrel bench

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache kestrel/data/bpf sdk/wasm/assemblyscript/node_modules
	find examples/rules tests/wasm -name build -type d -prune -exec rm -rf {} +
