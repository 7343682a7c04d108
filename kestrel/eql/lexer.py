"""Tokenizer for EQL (Elasticsearch and Endgame dialects).

Field paths are single tokens (``process.args[0]``, ``?file.path``) because
whitespace decides meaning there: ``by pid [1]`` is a field then a
subquery, ``pid[1]`` is an indexed field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import EqlSyntaxError

NAME = "NAME"  # identifiers and keywords; may end in "~" (in~, startsWith~)
FIELD = "FIELD"  # a dotted/indexed/optional field path: value is (path, optional)
STRING = "STRING"
NUMBER = "NUMBER"
OP = "OP"
METHOD = "METHOD"  # Endgame method call ":name(" ; value is the name
EOF = "EOF"


@dataclass(slots=True)
class Token:
    kind: str
    value: object
    start: int
    end: int
    text: str

    def is_op(self, *ops: str) -> bool:
        return self.kind == OP and self.value in ops

    def is_kw(self, *words: str) -> bool:
        return self.kind == NAME and self.value in words


_NAME_RE = re.compile(r"[A-Za-z_@][A-Za-z0-9_@]*")
_ESCAPED_RE = re.compile(r"`([^`\r\n]+)`")
_NUMBER_RE = re.compile(r"(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")
_INDEX_RE = re.compile(r"\[\s*(\d+)\s*\]")
_WS_RE = re.compile(r"(?:\s+|//[^\n]*|/\*.*?\*/)+", re.S)
_OPS = ("==", "!=", "<=", ">=", "![", "=", "<", ">", ":", "(", ")", "[", "]", ",", "|", "+", "-", "*", "/", "%", ".")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\", "0": "\0"}


def tokenize(source: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    n = len(source)
    while True:
        m = _WS_RE.match(source, i)
        if m:
            i = m.end()
        if i < n and source.startswith("/*", i):
            raise EqlSyntaxError("unterminated comment", source, i, i + 2)
        if i >= n:
            tokens.append(Token(EOF, None, n, n, ""))
            return tokens
        c = source[i]
        start = i
        if c == '"' and source.startswith('"""', i):
            j = source.find('"""', i + 3)
            if j == -1:
                raise EqlSyntaxError('unterminated """ string', source, i, n)
            # Like Elasticsearch, """ strings end at the first closing """ but
            # may be followed by up to two more quotes belonging to the value.
            k = j + 3
            extra = 0
            while k < n and source[k] == '"' and extra < 2:
                k += 1
                extra += 1
            value = source[i + 3 : j] + '"' * extra
            tokens.append(Token(STRING, value, start, k, source[start:k]))
            i = k
            continue
        if c in "\"'":
            value, i = _read_string(source, i, c)
            tokens.append(Token(STRING, value, start, i, source[start:i]))
            continue
        if c == "?" and i + 1 < n and source[i + 1] in "\"'":
            q = source[i + 1]
            j = i + 2
            while j < n and source[j] != q:
                if source[j] == "\\" and j + 1 < n and source[j + 1] == q:
                    j += 2
                    continue
                if source[j] in "\r\n":
                    break
                j += 1
            if j >= n or source[j] != q:
                raise EqlSyntaxError("unterminated raw string", source, i, j)
            value = source[i + 2 : j].replace("\\" + q, q)
            tokens.append(Token(STRING, value, start, j + 1, source[start : j + 1]))
            i = j + 1
            continue
        if c == "?" or c == "`" or c == "@" or c.isalpha() or c == "_":
            tok, i = _read_name_or_field(source, i)
            tokens.append(tok)
            continue
        if c.isdigit() or (c == "." and i + 1 < n and source[i + 1].isdigit()):
            m = _NUMBER_RE.match(source, i)
            assert m
            text = m.group(0)
            if any(ch in text for ch in ".eE"):
                num: object = float(text)
            else:
                num = int(text)
            tokens.append(Token(NUMBER, num, start, m.end(), text))
            i = m.end()
            continue
        if c == ":":
            m = _NAME_RE.match(source, i + 1)
            if m and m.end() < n and source[m.end()] == "(":
                tokens.append(Token(METHOD, m.group(0), start, m.end() + 1, source[start : m.end() + 1]))
                i = m.end() + 1
                continue
        for op in _OPS:
            if source.startswith(op, i):
                tokens.append(Token(OP, op, start, i + len(op), op))
                i += len(op)
                break
        else:
            raise EqlSyntaxError(f"unexpected character {c!r}", source, i, i + 1)


def _read_string(source: str, i: int, quote: str) -> tuple[str, int]:
    n = len(source)
    j = i + 1
    out: list[str] = []
    while j < n:
        c = source[j]
        if c == quote:
            return "".join(out), j + 1
        if c in "\r\n":
            break
        if c == "\\" and j + 1 < n:
            nxt = source[j + 1]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                j += 2
                continue
            if nxt == "u" and j + 2 < n and source[j + 2] == "{":
                close = source.find("}", j + 3)
                hexdigits = source[j + 3 : close] if close != -1 else ""
                if close == -1 or not re.fullmatch(r"[0-9a-fA-F]{2,8}", hexdigits):
                    raise EqlSyntaxError("invalid unicode escape, expected \\u{XXXX}", source, j, j + 2)
                out.append(chr(int(hexdigits, 16)))
                j = close + 1
                continue
            # Unknown escapes keep their backslash: Windows paths written with
            # single backslashes ("C:\Windows") stay what the author meant.
            out.append("\\")
            j += 1
            continue
        out.append(c)
        j += 1
    raise EqlSyntaxError("unterminated string", source, i, j)


def _read_ident(source: str, i: int) -> tuple[str | None, int]:
    m = _NAME_RE.match(source, i)
    if m:
        return m.group(0), m.end()
    m = _ESCAPED_RE.match(source, i)
    if m:
        return m.group(1), m.end()
    return None, i


def _read_name_or_field(source: str, i: int) -> tuple[Token, int]:
    start = i
    optional = False
    if source[i] == "?":
        optional = True
        i += 1
    first, j = _read_ident(source, i)
    if first is None:
        raise EqlSyntaxError("expected a field name after '?'" if optional else "unexpected character", source, start, start + 1)
    escaped = source[i] == "`"
    path: list[object] = [first]
    n = len(source)
    while j < n:
        if source[j] == "." and j + 1 < n and (source[j + 1].isalpha() or source[j + 1] in "_`@"):
            ident, k = _read_ident(source, j + 1)
            if ident is None:
                break
            path.append(ident)
            j = k
            continue
        if source[j] == "[":
            m = _INDEX_RE.match(source, j)
            if m:
                path.append(int(m.group(1)))
                j = m.end()
                continue
        break
    if len(path) == 1 and not optional and not escaped:
        # A bare identifier: keyword, function name or one-part field; a
        # directly attached "~" makes it the case-insensitive form (in~).
        if j < n and source[j] == "~":
            j += 1
            return Token(NAME, first + "~", start, j, source[start:j]), j
        return Token(NAME, first, start, j, source[start:j]), j
    return Token(FIELD, (tuple(path), optional), start, j, source[start:j]), j
