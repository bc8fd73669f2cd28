"""A small demo firm: three staff who can sign in, twelve clients, groups,
responsibilities, a running cover and a few weeks of notes - enough to show every access
path."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.access.policy import Principal
from hub.access.schemas import CoverIn
from hub.access.service import create_cover
from hub.clients.business_id import make_business_id
from hub.clients.groups import create_client_group, create_special_group
from hub.clients.models import Client
from hub.clients.responsibilities import create_responsibility
from hub.clients.schemas import (
    ClientGroupIn,
    ClientIn,
    ContactIn,
    ResponsibilityIn,
    SpecialGroupIn,
)
from hub.flows.clients import create_client
from hub.staff.passwords import set_password
from hub.staff.service import create_token, create_user
from hub.timeline.models import Mention, TimelineEntry
from hub.timeutil import firm_zone

STAFF = [
    ("anna.virtanen@tilitoimisto-demo.fi", "Anna Virtanen", True),
    ("mikko.korhonen@tilitoimisto-demo.fi", "Mikko Korhonen", False),
    ("liisa.nieminen@tilitoimisto-demo.fi", "Liisa Nieminen", False),
]
#: Every demo colleague signs in to the web view with this password (printed by the demo;
#: the demo database is local and made afresh each time).
PASSWORD = "demo-salasana"  # noqa: S105 - printed for anyone trying the demo

# name, business-ID digits, group, special groups, domain, contact, owner index, roles
CLIENTS = [
    ("Rakennus Mäkinen Oy", "2734561", "Yritykset", ["Rakennusala"], "rakennusmakinen.fi",
     ("Jari Mäkinen", "jari@rakennusmakinen.fi", "toimitusjohtaja"), 1, ["palkanlaskija"]),
    ("Kahvila Aalto Oy", "3012457", "Yritykset", [], "kahvila-aalto.fi",
     ("Sanna Aalto", "sanna@kahvila-aalto.fi", "yrittäjä"), 1, []),
    ("Tmi Laine Consulting", "2455710", "Yritykset", [], None,
     ("Pekka Laine", "pekka.laine@gmail.com", "yrittäjä"), 1, []),
    ("Heinonen & Co Oy", "2899014", "Yritykset", ["Vienti EU:n ulkopuolelle"], "heinonenco.fi",
     ("Maria Heinonen", "maria@heinonenco.fi", "talousjohtaja"), 1, ["palkanlaskija"]),
    ("Sähkö-Lehtonen Oy", "1987663", "Yritykset", ["Rakennusala"], "sahkolehtonen.fi",
     ("Timo Lehtonen", "timo@sahkolehtonen.fi", "toimitusjohtaja"), 0, ["palkanlaskija"]),
    ("Kukkakauppa Ruusu Ky", "2203348", "Yritykset", [], "kukkaruusu.fi",
     ("Elina Salo", "elina@kukkaruusu.fi", "vastuunalainen yhtiömies"), 0, []),
    ("Hyvinvointikeskus Kuntoon Oy", "3105826", "Yritykset", [], "kuntoon.fi",
     ("Ville Järvinen", "ville@kuntoon.fi", "toimitusjohtaja"), 0, ["palkanlaskija"]),
    ("Autokorjaamo Koskinen Oy", "2651209", "Yritykset", ["Rakennusala"], "akoskinen.fi",
     ("Harri Koskinen", "harri@akoskinen.fi", "toimitusjohtaja"), 2, []),
    ("Leipomo Hämäläinen Oy", "2567784", "Yritykset", [], "leipomohamalainen.fi",
     ("Tiina Hämäläinen", "tiina@leipomohamalainen.fi", "yrittäjä"), 2, ["palkanlaskija"]),
    ("Tampereen Shakkikerho ry", "1649522", "Yhdistykset", [], "tampereenshakki.fi",
     ("Olli Rantanen", "rahastonhoitaja@tampereenshakki.fi", "rahastonhoitaja"), 2, []),
    ("Asunto Oy Koivukuja 5", "2798013", "Yhdistykset", [], None,
     ("Kaisa Ojala", "isannoitsija@isannointiojala.fi", "isännöitsijä"), 0, []),
    ("Nordic Trade Export Oy", "3210058", "Yritykset", ["Vienti EU:n ulkopuolelle"],
     "nordictradeexport.fi", ("Anders Lind", "anders@nordictradeexport.fi", "CFO"), 1, []),
]

# client index, days ago, author index, text
NOTES = [
    (0, 20, 1, "Aloituspalaveri pidetty. Jari toimittaa valtakirjat Suomi.fi:ssä perjantaihin "
               "mennessä. Käänteinen ALV koskee kaikkia aliurakointilaskuja."),
    (0, 6, 1, "Pyydetty lokakuun ostolaskut ja pankkitiliotteet. @liisa huomioi palkat: "
              "kaksi uutta työntekijää 1.11. alkaen, TES rakennusala."),
    (0, 2, 1, "Lokakuun kirjanpito valmis, ALV-ilmoitus lähetetty 12.11. Seuraavaksi: "
              "marraskuun palkat ja tulorekisteri-ilmoitus 5 päivän sisällä maksupäivästä."),
    (1, 14, 1, "Sanna kysyi kassajärjestelmän vaihdosta. Suositeltu integraatiota "
               "kirjanpito-ohjelmaan; odotetaan tarjousta."),
    (1, 3, 1, "Tilikausi päättyy 31.12. Tilinpäätöspalaveri sovittu tammikuun toiselle viikolle."),
    (3, 9, 1, "Vientilaskut Norjaan: tarkistettu ALV 0 % -perusteet ja tullausasiakirjat."),
    (4, 11, 0, "Timon kanssa sovittu neljännesvuosittaisesta raportoinnista. @mikko hoitaa "
               "kirjanpidon, minä tilinpäätöksen."),
    (7, 5, 2, "Harri toimitti puuttuvat kuitit. Syyskuun kirjanpito täsmäytetty."),
    (8, 4, 2, "Palkanlaskenta: leipomon yötyölisät tarkistettu TES:n mukaan."),
    (9, 30, 2, "Yhdistyksen tilintarkastaja vaihtuu; uusi tilintarkastaja KHT Laura Mattila."),
    (11, 1, 1, "Anders pyysi selvitystä arvonlisäverotuksesta Yhdysvaltoihin myytävistä "
               "palveluista. Vastaus luvattu ensi viikolla."),
]


@dataclass(frozen=True)
class DemoFirm:
    tokens: dict[str, str]  # email -> token
    names: dict[str, str]  # email -> name
    passwords: dict[str, str]  # email -> password for the web view
    client_ids: list[int]
    covered_client_id: int


def build(session: Session, now: datetime) -> DemoFirm:
    """Fill an empty database with the demo firm; returns the staff tokens. The command
    line adds the staff; their admin sets up the rest, on the audit trail as over the API."""
    users = [create_user(session, None, email=e, name=n, is_admin=a) for e, n, a in STAFF]
    admin = Principal.of(users[0])
    tokens = {u.email: create_token(session, None, u, "demo")[1] for u in users}
    for user in users:
        set_password(session, None, user, PASSWORD)
    groups = {
        "Yritykset": create_client_group(
            session, admin, ClientGroupIn(name="Yritykset", starting_customer_number=1000)),
        "Yhdistykset": create_client_group(
            session, admin, ClientGroupIn(name="Yhdistykset", starting_customer_number=5000)),
    }
    specials = {
        "Rakennusala": create_special_group(session, admin, SpecialGroupIn(
            name="Rakennusala", description="Rakennusalan käänteinen arvonlisävero")),
        "Vienti EU:n ulkopuolelle": create_special_group(session, admin, SpecialGroupIn(
            name="Vienti EU:n ulkopuolelle", description="Vientiä EU:n ulkopuolelle")),
    }
    clients = []
    for name, digits, group, special, domain, contact, owner, extra_roles in CLIENTS:
        business_id = make_business_id(digits)
        assert business_id is not None, digits
        client = create_client(session, admin, ClientIn(
            name=name, business_id=business_id, status="active",
            group_id=groups[group].id,
            special_group_ids=[specials[s].id for s in special],
            domains=[domain] if domain else [],
            contacts=[ContactIn(name=contact[0], emails=[contact[1]], role=contact[2])],
        ))
        clients.append(client)
        holder = users[owner]
        create_responsibility(session, admin, ResponsibilityIn(
            user_id=holder.id, client_id=client.id, role="asiakasvastaava"))
        create_responsibility(session, admin, ResponsibilityIn(
            user_id=holder.id, client_id=client.id, role="kirjanpitaja"))
        if "palkanlaskija" in extra_roles:
            create_responsibility(session, admin, ResponsibilityIn(
                user_id=users[2].id, client_id=client.id, role="palkanlaskija"))
    # Mikko is on sick leave since yesterday; Liisa covers him for two weeks.
    local = (now - timedelta(days=1)).astimezone(firm_zone())
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    create_cover(session, admin, CoverIn(
        absent_user_id=users[1].id, covering_user_id=users[2].id,
        valid_from=start, valid_until=start + timedelta(days=14),
        note="Sairausloma",
    ), now)
    handles = {"liisa": users[2].id, "mikko": users[1].id, "anna": users[0].id}
    for idx, days, author, text in NOTES:
        mentioned = [uid for h, uid in handles.items() if f"@{h}" in text]
        session.add(TimelineEntry(
            client_id=clients[idx].id, kind="note",
            occurred_at=now - timedelta(days=days, hours=idx),
            title=text.splitlines()[0][:200], summary=text[:280], body=text,
            source_kind="note", source_ref=f"demo-note-{idx}-{days}",
            actor_user_id=users[author].id,
            mentions=[Mention(user_id=uid) for uid in mentioned],
        ))
    session.flush()
    return DemoFirm(
        tokens=tokens,
        names={u.email: u.name for u in users},
        passwords={u.email: PASSWORD for u in users},
        client_ids=[c.id for c in clients],
        covered_client_id=clients[0].id,
    )


def all_clients(session: Session) -> list[Client]:
    """Every client of the demo firm, by customer number."""
    return list(session.scalars(select(Client).order_by(Client.customer_number)))


def make_private(session: Session, message_key: str, owner_user_id: int,
                 now: datetime) -> None:
    """The demo's private thread: its owner makes it private, as over the API."""
    from hub.mail.models import MailMessage
    from hub.mail.service import set_private
    from hub.staff.models import User

    message = session.scalar(select(MailMessage).where(MailMessage.message_key == message_key))
    owner = session.get(User, owner_user_id)
    if message is not None and owner is not None:
        set_private(session, Principal.of(owner), message.thread_id, True, [], now)
