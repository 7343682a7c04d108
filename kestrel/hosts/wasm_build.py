"""``kestrel rules build``: SDK-based Wasm rule sources to one ``.wasm`` file.

A rule directory holds ``wasm-rule.toml`` and its sources in one of three
languages; the language is taken from ``[build] language`` or from the
files present (``Cargo.toml``, ``assembly/index.ts``, ``*.c``). The build
runs the toolchain offline into ``build/module.wasm`` and then writes
``build/rule.wasm``: the same module with the manifest embedded as the
``kestrel.manifest`` custom section, which is what the host loads.

Toolchains (installed by ``make setup``): Debian's rustc/cargo with the
wasm32 standard library (rustup's toolchains here have none), the
AssemblyScript compiler from the SDK's own ``node_modules``, clang + lld.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tomllib
from dataclasses import dataclass

from .wasm_manifest import MANIFEST_FILE, embed_manifest, parse_manifest

LANGUAGES = ("rust", "assemblyscript", "c")
BUILD_TIMEOUT_S = 600


class BuildError(Exception):
    pass


@dataclass
class BuildResult:
    path: str  # the rule directory
    output: str  # build/rule.wasm
    language: str
    built: bool  # False: it was up to date
    size: int


def sdk_root() -> str:
    """``sdk/wasm`` of this checkout (or ``$KESTREL_SDK``)."""
    env = os.environ.get("KESTREL_SDK")
    if env:
        return env
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.path.join(here, "sdk", "wasm")


def find_rule_dirs(paths: list[str]) -> tuple[list[str], list[str]]:
    """Rule directories at or under ``paths``; returns (dirs, missing)."""
    dirs: list[str] = []
    missing: list[str] = []
    for p in paths:
        if not os.path.isdir(p):
            missing.append(p)
            continue
        if os.path.isfile(os.path.join(p, MANIFEST_FILE)):
            dirs.append(p)
            continue
        for root, sub, names in os.walk(p):
            sub[:] = sorted(d for d in sub if not d.startswith(".") and d not in ("node_modules", "build", "target"))
            if MANIFEST_FILE in names:
                dirs.append(root)
                sub[:] = []
    return dirs, missing


def detect_language(d: str, manifest_build: dict) -> str:
    lang = manifest_build.get("language")
    if lang is not None:
        if lang not in LANGUAGES:
            raise BuildError(f"{d}: [build] language must be one of {', '.join(LANGUAGES)}, not {lang!r}")
        return str(lang)
    if os.path.isfile(os.path.join(d, "Cargo.toml")):
        return "rust"
    if os.path.isfile(os.path.join(d, "assembly", "index.ts")):
        return "assemblyscript"
    if glob.glob(os.path.join(d, "*.c")):
        return "c"
    raise BuildError(f"{d}: no sources found (Cargo.toml, assembly/index.ts or *.c)")


def _sources(d: str) -> list[str]:
    out = []
    for root, sub, names in os.walk(d):
        sub[:] = [s for s in sub if s not in ("build", "target", "node_modules") and not s.startswith(".")]
        out.extend(os.path.join(root, n) for n in names)
    return out


def _newest(paths: list[str]) -> float:
    return max((os.path.getmtime(p) for p in paths if os.path.exists(p)), default=0.0)


def _run(cmd: list[str], cwd: str, env: dict | None = None) -> None:
    try:
        proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    except FileNotFoundError:
        raise BuildError(f"{cmd[0]} not found: install the Wasm toolchains with `make setup` (or `make wasm-tools`)") from None
    except subprocess.TimeoutExpired:
        raise BuildError(f"{' '.join(cmd[:2])} took longer than {BUILD_TIMEOUT_S}s") from None
    if proc.returncode != 0:
        text = (proc.stderr or "") + (proc.stdout or "")
        raise BuildError(f"{' '.join(cmd)} failed (exit {proc.returncode}):\n{text.strip()}")


def _tool(env_name: str, preferred: str, fallback: str) -> str:
    return os.environ.get(env_name) or (preferred if os.path.exists(preferred) else fallback)


def _build_rust(d: str, out_dir: str) -> str:
    cargo = _tool("KESTREL_CARGO", "/usr/bin/cargo", "cargo")
    rustc = _tool("KESTREL_RUSTC", "/usr/bin/rustc", "rustc")
    target_dir = os.path.join(out_dir, "cargo")
    env = dict(os.environ, RUSTC=rustc, CARGO_TARGET_DIR=target_dir)
    _run([cargo, "build", "--offline", "--release", "--target", "wasm32-unknown-unknown",
          "--manifest-path", os.path.join(d, "Cargo.toml")], d, env)
    with open(os.path.join(d, "Cargo.toml"), "rb") as f:
        cargo_toml = tomllib.load(f)
    lib = (cargo_toml.get("lib") or {}).get("name") or cargo_toml.get("package", {}).get("name", "")
    path = os.path.join(target_dir, "wasm32-unknown-unknown", "release", lib.replace("-", "_") + ".wasm")
    if not os.path.exists(path):
        raise BuildError(f"cargo built no {path} (is the crate a cdylib?)")
    return path


def _build_assemblyscript(d: str, out_dir: str) -> str:
    sdk = os.path.join(sdk_root(), "assemblyscript")
    asc = os.path.join(sdk, "node_modules", ".bin", "asc")
    if not os.path.exists(asc):
        raise BuildError(f"the AssemblyScript compiler is not installed: run `npm ci` in {sdk} (`make setup` does)")
    out = os.path.join(out_dir, "module.wasm")
    # The SDK's asconfig.json holds the flags every rule is built with
    # (runtime, optimisation, the SDK's abort/trace/seed in place of the
    # env imports AssemblyScript would otherwise emit; see its README).
    _run([asc, os.path.join(d, "assembly", "index.ts"), "--config", os.path.join(sdk, "asconfig.json"), "--outFile", out], d)
    return out


def _build_c(d: str, out_dir: str, cflags: list[str]) -> str:
    clang = _tool("KESTREL_CLANG", "/usr/bin/clang", "clang")
    out = os.path.join(out_dir, "module.wasm")
    srcs = sorted(glob.glob(os.path.join(d, "*.c")))
    # --stack-first: a C stack overflow traps at once instead of running into static data.
    _run([clang, "--target=wasm32", "-O2", "-nostdlib", "-Wl,--no-entry", "-Wl,--stack-first", "-I", os.path.join(sdk_root(), "c"),
          *cflags, "-o", out, *srcs], d)
    return out


def build_rule(d: str, force: bool = False) -> BuildResult:
    """Build one rule directory; raises BuildError with the compiler's words."""
    mpath = os.path.join(d, MANIFEST_FILE)
    try:
        with open(mpath, encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        raise BuildError(f"{mpath}: cannot read: {exc}") from None
    manifest, errors = parse_manifest(text, mpath)
    if manifest is None:
        raise BuildError("\n".join(str(e) for e in errors))
    lang = detect_language(d, manifest.build)
    output = os.path.join(d, "build", "rule.wasm")
    d = os.path.abspath(d)
    out_dir = os.path.join(d, "build")
    if not force and os.path.exists(output) and os.path.getmtime(output) >= _newest(_sources(d) + _sdk_files(lang)):
        return BuildResult(d, output, lang, False, os.path.getsize(output))
    os.makedirs(out_dir, exist_ok=True)
    if lang == "rust":
        module = _build_rust(d, out_dir)
    elif lang == "assemblyscript":
        module = _build_assemblyscript(d, out_dir)
    else:
        cflags = manifest.build.get("cflags", [])
        module = _build_c(d, out_dir, [str(x) for x in cflags] if isinstance(cflags, list) else [])
    with open(module, "rb") as f:
        wasm = f.read()
    data = embed_manifest(wasm, text)
    tmp = output + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, output)
    return BuildResult(d, output, lang, True, len(data))


def _sdk_files(lang: str) -> list[str]:
    sub = {"rust": "rust", "assemblyscript": "assemblyscript", "c": "c"}[lang]
    root = os.path.join(sdk_root(), sub)
    return [p for p in _sources(root)] if os.path.isdir(root) else []


def toolchains() -> dict[str, str | None]:
    """Which toolchains this machine has (for errors and `make setup`)."""
    sdk_asc = os.path.join(sdk_root(), "assemblyscript", "node_modules", ".bin", "asc")
    return {
        "rust": "/usr/bin/cargo" if os.path.exists("/usr/lib/rustlib/wasm32-unknown-unknown") and os.path.exists("/usr/bin/cargo") else None,
        "assemblyscript": sdk_asc if os.path.exists(sdk_asc) else None,
        "c": shutil.which("clang") if shutil.which("wasm-ld") else None,
    }
