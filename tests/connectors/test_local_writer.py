"""The local-folder writer never replaces anything - not even an empty folder, which a
plain rename on Linux would silently replace - and says what to do when it refuses."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import connectors.local.writer as writer_module
from connectors.local.writer import LocalFolderWriter
from hub.sync.protocol import SourceError


@pytest.fixture(params=["kernel", "fallback"])
def writer(request: pytest.FixtureRequest, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> LocalFolderWriter:
    if request.param == "fallback":
        monkeypatch.setattr(writer_module, "_KERNEL_RENAME", None)
    (tmp_path / "Asiakas/Kirjanpito").mkdir(parents=True)
    (tmp_path / "Asiakas/lasku.pdf").write_text("1")
    return LocalFolderWriter(tmp_path)


def test_moves_and_creates(writer: LocalFolderWriter, tmp_path: Path) -> None:
    writer.make_folder("Asiakas/Asiakkaan aineisto")
    writer.move("Asiakas/lasku.pdf", "Asiakas/Asiakkaan aineisto/lasku.pdf", False)
    assert (tmp_path / "Asiakas/Asiakkaan aineisto/lasku.pdf").read_text() == "1"
    assert writer.exists("Asiakas/Asiakkaan aineisto/lasku.pdf")
    assert not writer.exists("Asiakas/lasku.pdf") and not writer.exists("Ei/ole")
    assert not writer.is_empty_folder("Asiakas/Asiakkaan aineisto")
    assert writer.is_empty_folder("Asiakas/Kirjanpito")
    writer.remove_empty_folder("Asiakas/Kirjanpito")
    assert not (tmp_path / "Asiakas/Kirjanpito").exists()


def test_nothing_is_replaced(writer: LocalFolderWriter, tmp_path: Path) -> None:
    (tmp_path / "Asiakas/Tyhjä").mkdir()
    with pytest.raises(SourceError, match="already exists and nothing is ever replaced"):
        writer.move("Asiakas/Kirjanpito", "Asiakas/Tyhjä", True)
    assert (tmp_path / "Asiakas/Kirjanpito").is_dir()
    (tmp_path / "Asiakas/toinen.pdf").write_text("2")
    with pytest.raises(SourceError, match="already exists"):
        writer.move("Asiakas/toinen.pdf", "Asiakas/lasku.pdf", False)
    assert (tmp_path / "Asiakas/lasku.pdf").read_text() == "1"
    with pytest.raises(SourceError, match="already exists"):
        writer.make_folder("Asiakas/Kirjanpito")
    (tmp_path / "Asiakas/Kirjanpito/tosite.pdf").write_text("3")
    with pytest.raises(SourceError, match="no longer empty, so it was left in place"):
        writer.remove_empty_folder("Asiakas/Kirjanpito")
    assert (tmp_path / "Asiakas/Kirjanpito/tosite.pdf").exists()


def test_a_case_only_rename_and_exact_names(writer: LocalFolderWriter, tmp_path: Path) -> None:
    writer.move("Asiakas/Kirjanpito", "Asiakas/KIRJANPITO", True)
    assert writer.exists("Asiakas/KIRJANPITO") and not writer.exists("Asiakas/Kirjanpito")


def test_refusals_say_what_to_do(writer: LocalFolderWriter, tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="sync the drive and plan again"):
        writer.move("Asiakas/poissa.pdf", "Asiakas/Kirjanpito/poissa.pdf", False)
    with pytest.raises(SourceError, match="sync the drive and plan again"):
        writer.make_folder("Ei ole/Alikansio")
    with pytest.raises(SourceError, match="not a path inside the drive"):
        writer.make_folder("Asiakas/../../ulos")
    if os.geteuid() == 0:
        return  # root is never refused, so there is no refusal to see
    (tmp_path / "Asiakas").chmod(0o555)
    try:
        with pytest.raises(SourceError, match="give the account running Client Hub write"):
            writer.make_folder("Asiakas/Uusi")
    finally:
        (tmp_path / "Asiakas").chmod(0o755)
