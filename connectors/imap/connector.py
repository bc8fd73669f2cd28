"""The IMAP connector: one stream per folder (``mail:INBOX``, the Sent folder, and any
folders the account names), read incrementally with a per-folder cursor.

How one ``read`` goes:

1. EXAMINE the folder (read-only, so nothing is ever marked read) and fix the upper bound:
   UIDNEXT as it is now. Mail that arrives during the run waits for the next run, and no
   checkpoint ever claims a UID at or above that bound.
2. UIDVALIDITY differs from the cursor's: :class:`CursorInvalidated`, the hub resyncs.
3. Changes to the messages we already hold. With CONDSTORE, only if HIGHESTMODSEQ moved:
   ``UID FETCH lo:hi (FLAGS) (CHANGEDSINCE m VANISHED)`` in windows of known UIDs (the
   VANISHED part with QRESYNC; without it deletions come from a ``UID SEARCH`` diff).
   Without CONDSTORE: every chunk's flags are re-read and compared by digest, and UIDs the
   server no longer returns are deletions (see :mod:`connectors.imap.cursor`).
4. New messages: the UIDs from the cursor's ``uidnext`` up to the bound, searched
   compactly and fetched in ascending batches (``BODY.PEEK[]``; headers only above
   ``size_limit``), with a checkpoint after each batch. The next batches' FETCHes are
   sent before a batch is handed on, so the server and the hub work at the same time.

Memory stays bounded by one batch (and at most ``FETCH_BYTES`` of bodies per FETCH)
whatever the mailbox size: UID sets are kept as ranges and searched with ESEARCH where
the server has it. The item shapes are described in :mod:`connectors.imap.items`.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any

from connectors.imap.cursor import FlagSum, FolderCursor, flags_digest
from connectors.imap.items import deleted_item, flag_list, flags_item, message_item
from connectors.imap.session import Endpoint, FolderInfo, ImapSession, translate_errors
from connectors.imap.uidset import UidSet
from hub.sync.protocol import Checkpoint, CursorInvalidated, Item, SourceError

MB = 1024 * 1024
#: Bodies asked for in one FETCH add up to at most this (a single larger message alone).
FETCH_BYTES = 32 * MB
#: What one batch (stored whole, then a checkpoint) holds at most, by the sizes known.
BATCH_BYTES = 2 * FETCH_BYTES
#: Known UIDs covered by one CHANGEDSINCE FETCH, so a mass flag change answers in parts.
CHANGE_WINDOW = 5000
#: Batches whose larger messages one SEARCH finds; their sizes are all held at once.
SIZE_WINDOW = 20
#: Messages up to this size are fetched without asking for their size first.
SMALL = 64 * 1024
#: FETCH commands kept on their way ahead of the one being read.
AHEAD = 2
#: UIDs one plain SEARCH spans where ESEARCH is missing: imaplib refuses lines over 1 MB.
PLAIN_SEARCH_SPAN = 50_000
#: Seconds a pass goes without a checkpoint at most: each one renews the account's lease,
#: so that a long pass over unchanged mail is not taken for a dead sync.
KEEPALIVE = 60.0
#: Tried in order when no folder carries the \Sent attribute (RFC 6154).
SENT_NAMES = ("Sent", "Sent Items", "Sent Messages", "Sent Mail", "Lähetetyt",
              "Lähetetyt viestit", "Skickat", "Gesendet")
STREAM_PREFIX = "mail:"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_BODY = ["BODY.PEEK[]", "RFC822.SIZE", "FLAGS", "INTERNALDATE"]
_HEADER = ["BODY.PEEK[HEADER]", "RFC822.SIZE", "FLAGS", "INTERNALDATE"]


class ImapConnector:
    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        password: str,
        security: str = "tls",
        folders: list[str] | None = None,
        size_limit: int = 25 * MB,
        batch_size: int = 200,
        since: date | None = None,
        allow_plain_remote: bool = False,
        timeout: float = 60,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be positive")
        self.endpoint = Endpoint(host=host, port=port, username=username, password=password,
                                 security=security, allow_plain_remote=allow_plain_remote,
                                 timeout=timeout)
        self.folders = list(folders or [])
        self.size_limit = size_limit
        self.batch_size = batch_size
        self.since = since
        # One connection reads every folder of a sync: servers limit connections per user,
        # and each login costs a round of authentication. The folder list comes over a
        # short connection of its own: after a LIST, Dovecot opens a large Maildir folder
        # in the same session some fifty times slower (0.1 s at 100,000 messages).
        self._open: ImapSession | None = None

    def check(self) -> None:
        ImapSession.open(self.endpoint).close()

    def close(self) -> None:
        """Log out; the next call connects again."""
        session, self._open = self._open, None
        if session is not None:
            session.close()

    def _session(self) -> ImapSession:
        if self._open is None:
            self._open = ImapSession.open(self.endpoint)
        return self._open

    def streams(self) -> list[str]:
        lister = ImapSession.open(self.endpoint)
        try:
            listed = lister.folders()
        finally:
            lister.close()
        names = ["INBOX"]
        sent = pick_sent_folder(listed)
        for name in ([sent] if sent else []) + self.folders:
            if name not in names:
                names.append(name)
        return [STREAM_PREFIX + name for name in names]

    def read(self, stream: str, cursor: Mapping[str, Any] | None) -> Iterator[Item | Checkpoint]:
        if not stream.startswith(STREAM_PREFIX) or stream == STREAM_PREFIX:
            raise SourceError(f"not an IMAP stream: {stream!r}")
        folder = stream[len(STREAM_PREFIX):]
        state = FolderCursor.from_dict(stream, cursor) if cursor else None
        session = self._session()
        finished = False
        try:
            with translate_errors(self.endpoint, f"syncing the folder {folder!r}"):
                yield from _FolderSync(self, session, stream, folder, state).run()
            finished = True
        finally:
            if not finished:
                # Broken, or left mid-way with a FETCH still unanswered: not reusable.
                self.close()


def pick_sent_folder(folders: Iterable[tuple[frozenset[str], str]]) -> str | None:
    """The folder the server marks \\Sent, else the first common name that exists."""
    listed = list(folders)
    for flags, name in listed:
        if "\\SENT" in flags:
            return name
    by_name = {name.casefold(): name for _flags, name in listed}
    for candidate in SENT_NAMES:
        for name in (candidate, f"INBOX.{candidate}", f"INBOX/{candidate}"):
            if name.casefold() in by_name:
                return by_name[name.casefold()]
    return None


def imap_date(day: date) -> str:
    # strftime's %b follows the locale; IMAP wants the English month.
    return f"{day.day:02d}-{_MONTHS[day.month - 1]}-{day.year:04d}"


class _FolderSync:
    def __init__(self, conn: ImapConnector, session: ImapSession, stream: str, folder: str,
                 state: FolderCursor | None) -> None:
        self.conn = conn
        self.session = session
        self.stream = stream
        self.folder = folder
        self.state = state
        self.seen_at = datetime.now(UTC)
        self._checkpointed = time.monotonic()

    def run(self) -> Iterator[Item | Checkpoint]:
        info = self.session.examine(self.folder)
        condstore = info.highestmodseq is not None
        state = self.state
        if state is None:
            state = self.state = FolderCursor(uidvalidity=info.uidvalidity)
        elif state.uidvalidity != info.uidvalidity:
            raise CursorInvalidated(
                self.stream, f"UIDVALIDITY of {self.folder!r} changed from "
                f"{state.uidvalidity} to {info.uidvalidity}; every UID must be read again")
        elif condstore and state.highestmodseq is not None:
            yield from self._condstore_changes(state, info)
        else:
            yield from self._digest_changes(state)
        # Everything after the EXAMINE's HIGHESTMODSEQ is either fetched below (new
        # messages, flags as of the fetch) or reported next time.
        state.highestmodseq = info.highestmodseq
        if condstore:
            state.flagsums = None
        elif state.flagsums is None:
            state.flagsums = []
        yield from self._new_messages(state, info)
        state.uidnext = max(state.uidnext, info.uidnext)
        yield self._checkpoint()

    def _checkpoint(self) -> Checkpoint:
        assert self.state is not None
        self._checkpointed = time.monotonic()
        return Checkpoint(self.stream, self.state.to_dict())

    # -- changes to what we hold --------------------------------------------------------

    def _condstore_changes(
        self, state: FolderCursor, info: FolderInfo
    ) -> Iterator[Item | Checkpoint]:
        if info.highestmodseq == state.highestmodseq or not state.uids:
            return
        modifiers = [f"CHANGEDSINCE {state.highestmodseq}"]
        if self.session.qresync:
            modifiers.append("VANISHED")
        for lo, hi in [(c.min, c.max) for c in state.uids.chunks(CHANGE_WINDOW)]:
            fetched, vanished = self.session.fetch(f"{lo}:{hi}", ["FLAGS"], modifiers)
            known = state.uids.between(lo, hi)
            if self.session.qresync:
                gone = known.intersection(vanished)
            else:
                gone = known.difference(self.session.search(["UID", f"{lo}:{hi}"]))
            yield from self._deleted(state, gone)
            for uid in sorted(fetched):
                if uid in known and uid not in gone:
                    yield flags_item(self.stream, self.folder, state.uidvalidity, uid,
                                     flag_list(fetched[uid]), self.seen_at)
            yield self._checkpoint()

    def _digest_changes(self, state: FolderCursor) -> Iterator[Item | Checkpoint]:
        if state.flagsums is None:
            # No digests yet (the cursor came from a CONDSTORE run): one full pass.
            state.flagsums = [FlagSum(c.min, c.max, "") for c in
                              state.uids.chunks(self.conn.batch_size)]
        for chunk in list(state.flagsums):
            known = state.uids.between(chunk.lo, chunk.hi)
            if not known:
                state.flagsums.remove(chunk)
                continue
            fetched, _ = self.session.fetch(str(known), ["FLAGS"])
            present = {uid: flag_list(data) for uid, data in fetched.items() if uid in known}
            gone = known.difference(UidSet.of(present))
            yield from self._deleted(state, gone)
            digest = flags_digest(present.items())
            if digest != chunk.digest:
                for uid in sorted(present):
                    yield flags_item(self.stream, self.folder, state.uidvalidity, uid,
                                     present[uid], self.seen_at)
                chunk.digest = digest
            elif not gone and time.monotonic() - self._checkpointed < KEEPALIVE:
                continue  # an unchanged chunk needs no checkpoint of its own
            if not present:
                state.flagsums.remove(chunk)
            yield self._checkpoint()

    def _deleted(self, state: FolderCursor, gone: UidSet) -> Iterator[Item]:
        for uid in gone:
            state.uids.discard(uid)
            yield deleted_item(self.stream, self.folder, state.uidvalidity, uid, self.seen_at)

    # -- new messages -------------------------------------------------------------------

    def _new_messages(
        self, state: FolderCursor, info: FolderInfo
    ) -> Iterator[Item | Checkpoint]:
        bound = info.uidnext - 1
        start = state.uidnext
        span = None if "ESEARCH" in self.session.capabilities else PLAIN_SEARCH_SPAN
        since = ["SINCE", imap_date(self.conn.since)] if self.conn.since else []
        while start <= bound:
            end = bound if span is None else min(bound, start + span - 1)
            found = self.session.search(["UID", f"{start}:{end}", *since])
            # Only what was asked for: a stray answer must not move the cursor past the bound.
            found = found.between(start, end)
            for window in found.chunks(self.conn.batch_size * SIZE_WINDOW):
                yield from self._fetch_window(state, window)
            state.uidnext = end + 1
            start = end + 1

    def _fetch_window(self, state: FolderCursor, window: UidSet) -> Iterator[Item | Checkpoint]:
        """The messages of a window of new UIDs, batch by batch with a checkpoint after
        each. The FETCHes of the next batches' bodies go out before this batch is handed
        on, so the server reads them while the hub stores this one (:data:`AHEAD`
        commands ahead: with one, the server idled whenever a batch took it longer).

        What a FETCH may bring is bounded by size, and sizes are asked for only where
        they matter: one SEARCH finds the window's messages above :data:`SMALL` (most
        mail is below it, and a batch of those cannot exceed FETCH_BYTES), and only
        theirs are fetched. Reading every message's size cost a fifth of a sync."""
        small = min(SMALL, self.conn.size_limit)
        # By range, not by the window's own UIDs: a UID set can outgrow a command line.
        bigger = self.session.search(["UID", f"{window.min}:{window.max}", "LARGER",
                                      str(small)]).intersection(window)
        sizes: dict[int, int] = {}
        for chunk in bigger.chunks(self.conn.batch_size):
            fetched, _ = self.session.fetch(str(chunk), ["RFC822.SIZE"])
            sizes |= {uid: int(a.get(b"RFC822.SIZE", 0)) for uid, a in fetched.items()
                      if uid in chunk}
        plan = [(batch, self._commands(batch, sizes, small))
                for batch in self._batches(window, sizes, small)]
        queue = deque(command for _, commands in plan for command in commands)
        sent: deque[bytes] = deque()  # tags of the FETCHes on the wire, in plan order

        def send_next() -> None:
            if queue:
                uids, headers_only = queue.popleft()
                sent.append(self.session.send_fetch(str(UidSet.of(uids)),
                                                    _HEADER if headers_only else _BODY))

        for _ in range(AHEAD):
            send_next()
        for batch, commands in plan:
            flags: list[tuple[int, list[str]]] = []
            items: list[Item] = []
            for uids, headers_only in commands:
                fetched = self.session.finish_fetch(sent.popleft(), set(uids))
                send_next()
                body = b"BODY[HEADER]" if headers_only else b"BODY[]"
                for uid in uids:
                    answer = fetched.get(uid)
                    if answer is None or body not in answer:
                        # Expunged since the search (what came was at most an unsolicited
                        # flag change): never held, nothing to report.
                        continue
                    if answer[body] is None:
                        raise SourceError(
                            f"the server sent no content for message {uid} in {self.folder!r}"
                            "; the next sync asks for it again (if this repeats, check the "
                            "message on the server)", retryable=True)
                    item = message_item(self.stream, self.folder, state.uidvalidity, uid,
                                        answer, headers_only=headers_only)
                    state.uids.add(uid)
                    flags.append((uid, item.data["flags"]))
                    items.append(item)
                del fetched
            if state.flagsums is not None and flags:
                state.flagsums.append(FlagSum(batch.min, batch.max, flags_digest(flags)))
            yield from items
            state.uidnext = batch.max + 1
            yield self._checkpoint()

    def _batches(self, window: UidSet, sizes: Mapping[int, int],
                 small_size: int) -> Iterator[UidSet]:
        """The window in batches of at most ``batch_size`` messages and, past the first
        message, BATCH_BYTES: a batch is held whole until its checkpoint."""
        for batch in window.chunks(self.conn.batch_size):
            if not sizes:
                yield batch  # all small: a batch of them stays far below the bound
                continue
            sized = []
            for uid in batch:
                size = sizes.get(uid, small_size)
                # Above the size limit only the headers are fetched: it counts as small.
                sized.append((uid, small_size if size > self.conn.size_limit else size))
            for group in _by_bytes(sized, BATCH_BYTES):
                yield UidSet.of(group)

    def _commands(self, batch: UidSet, sizes: Mapping[int, int],
                  small_size: int) -> list[tuple[list[int], bool]]:
        """The FETCHes of one batch: bodies in groups of at most FETCH_BYTES, headers
        only above the size limit. ``sizes`` holds the sizes of the messages above
        ``small_size``; every other one counts as that large."""
        small: list[tuple[int, int]] = []
        large: list[int] = []
        for uid in batch:
            size = sizes.get(uid, small_size)
            if size > self.conn.size_limit:
                large.append(uid)
            else:
                small.append((uid, size))
        commands = [(group, False) for group in _by_bytes(small, FETCH_BYTES)]
        commands += [(large[i:i + self.conn.batch_size], True)
                     for i in range(0, len(large), self.conn.batch_size)]
        return commands


def _by_bytes(sized: list[tuple[int, int]], budget: int) -> Iterator[list[int]]:
    group: list[int] = []
    total = 0
    for uid, size in sized:
        if group and total + size > budget:
            yield group
            group, total = [], 0
        group.append(uid)
        total += size
    if group:
        yield group
