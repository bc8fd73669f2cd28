"""The pre-scan: one linear pass over a message's raw bytes that enforces :class:`Limits`
before the stdlib parser sees them.

The stdlib parser recurses once per nesting level and does per-line work for every open
boundary, so total size, the header block, header line length, MIME nesting depth and part
count are all bounded here, on bytes, where the cost is linear. Whatever a cap cuts off is
appended to the caller's problems. The bound on parameter lists lives here too, and part
reading applies it again to the headers the stdlib hands back.
"""

from __future__ import annotations

import re
from email.message import Message
from email.policy import compat32

from connectors.mail.charsets import unfold
from connectors.mail.model import Limits

__all__ = ["MAX_PARAMS", "MAX_PARAM_HEADER", "cap_header_block", "cap_params", "prescan"]

_BLANK_LINE = re.compile(rb"\n\r?\n")
_FOLDED_VALUE = re.compile(rb"[ \t]*([^\n]*(?:\n[ \t][^\n]*)*)")
# The stdlib re-splits a parameter list on every get_param call, quadratically in the
# number of quotes: hostile lists are cut to this many parameters and bytes.
MAX_PARAMS = 32
MAX_PARAM_HEADER = 8 * 1024
_MAX_MISSES = 64


def cap_params(value: str) -> tuple[str, bool]:
    """The value with empty parameters dropped and the rest bounded; True if that lost any."""
    params: list[str] = []
    for param in unfold(value).split(";"):
        if param.strip():
            params.append(param)
            if len(params) > MAX_PARAMS:
                break
    capped = ";".join(params[:MAX_PARAMS])[:MAX_PARAM_HEADER]
    return capped, len(params) > MAX_PARAMS or len(capped) < len(";".join(params))


def cap_header_block(data: bytes, limits: Limits, problems: list[str]) -> bytes:
    """The data with its header block cut to ``max_header_bytes`` and each header line to
    ``max_header_line_bytes``; the body, if the block ends in time, untouched."""
    if data.startswith((b"\n", b"\r\n")):
        return data
    blank = _BLANK_LINE.search(data, 0, limits.max_header_bytes + 2)
    if blank:
        end = blank.start() + 1
    elif len(data) <= limits.max_header_bytes:
        end = len(data)
    else:
        end = data.rfind(b"\n", 0, limits.max_header_bytes) + 1 or limits.max_header_bytes
        data = data[:end]
        problems.append(f"header block over {limits.max_header_bytes} bytes: body not read")
    cap = limits.max_header_line_bytes
    if end > cap:
        lines = data[:end].split(b"\n")
        if any(len(line) > cap for line in lines):
            problems.append(f"header line over {cap} bytes: cut")
            data = b"\n".join(line[:cap] for line in lines) + data[end:]
    return data


class _Skeleton:
    """One linear pass over the MIME skeleton, following the stdlib feedparser's rules
    closely enough to bound its work: delimiter lines of the open boundaries, the header
    block after each, and the headers of each message/* body. Parts past ``max_parts`` are
    cut off; a container deeper than ``max_depth`` keeps its headers but loses its body."""

    def __init__(self, data: bytes, limits: Limits, problems: list[str]) -> None:
        self.data = data
        self.limits = limits
        self.problems = problems
        self.stack: list[tuple[bytes | None, bool]] = []  # boundary (None: message/*), digest
        self.open: dict[bytes, int] = {}
        self.delimiter: re.Pattern[bytes] | None = None  # lines of the open boundaries
        self.misses = 0  # lines starting with "--" that were no delimiter
        self.edits: list[tuple[int, int, bytes]] = []
        self.skip_from: int | None = None

    def run(self) -> bytes:
        data = self.data
        header: int | None = 0
        after_delimiter = False
        pos = 0
        parts = 1
        while True:
            while header is not None:
                header = self._header_block(header, after_delimiter)
                after_delimiter = False
            if not self.open:
                break  # no boundary left that a later line could match
            found = self._next_delimiter(pos)
            if found is None:
                break
            start, end, level, closing = found
            pos = end
            if self.skip_from is not None:
                self.edits.append((self.skip_from, start - 1, b""))
                self.skip_from = None
            self._pop(level if closing else level + 1)
            if closing:
                continue
            parts += 1
            if parts > self.limits.max_parts:
                self.problems.append(f"more than {self.limits.max_parts} MIME parts: rest cut")
                return self._apply(start)
            if end < len(data):
                header, after_delimiter = end + 1, True
        if self.skip_from is not None:
            self.edits.append((self.skip_from, len(data), b""))
        return self._apply(len(data))

    def _next_delimiter(self, pos: int) -> tuple[int, int, int, bool] | None:
        """The next delimiter line of an open boundary after ``pos``: where it starts and
        ends, the level it belongs to, and whether it closes that level."""
        data = self.data
        while self.misses < _MAX_MISSES:
            newline = data.find(b"\n--", pos)
            if newline < 0:
                return None
            end = data.find(b"\n", newline + 1)
            end = len(data) if end < 0 else end
            line = data[newline + 3 : end].rstrip(b" \t\r")
            if line in self.open:
                return newline + 1, end, self.open[line], False
            if line.endswith(b"--") and line[:-2] in self.open:
                return newline + 1, end, self.open[line[:-2]], True
            self.misses += 1
            pos = end
        # Many lines start with "--" but delimit nothing: one pattern for the open
        # boundaries searches in C, where this loop would double the stdlib's own time.
        if self.delimiter is None:
            names = b"|".join(re.escape(b) for b in sorted(self.open, key=len, reverse=True))
            self.delimiter = re.compile(rb"\n--(" + names + rb")(--)?[ \t\r]*(?=\n|\Z)")
        match = self.delimiter.search(data, pos)
        if match is None:
            return None
        return match.start() + 1, match.end(), self.open[match.group(1)], bool(match.group(2))

    def _pop(self, keep: int) -> None:
        if keep < len(self.stack):
            del self.stack[keep:]
            self.open = {b: i for i, (b, _) in enumerate(self.stack) if b is not None}
            self.delimiter = None

    def _header_block(self, start: int, after_delimiter: bool) -> int | None:
        """Look at the header block at ``start``; the start of the next header block to
        look at (a message/* body) or None."""
        data = self.data
        search_from = start - 1 if start else 0  # from the newline, for the pattern's \n
        limit = min(len(data), start + self.limits.max_header_bytes)
        # Bounded by the next line that could be a delimiter, so that no byte is looked at
        # for more than one header block.
        dash = data.find(b"\n--", search_from, limit)
        if dash >= 0:
            limit = dash
        blank = _BLANK_LINE.search(data, search_from, limit)
        end, body = (blank.start() + 1, blank.end()) if blank else (limit, None)
        # A lower-cased copy of the block finds the header; a case-insensitive pattern
        # would cost more than the rest of this scan together.
        window = data[search_from:end].lower()
        base = search_from
        if start == 0:  # the first line has no newline before it
            window, base = b"\n" + window, -1
        found = window.find(b"\ncontent-type:")
        match = _FOLDED_VALUE.match(data, base + found + 14, end) if found >= 0 else None
        if match:
            kind, boundary, digest = self._classify(match)
        elif after_delimiter and self.stack and self.stack[-1][1]:
            kind, boundary, digest = "message", None, False  # multipart/digest's default
        else:
            return None
        if kind == "leaf":
            return None
        if len(self.stack) >= self.limits.max_depth:
            self.problems.append(f"MIME nesting deeper than {self.limits.max_depth}: not read")
            if self.skip_from is None:
                self.skip_from = end if body is None else body
            return None
        self.stack.append((boundary, digest))
        if boundary is not None:
            self.open[boundary] = len(self.stack) - 1
            self.delimiter = None
            return None
        return body

    def _classify(self, match: re.Match[bytes]) -> tuple[str, bytes | None, bool]:
        value = match.group(1).rstrip(b"\r")
        head = value.lstrip()[:24].lower()
        if head.startswith(b"message/"):
            # The feedparser reads delivery-status as flat header blocks, any other
            # message/* as a whole nested message.
            flat = head.startswith(b"message/delivery-status")
            return ("leaf" if flat else "message"), None, False
        if not head.startswith(b"multipart/"):
            return "leaf", None, False
        text = value.decode("ascii", "surrogateescape")
        if text.count(";") > MAX_PARAMS or len(text) > MAX_PARAM_HEADER:
            text, lost = cap_params(text)
            capped = text.encode("utf-8", "surrogateescape")
            self.edits.append((match.start(1), match.start(1) + len(value), capped))
            if lost:
                self.problems.append(f"Content-Type with over {MAX_PARAMS} parameters: cut")
        probe = Message(policy=compat32)
        probe.set_raw("Content-Type", text)
        boundary = probe.get_boundary()
        if boundary is None:
            return "leaf", None, False  # read to the end as one body: no nesting
        try:
            raw_boundary = boundary.encode("ascii", "surrogateescape")
        except UnicodeEncodeError:
            return "leaf", None, False  # no line can match it
        return "multipart", raw_boundary, probe.get_content_subtype() == "digest"

    def _apply(self, cut: int) -> bytes:
        if not self.edits and cut >= len(self.data):
            return self.data
        pieces: list[bytes] = []
        last = 0
        for begin, end, replacement in sorted(self.edits):
            if begin >= cut:
                break
            if begin < last:
                continue
            pieces += [self.data[last:begin], replacement]
            last = min(end, cut)
        pieces.append(self.data[last:cut])
        return b"".join(pieces)


def prescan(raw: bytes, limits: Limits, problems: list[str]) -> bytes:
    """The bytes to hand the stdlib parser: ``raw`` with every cap of ``limits`` applied."""
    data = raw
    if len(data) > limits.max_total_bytes:
        problems.append(f"message over {limits.max_total_bytes} bytes: cut there")
        data = data[: limits.max_total_bytes]
    if b"\r" in data and data.count(b"\r") != data.count(b"\r\n"):
        # The stdlib ends lines at a bare CR too; the scan below only knows LF.
        problems.append("bare CR line endings read as LF")
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    data = cap_header_block(data, limits, problems)
    return _Skeleton(data, limits, problems).run()
