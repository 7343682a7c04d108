"""Errors that point at the rule text: file, line, column and a caret."""

from __future__ import annotations


class EqlError(Exception):
    """A problem in a query, located in its source text.

    ``line_offset``/``col_offset`` let a rule-file loader shift positions so
    that the reported line and column are those of the file, not of the
    query string embedded in it.
    """

    kind = "error"

    def __init__(
        self,
        message: str,
        source: str = "",
        start: int = 0,
        end: int | None = None,
        filename: str | None = None,
        line_offset: int = 0,
        col_offset: int = 0,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.source = source
        self.start = max(0, min(start, len(source)))
        self.end = self.start + 1 if end is None or end <= start else min(end, max(len(source), start + 1))
        self.filename = filename
        self.line_offset = line_offset
        self.col_offset = col_offset

    @property
    def query_line(self) -> int:
        return self.source.count("\n", 0, self.start) + 1

    @property
    def query_column(self) -> int:
        return self.start - (self.source.rfind("\n", 0, self.start) + 1) + 1

    @property
    def line(self) -> int:
        return self.query_line + self.line_offset

    @property
    def column(self) -> int:
        # Only the query's first line is shifted by the column it starts at.
        return self.query_column + (self.col_offset if self.query_line == 1 else 0)

    def located(self, filename: str | None, line_offset: int = 0, col_offset: int = 0) -> "EqlError":
        self.filename = filename
        self.line_offset = line_offset
        self.col_offset = col_offset
        return self

    def snippet(self) -> str:
        line_start = self.source.rfind("\n", 0, self.start) + 1
        line_end = self.source.find("\n", self.start)
        if line_end == -1:
            line_end = len(self.source)
        text = self.source[line_start:line_end]
        width = max(1, min(self.end, line_end) - self.start)
        pad = "".join("\t" if c == "\t" else " " for c in text[: self.start - line_start])
        return f"    {text}\n    {pad}{'^' * width}"

    def __str__(self) -> str:
        where = f"{self.filename}:" if self.filename else ""
        head = f"{where}{self.line}:{self.column}: {self.kind}: {self.message}"
        if not self.source:
            return head
        return f"{head}\n{self.snippet()}"


class EqlSyntaxError(EqlError):
    kind = "syntax error"


class EqlSemanticError(EqlError):
    kind = "error"
