"""The local-folder connector on real directory trees: the first index, rescans after every
kind of change (exact items, nothing more), resuming an interrupted walk without
duplicates, symlinks that must not be followed, and a 50,000-entry tree in bounded memory."""

from __future__ import annotations

import os
import shutil
import time
import tracemalloc
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from connectors.local import LocalFolderConnector
from hub.sync.protocol import Checkpoint, Connector, CursorInvalidated, Item, SourceError
from tests.connectors.webdav_fixtures import entries

# A fixed past time for every entry of a fresh tree: Linux stamps mtimes from a coarse
# clock, so a change made right after creating the tree could otherwise keep its mtime.
SETTLED_NS = 1_700_000_000_123_456_789

TREE = {
    "1001 Oy Esimerkki Ab/Kirjanpito/2025/tosite ä.pdf": b"tosite",
    "1001 Oy Esimerkki Ab/Tilinpäätös/2025/tase.pdf": b"tase 2025",
    "1001 Oy Esimerkki Ab/Asiakkaan aineisto/Kuitit – kesäkuu.pdf": b"kuitit",
    "2002 Äänekosken Öljy Oy/muistio.txt": b"muistio",
}
EMPTY_FOLDERS = ["1001 Oy Esimerkki Ab/Verottaja"]


def build(root: Path, files: Mapping[str, bytes], folders: list[str] | None = None) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    for rel in folders or []:
        (root / rel).mkdir(parents=True, exist_ok=True)
    settle(root)


def settle(root: Path) -> None:
    for dirpath, dirnames, filenames in os.walk(root, topdown=False):
        for name in filenames + dirnames:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                os.utime(path, ns=(SETTLED_NS, SETTLED_NS))


def run(connector: LocalFolderConnector, cursor: Mapping[str, Any] | None = None
        ) -> tuple[list[Item], Mapping[str, Any]]:
    items: list[Item] = []
    last: Mapping[str, Any] | None = None
    for element in connector.read("drive", cursor):
        if isinstance(element, Checkpoint):
            last = element.cursor
        else:
            items.append(element)
    assert last is not None and last["pending"] == []
    return items, last


def listed(items: list[Item]) -> list[str]:
    """The folders the connector yielded a listing of."""
    assert all(i.kind == "listing" and i.external_id == "/" + i.data["folder"] for i in items)
    return sorted(i.data["folder"] for i in items)


def all_ids(files: Mapping[str, bytes], folders: list[str]) -> set[str]:
    ids = set(files)
    for rel in [*files, *(f"{f}/x" for f in folders)]:
        parts = rel.split("/")[:-1]
        ids |= {"/".join(parts[:n]) + "/" for n in range(1, len(parts) + 1)}
    return ids


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Mapping[str, Any]]:
    """A settled client tree and the cursor of its first full index."""
    root = tmp_path / "asiakkaat"
    build(root, TREE, EMPTY_FOLDERS)
    _, cursor = run(LocalFolderConnector(root))
    return root, cursor


def test_is_a_connector_with_one_stream(tmp_path: Path) -> None:
    connector = LocalFolderConnector(tmp_path)
    assert isinstance(connector, Connector)
    assert list(connector.streams()) == ["drive"]


def test_first_index_lists_every_file_and_folder(tmp_path: Path) -> None:
    root = tmp_path / "asiakkaat"
    build(root, TREE, EMPTY_FOLDERS)
    items, _ = run(LocalFolderConnector(root))
    everything = all_ids(TREE, EMPTY_FOLDERS)
    # One listing per folder, the drive root's included, and nothing else.
    assert listed(items) == sorted({""} | {p for p in everything if p.endswith("/")})
    assert set(entries(items)) == everything
    assert all(i.occurred_at.tzinfo is not None for i in items)

    receipt = entries(items)["1001 Oy Esimerkki Ab/Asiakkaan aineisto/Kuitit – kesäkuu.pdf"]
    info = os.stat(root / "1001 Oy Esimerkki Ab/Asiakkaan aineisto/Kuitit – kesäkuu.pdf")
    assert receipt == {"name": "Kuitit – kesäkuu.pdf", "size": 6,
                       "mtime": SETTLED_NS // 1000, "inode": info.st_ino}
    folder = entries(items)["1001 Oy Esimerkki Ab/Tilinpäätös/"]
    assert folder == {"name": "Tilinpäätös", "mtime": SETTLED_NS // 1000,
                      "inode": os.stat(root / "1001 Oy Esimerkki Ab/Tilinpäätös").st_ino}
    # A listing names its children in name order.
    top = next(i for i in items if i.data["folder"] == "1001 Oy Esimerkki Ab/")
    names = [f["name"] for f in top.data["folders"]]
    assert names == sorted(names) and "Verottaja" in names


def test_rescan_without_changes_yields_nothing(tree: tuple[Path, Mapping[str, Any]]) -> None:
    root, cursor = tree
    items, again = run(LocalFolderConnector(root), cursor)
    assert items == []
    assert again["dirs"] == cursor["dirs"]


def test_rescan_after_adding_a_file(tree: tuple[Path, Mapping[str, Any]]) -> None:
    root, cursor = tree
    (root / "2002 Äänekosken Öljy Oy" / "lasku.pdf").write_bytes(b"lasku")
    items, _ = run(LocalFolderConnector(root), cursor)
    assert listed(items) == ["2002 Äänekosken Öljy Oy/"]
    assert set(entries(items)) == {"2002 Äänekosken Öljy Oy/lasku.pdf",
                                    "2002 Äänekosken Öljy Oy/muistio.txt"}


def test_rescan_after_adding_a_folder_tree(tree: tuple[Path, Mapping[str, Any]]) -> None:
    root, cursor = tree
    (root / "3003 Uusi Oy" / "Sopimukset").mkdir(parents=True)
    (root / "3003 Uusi Oy" / "Sopimukset" / "sopimus.pdf").write_bytes(b"s")
    items, _ = run(LocalFolderConnector(root), cursor)
    assert listed(items) == ["", "3003 Uusi Oy/", "3003 Uusi Oy/Sopimukset/"]
    assert "3003 Uusi Oy/Sopimukset/sopimus.pdf" in entries(items)


def test_rescan_after_changing_a_file_deep_down(tree: tuple[Path, Mapping[str, Any]]) -> None:
    root, cursor = tree
    path = root / "1001 Oy Esimerkki Ab/Kirjanpito/2025/tosite ä.pdf"
    path.write_bytes(b"tosite, korjattu")  # in place: the folders' mtimes stay
    items, _ = run(LocalFolderConnector(root), cursor)
    assert listed(items) == ["1001 Oy Esimerkki Ab/Kirjanpito/2025/"]
    assert entries(items)["1001 Oy Esimerkki Ab/Kirjanpito/2025/tosite ä.pdf"]["size"] == len(
        b"tosite, korjattu")


def test_same_size_rewrite_is_seen_by_its_mtime(tree: tuple[Path, Mapping[str, Any]]) -> None:
    root, cursor = tree
    path = root / "2002 Äänekosken Öljy Oy/muistio.txt"
    path.write_bytes(b"MUISTIO")
    os.utime(path, ns=(SETTLED_NS + 10**9, SETTLED_NS + 10**9))
    items, _ = run(LocalFolderConnector(root), cursor)
    assert listed(items) == ["2002 Äänekosken Öljy Oy/"]
    assert entries(items)["2002 Äänekosken Öljy Oy/muistio.txt"]["mtime"] == (
        SETTLED_NS + 10**9) // 1000


def test_rescan_after_moving_a_file_keeps_its_inode(
        tree: tuple[Path, Mapping[str, Any]]) -> None:
    root, cursor = tree
    source = root / "1001 Oy Esimerkki Ab/Asiakkaan aineisto/Kuitit – kesäkuu.pdf"
    inode = source.stat().st_ino
    source.rename(root / "1001 Oy Esimerkki Ab/Verottaja/Kuitit – kesäkuu.pdf")
    items, _ = run(LocalFolderConnector(root), cursor)
    assert listed(items) == ["1001 Oy Esimerkki Ab/Asiakkaan aineisto/",
                             "1001 Oy Esimerkki Ab/Verottaja/"]
    assert entries(items) == {"1001 Oy Esimerkki Ab/Verottaja/Kuitit – kesäkuu.pdf": {
        "name": "Kuitit – kesäkuu.pdf", "size": 6, "mtime": SETTLED_NS // 1000,
        "inode": inode}}


def test_rescan_after_renaming_a_folder(tree: tuple[Path, Mapping[str, Any]]) -> None:
    root, cursor = tree
    client = root / "1001 Oy Esimerkki Ab"
    inode = (client / "Tilinpäätös").stat().st_ino
    (client / "Tilinpäätös").rename(client / "Tilinpaatos")
    items, after = run(LocalFolderConnector(root), cursor)
    assert listed(items) == ["1001 Oy Esimerkki Ab/", "1001 Oy Esimerkki Ab/Tilinpaatos/",
                             "1001 Oy Esimerkki Ab/Tilinpaatos/2025/"]
    found = entries(items)
    assert found["1001 Oy Esimerkki Ab/Tilinpaatos/"]["inode"] == inode
    assert "1001 Oy Esimerkki Ab/Tilinpäätös/" not in found
    assert "1001 Oy Esimerkki Ab/Tilinpaatos/2025/tase.pdf" in found
    # The vanished subtree is forgotten, not kept in the cursor for ever.
    assert not any("Tilinpäätös" in key for key in after["dirs"])
    assert run(LocalFolderConnector(root), after)[0] == []


def test_rescan_after_removing_files_and_folders(
        tree: tuple[Path, Mapping[str, Any]]) -> None:
    root, cursor = tree
    shutil.rmtree(root / "1001 Oy Esimerkki Ab/Kirjanpito")
    (root / "2002 Äänekosken Öljy Oy/muistio.txt").unlink()
    items, _ = run(LocalFolderConnector(root), cursor)
    # The parents' listings say what is gone: no item for each thing removed.
    assert listed(items) == ["1001 Oy Esimerkki Ab/", "2002 Äänekosken Öljy Oy/"]
    found = entries(items)
    assert "1001 Oy Esimerkki Ab/Kirjanpito/" not in found
    assert not [p for p in found if p.startswith("2002")]


def test_a_file_replaced_by_a_folder_of_the_same_name(
        tree: tuple[Path, Mapping[str, Any]]) -> None:
    root, cursor = tree
    path = root / "2002 Äänekosken Öljy Oy/muistio.txt"
    path.unlink()
    path.mkdir()
    items, _ = run(LocalFolderConnector(root), cursor)
    assert listed(items) == ["2002 Äänekosken Öljy Oy/", "2002 Äänekosken Öljy Oy/muistio.txt/"]
    assert set(entries(items)) == {"2002 Äänekosken Öljy Oy/muistio.txt/"}


def test_an_unreadable_folder_is_not_reported_deleted(
        tree: tuple[Path, Mapping[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    root, cursor = tree
    blocked = os.fspath(root / "1001 Oy Esimerkki Ab/Kirjanpito")
    real = os.scandir

    def scandir(path: Any) -> Any:
        if os.fspath(path) == blocked:
            raise PermissionError(13, "Permission denied", blocked)
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    items, after = run(LocalFolderConnector(root), cursor)
    assert items == []
    assert after["dirs"] == cursor["dirs"]


def collect_until_interrupted(connector: LocalFolderConnector, cursor: Mapping[str, Any] | None,
                              checkpoints: int) -> tuple[list[Item], Mapping[str, Any]]:
    """What a runner has stored when the process dies at the first item after at least
    ``checkpoints`` checkpoints: the items the last checkpoint covers, and its cursor."""
    stored: list[Item] = []
    batch: list[Item] = []
    seen = 0
    last: Mapping[str, Any] | None = None
    for element in connector.read("drive", cursor):
        if isinstance(element, Checkpoint):
            stored += batch
            batch, last = [], element.cursor
            seen += 1
        else:
            batch.append(element)
            if seen >= checkpoints:
                break  # killed mid-batch: this item was never stored
    assert last is not None and last["pending"], "the walk ended before the interruption"
    return stored, last


@pytest.mark.parametrize("checkpoints", [1, 3, 6])
def test_an_interrupted_first_index_resumes_without_duplicates(
        tmp_path: Path, checkpoints: int) -> None:
    root = tmp_path / "asiakkaat"
    files = {f"{c} Asiakas {c} Oy/{part}/{year}/tosite {n}.pdf": b"x"
             for c in range(1001, 1004) for part in ("Kirjanpito", "Tilinpäätös")
             for year in (2024, 2025) for n in range(3)}
    build(root, files)
    connector = LocalFolderConnector(root, checkpoint_every=2)
    full, _ = run(connector)

    stored, cursor = collect_until_interrupted(connector, None, checkpoints)
    resumed, _ = run(connector, cursor)
    ids = [i.external_id for i in stored + resumed]
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(i.external_id for i in full)
    assert entries(stored + resumed) == entries(full)


@pytest.mark.parametrize("checkpoints", [1, 2])
def test_an_interrupted_rescan_resumes_without_duplicates(
        tree: tuple[Path, Mapping[str, Any]], checkpoints: int) -> None:
    root, cursor = tree
    client = root / "1001 Oy Esimerkki Ab"
    (client / "Kirjanpito/2025/tosite ä.pdf").rename(client / "Verottaja/tosite ä.pdf")
    shutil.rmtree(client / "Tilinpäätös")
    (root / "2002 Äänekosken Öljy Oy/uusi.txt").write_bytes(b"uusi")
    connector = LocalFolderConnector(root, checkpoint_every=1)
    expected = listed(run(connector, cursor)[0])

    stored, resume_from = collect_until_interrupted(connector, cursor, checkpoints)
    resumed, final = run(connector, resume_from)
    assert sorted(listed(stored) + listed(resumed)) == expected
    assert run(connector, final)[0] == []


def test_symlinks_are_never_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    build(outside, {"salainen.txt": b"not a client's", "kansio/toinen.txt": b"x"})
    root = tmp_path / "asiakkaat"
    build(root, {"1001 Oy Esimerkki Ab/tosite.pdf": b"t"})
    (root / "ulos").symlink_to(outside, target_is_directory=True)
    (root / "1001 Oy Esimerkki Ab/salainen.txt").symlink_to(outside / "salainen.txt")
    (root / "1001 Oy Esimerkki Ab/ylös").symlink_to(root, target_is_directory=True)
    (root / "1001 Oy Esimerkki Ab/sama.pdf").symlink_to(root / "1001 Oy Esimerkki Ab/tosite.pdf")
    items, _ = run(LocalFolderConnector(root))
    assert listed(items) == ["", "1001 Oy Esimerkki Ab/"]
    assert set(entries(items)) == {"1001 Oy Esimerkki Ab/", "1001 Oy Esimerkki Ab/tosite.pdf"}


def test_check_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist; check the path"):
        LocalFolderConnector(tmp_path / "missing").check()
    (tmp_path / "file.txt").write_bytes(b"")
    with pytest.raises(SourceError, match="is a file, not a folder"):
        LocalFolderConnector(tmp_path / "file.txt").check()
    LocalFolderConnector(tmp_path).check()


def test_a_cursor_of_another_version_is_invalidated(tmp_path: Path) -> None:
    with pytest.raises(CursorInvalidated):
        list(LocalFolderConnector(tmp_path).read("drive", {"version": 0, "dirs": {}}))


def test_a_big_tree_is_indexed_in_bounded_memory(tmp_path: Path) -> None:
    root = tmp_path / "iso"
    # 50 clients x 4 folders x 12 years-ish subfolders x 20 files = 48,000 files, plus the
    # 2,650 folders above them: about 50,000 entries.
    for client in range(50):
        for part in ("Kirjanpito", "Tilinpäätös", "Palkanlaskenta", "Verottaja"):
            for year in range(12):
                folder = root / f"{1000 + client} Asiakas Oy" / part / str(2014 + year)
                folder.mkdir(parents=True)
                for n in range(20):
                    (folder / f"tosite-{n:03d}-päivä.pdf").touch()
    connector = LocalFolderConnector(root)

    tracemalloc.start()
    started = time.perf_counter()
    count = folders = 0
    cursor: Mapping[str, Any] | None = None
    for element in connector.read("drive", None):
        if isinstance(element, Checkpoint):
            cursor = element.cursor
        else:  # a runner stores and drops items batch by batch; so do we
            folders += 1
            count += len(element.data["files"]) + len(element.data["folders"])
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert count == 50 * (1 + 4 * (1 + 12 * (1 + 20)))
    assert folders == 1 + 50 * (1 + 4 * (1 + 12))
    assert peak < 30 * 2**20, f"peak {peak / 2**20:.1f} MB"
    assert elapsed < 60, f"{elapsed:.1f} s"
    assert cursor is not None
    started = time.perf_counter()
    assert run(connector, cursor)[0] == []
    assert time.perf_counter() - started < 30


def test_a_folder_swapped_for_a_link_after_listing_is_not_entered(
        tree: tuple[Path, Mapping[str, Any]], tmp_path: Path) -> None:
    root, _ = tree
    outside = tmp_path / "outside"
    build(outside, {"salainen.txt": b"x"})
    connector = LocalFolderConnector(root, checkpoint_every=1)
    # Stop after the root was listed, swap a client folder for a link, resume.
    stored, resume_from = collect_until_interrupted(connector, None, 1)
    client = root / "2002 Äänekosken Öljy Oy"
    shutil.rmtree(client)
    client.symlink_to(outside, target_is_directory=True)
    resumed, _ = run(connector, resume_from)
    assert not any("salainen" in path for path in entries(stored + resumed))
