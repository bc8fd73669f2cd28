"""``clienthub folders`` as an admin runs it: a real process on the test's database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hub.staff.models import User
from tests.folders.conftest import ME_ROOT, OTHER_ROOT, THIRD_ROOT, local_account, make_tree
from tests.folders.test_drift import MESSY

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def db_kind() -> str:
    # Each command is a process of its own (2-3 s to start); what the commands do to the
    # database is covered on both databases by the service and API tests.
    return "sqlite"


@pytest.fixture
def clienthub(database_url, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIENTHUB_")}
    env |= {"CLIENTHUB_DATA_DIR": str(tmp_path), "CLIENTHUB_DATABASE_URL": database_url,
            "PYTHONPATH": str(ROOT), "COLUMNS": "220"}

    def run(*args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([sys.executable, "-m", "api.cli", *args], env=env, cwd=tmp_path,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == code, result.stdout + result.stderr
        assert "Traceback" not in result.stderr
        return result

    return run


def test_check_plan_approve_apply_and_templates(session, firm, tmp_path, clienthub):
    drive = tmp_path / "drive"
    make_tree(drive, [f"{ME_ROOT}/{e}" for e in MESSY])
    make_tree(drive, [f"{OTHER_ROOT}/Asiakkaan aineisto/", f"{THIRD_ROOT}/"])
    account = local_account(session, firm.admin, drive)
    email = session.get(User, firm.admin.user_id).email
    clienthub("sync", "--account", str(account.id))

    checked = clienthub("folders", "check", "--client", str(firm.me.id)).stdout
    for kind in ("missing folder", "unexpected folder", "misnamed folder", "loose file",
                 "foreign client folder"):
        assert kind in checked
    assert "1 client folders checked" in checked and "Vanhat paperit" in checked

    planned = clienthub("folders", "plan", "--client", str(firm.me.id)).stdout
    assert "0 kept, 0 no longer needed, 2 findings to fix by hand" in planned
    assert "clienthub folders approve --by ADMIN_EMAIL" in planned
    ids = [i for i in (line.split("│")[1].strip() for line in planned.splitlines()
                       if "valtakirjat" in line and "│" in line) if i.isdigit()]
    assert len(ids) == 1
    clienthub("folders", "approve", "--by", email, ids[0])
    applied = clienthub("folders", "apply", "--by", email)
    assert "1 applied, 0 failed" in applied.stdout
    assert (drive / ME_ROOT / "Valtakirjat").is_dir()

    shown = clienthub("folders", "template", "show").stdout
    assert shown.startswith("# The Finnish default") and "[inbox]" in shown
    mine = tmp_path / "template.txt"
    mine.write_text("{customer_number} {client_name}/\n  Kirjanpito/{year}/\n  Muut/\n",
                    encoding="utf-8")
    stored = clienthub("folders", "template", "set", "--file", str(mine), "--next-years", "2")
    assert "2 top-level folders, 1 years back, 2 ahead" in stored.stdout
    broken = tmp_path / "broken.txt"
    broken.write_text("Kirjanpito\n", encoding="utf-8")
    failed = clienthub("folders", "template", "set", "--file", str(broken), code=1)
    assert "ends its path with '/'" in failed.stderr
    assert "automatically" in clienthub("folders", "settings", "--auto-create").stdout
