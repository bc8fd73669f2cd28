"""Sets of IMAP UIDs kept as sorted, merged ranges.

A mailbox's UIDs are mostly runs (``1:48210,48212:50007``), so a set of ranges stays a
few bytes where a list of integers would grow with the mailbox; its string form is the
IMAP sequence-set syntax, which the cursor stores and the server reads as is.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator


class UidSet:
    """Mutable; ranges are inclusive, sorted, and never overlap or touch."""

    __slots__ = ("_ranges",)

    def __init__(self, ranges: Iterable[tuple[int, int]] = ()) -> None:
        self._ranges: list[tuple[int, int]] = []
        for lo, hi in ranges:
            self.add_range(lo, hi)

    @classmethod
    def parse(cls, text: str) -> UidSet:
        """Reads ``"1:5,7,9:12"``; raises ValueError on anything else (``*`` included)."""
        out = cls()
        for part in text.replace(" ", "").split(","):
            if not part:
                continue
            lo_text, _, hi_text = part.partition(":")
            lo, hi = int(lo_text), int(hi_text or lo_text)
            if lo < 1 or hi < 1:
                raise ValueError(f"not a UID: {part!r}")
            out.add_range(min(lo, hi), max(lo, hi))
        return out

    @classmethod
    def of(cls, uids: Iterable[int]) -> UidSet:
        out = cls()
        for uid in sorted(uids):
            out.add(uid)
        return out

    def __str__(self) -> str:
        return ",".join(str(lo) if lo == hi else f"{lo}:{hi}" for lo, hi in self._ranges)

    def __repr__(self) -> str:
        return f"UidSet({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UidSet) and self._ranges == other._ranges

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __bool__(self) -> bool:
        return bool(self._ranges)

    def __len__(self) -> int:
        return sum(hi - lo + 1 for lo, hi in self._ranges)

    def __iter__(self) -> Iterator[int]:
        for lo, hi in self._ranges:
            yield from range(lo, hi + 1)

    def __contains__(self, uid: object) -> bool:
        if not isinstance(uid, int):
            return False
        i = bisect.bisect_right(self._ranges, uid, key=lambda r: r[0]) - 1
        return i >= 0 and self._ranges[i][1] >= uid

    @property
    def ranges(self) -> tuple[tuple[int, int], ...]:
        return tuple(self._ranges)

    @property
    def min(self) -> int:
        return self._ranges[0][0]

    @property
    def max(self) -> int:
        return self._ranges[-1][1]

    def copy(self) -> UidSet:
        out = UidSet()
        out._ranges = list(self._ranges)
        return out

    def add(self, uid: int) -> None:
        self.add_range(uid, uid)

    def add_range(self, lo: int, hi: int) -> None:
        if lo > hi:
            raise ValueError(f"empty range {lo}:{hi}")
        ranges = self._ranges
        # UIDs mostly arrive in ascending order: extend or append at the end.
        if not ranges or lo > ranges[-1][1] + 1:
            ranges.append((lo, hi))
            return
        first, last = ranges[-1]
        if lo >= first:
            if hi > last:
                ranges[-1] = (first, hi)
            return
        start = bisect.bisect_left(ranges, lo - 1, key=lambda r: r[1])
        end = bisect.bisect_right(ranges, hi + 1, key=lambda r: r[0])
        if start < end:
            lo = min(lo, ranges[start][0])
            hi = max(hi, ranges[end - 1][1])
        ranges[start:end] = [(lo, hi)]

    def discard(self, uid: int) -> None:
        i = bisect.bisect_right(self._ranges, uid, key=lambda r: r[0]) - 1
        if i < 0 or self._ranges[i][1] < uid:
            return
        lo, hi = self._ranges[i]
        pieces = [(a, b) for a, b in ((lo, uid - 1), (uid + 1, hi)) if a <= b]
        self._ranges[i : i + 1] = pieces

    def between(self, lo: int, hi: int) -> UidSet:
        """The members from ``lo`` to ``hi`` inclusive."""
        out = UidSet()
        start = bisect.bisect_left(self._ranges, lo, key=lambda r: r[1])
        for a, b in self._ranges[start:]:
            if a > hi:
                break
            out._ranges.append((max(a, lo), min(b, hi)))
        return out

    def difference(self, other: UidSet) -> UidSet:
        out = UidSet()
        theirs = other._ranges
        j = 0
        for lo, hi in self._ranges:
            cur = lo
            while j < len(theirs) and theirs[j][1] < cur:
                j += 1
            k = j
            while k < len(theirs) and theirs[k][0] <= hi:
                a, b = theirs[k]
                if a > cur:
                    out._ranges.append((cur, a - 1))
                cur = max(cur, b + 1)
                if cur > hi:
                    break
                k += 1
            if cur <= hi:
                out._ranges.append((cur, hi))
        return out

    def chunks(self, size: int) -> Iterator[UidSet]:
        """Consecutive subsets of at most ``size`` UIDs each, in ascending order."""
        if size < 1:
            raise ValueError("chunk size must be positive")
        chunk = UidSet()
        room = size
        for lo, hi in self._ranges:
            while lo <= hi:
                take = min(room, hi - lo + 1)
                chunk._ranges.append((lo, lo + take - 1))
                lo += take
                room -= take
                if room == 0:
                    yield chunk
                    chunk, room = UidSet(), size
        if chunk:
            yield chunk

    def intersection(self, other: UidSet) -> UidSet:
        return self.difference(self.difference(other))
