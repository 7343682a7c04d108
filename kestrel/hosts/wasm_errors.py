"""What can go wrong with a Wasm module, kept apart from wasmtime so that
code handling these never imports the runtime until a module loads."""

from __future__ import annotations


class ModuleRefused(Exception):
    """The module cannot be loaded at all (bad imports, exports, ABI)."""


class Fault(Exception):
    """A call that did not complete: trap, fuel, deadline, memory, bad output."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
