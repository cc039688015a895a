"""Python source in terminal colours, for the tour, with the standard library only.

The runtime depends on nothing but ``typing-extensions``, so this is a small
``tokenize`` pass rather than Pygments: keywords, strings, comments,
numbers, decorators and the names a ``def`` or ``class`` introduces each get
an ANSI colour; everything else, whitespace included, is copied unchanged.
Source that does not tokenize is returned as it was.
"""

from __future__ import annotations

import io
import keyword
import token
import tokenize

__all__ = ("highlight",)

_RESET = "\x1b[0m"
_KEYWORD = "\x1b[1;34m"  # bold blue
_STRING = "\x1b[32m"  # green
_COMMENT = "\x1b[2;37m"  # dim
_NUMBER = "\x1b[36m"  # cyan
_DEFINED = "\x1b[1;33m"  # bold yellow: the name after def or class
_DECORATOR = "\x1b[35m"  # magenta


def highlight(source: str) -> str:
    r"""``source`` with ANSI colours; unchanged where it cannot be tokenized.

    >>> from osv_idioms._cli.highlight import highlight
    >>> highlight("def f(): return 1  # one") == (
    ...     "\x1b[1;34mdef\x1b[0m \x1b[1;33mf\x1b[0m(): \x1b[1;34mreturn\x1b[0m "
    ...     "\x1b[36m1\x1b[0m  \x1b[2;37m# one\x1b[0m"
    ... )
    True
    >>> highlight("'unterminated")
    "'unterminated"
    """
    lines = source.splitlines(keepends=True)
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return source
    out: list[str] = []
    row, col = 1, 0  # where the text copied so far ends
    previous, previous_colour = "", ""
    for tok in tokens:
        (start_row, start_col), (end_row, end_col) = tok.start, tok.end
        if tok.type == token.ENDMARKER:
            break
        out.append(_between(lines, (row, col), (start_row, start_col)))
        text = _between(lines, (start_row, start_col), (end_row, end_col))
        colour = _colour_of(tok, previous, previous_colour)
        out.append(f"{colour}{text}{_RESET}" if colour and text else text)
        row, col = end_row, end_col
        if tok.type not in (token.NL, token.NEWLINE, token.INDENT, token.DEDENT):
            previous, previous_colour = tok.string, colour
    out.append(_between(lines, (row, col), (len(lines) + 1, 0)))
    return "".join(out)


def _colour_of(tok: tokenize.TokenInfo, previous: str, previous_colour: str) -> str:
    if tok.type == token.NAME:
        if previous in ("def", "class"):
            return _DEFINED
        if keyword.iskeyword(tok.string):  # not the soft ones: type() is a call
            return _KEYWORD
        return _DECORATOR if previous == "@" and previous_colour == _DECORATOR else ""
    if tok.type == token.OP and tok.string == "@" and not tok.line[: tok.start[1]].strip():
        return _DECORATOR  # an @ opening its line; a matrix product stays plain
    return _COLOURS.get(tok.type, "")


_COLOURS = {token.STRING: _STRING, token.COMMENT: _COMMENT, token.NUMBER: _NUMBER}


def _between(lines: list[str], start: tuple[int, int], end: tuple[int, int]) -> str:
    """The source text from ``start`` to ``end`` (rows from 1, as tokenize counts)."""
    (start_row, start_col), (end_row, end_col) = start, end
    if (start_row, start_col) >= (end_row, end_col):
        return ""
    if start_row == end_row:
        return lines[start_row - 1][start_col:end_col] if start_row <= len(lines) else ""
    parts = [lines[start_row - 1][start_col:]] if start_row <= len(lines) else []
    parts.extend(lines[start_row : min(end_row - 1, len(lines))])
    if end_row <= len(lines):
        parts.append(lines[end_row - 1][:end_col])
    return "".join(parts)
