"""The demo firm's mail: mbox archives for three colleagues, written as real RFC 5322 mail.

Threads cross mailboxes (a client writes to Mikko with Liisa in copy; Liisa answers),
Finnish text comes in UTF-8 and ISO-8859-15, one thread is internal only, one is made
private by its owner, and two messages match no client (they wait in their owners'
review queues and on their My work).
"""

from __future__ import annotations

import mailbox
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

FIRM = "tilitoimisto-demo.fi"
ANNA, MIKKO, LIISA = (f"anna.virtanen@{FIRM}", f"mikko.korhonen@{FIRM}",
                      f"liisa.nieminen@{FIRM}")


@dataclass(frozen=True)
class Mail:
    key: str
    days_ago: float
    sender: str
    to: list[str]
    subject: str
    text: str
    cc: tuple[str, ...] = ()
    reply_to_key: str | None = None
    attachment: tuple[str, bytes] | None = None
    charset: str = "utf-8"


MAILS = [
    Mail("makinen-1", 12, MIKKO, ["Jari Mäkinen <jari@rakennusmakinen.fi>"],
         "Lokakuun aineisto ja valtakirjat",
         "Hei Jari,\n\ntarvitsemme lokakuun ostolaskut ja pankin tiliotteet 7.11. mennessä.\n"
         "Lisäksi Suomi.fi-valtakirja puuttuu vielä.\n\nTerveisin\nMikko Korhonen"),
    Mail("makinen-2", 10, "Jari Mäkinen <jari@rakennusmakinen.fi>", [MIKKO],
         "Re: Lokakuun aineisto ja valtakirjat",
         "Hei,\n\nliitteenä tiliotteet. Valtakirja on nyt annettu. Kaksi uutta työntekijää "
         "aloittaa 1.11. - miten palkat hoidetaan?\n\nJari", cc=(LIISA,),
         reply_to_key="makinen-1", attachment=("tiliote_lokakuu.pdf", b"%PDF-1.4 demo\n")),
    Mail("makinen-3", 9, LIISA, ["Jari Mäkinen <jari@rakennusmakinen.fi>"],
         "Re: Lokakuun aineisto ja valtakirjat",
         "Hei Jari,\n\nhoidan palkat. Tarvitsen uusien työntekijöiden verokortit ja "
         "tilinumerot, sekä työsopimukset. Rakennusalan TES.\n\nLiisa Nieminen",
         cc=(MIKKO,), reply_to_key="makinen-2"),
    Mail("makinen-4", 3, "Jari Mäkinen <jari@rakennusmakinen.fi>", [LIISA],
         "Re: Lokakuun aineisto ja valtakirjat",
         "Verokortit tulevat huomenna. Työsopimukset liitteenä myöhemmin.\nJari",
         cc=(MIKKO,), reply_to_key="makinen-3"),
    Mail("nordic-1", 2, "Anders Lind <anders@nordictradeexport.fi>", [MIKKO],
         "VAT on services sold to the US",
         "Hi Mikko,\n\nwe start selling consulting to a US customer in December. Do we "
         "charge Finnish VAT (ALV 25,5 %)?\n\nBest, Anders"),
    Mail("lehtonen-1", 4, "Timo Lehtonen <timo@sahkolehtonen.fi>", [ANNA],
         "Käänteinen ALV aliurakoitsijan laskussa",
         "Hei Anna,\n\naliurakoitsija laskutti 12 400 € + ALV. Eikö tähän kuulu käänteinen "
         "arvonlisävero?\n\nTimo", charset="iso-8859-15"),
    Mail("internal-1", 5, ANNA, [MIKKO], "Joulukuun lomat",
         "Mikko, ehditkö katsoa joulukuun lomalistan? -Anna"),
    Mail("heinonen-1", 6, "Maria Heinonen <maria@heinonenco.fi>", [MIKKO],
         "Luottamuksellinen: henkilöstöasia",
         "Hei Mikko,\n\nyhden työntekijän palkkaan tulee ulosmittaus. Käsitellään "
         "luottamuksellisesti.\n\nMaria"),
    Mail("unknown-1", 1, "Kalle Uusi <kalle@uusiyritys-oy.fi>", [ANNA],
         "Tarjouspyyntö kirjanpidosta",
         "Hei,\n\nolemme perustamassa osakeyhtiötä ja etsimme tilitoimistoa. Voisitteko "
         "lähettää tarjouksen?\n\nKalle Uusi"),
    Mail("unknown-2", 0.5, "Minna Koski <minna.koski@kosken-kuljetus.fi>", [LIISA],
         "Palkanlaskenta kahdelle kuljettajalle",
         "Hei Liisa,\n\nsain nimesi Jari Mäkiseltä. Tarvitsisimme palkanlaskennan kahdelle "
         "kuljettajalle tammikuusta alkaen. Sopisiko puhelu ensi viikolla?\n\nMinna Koski"),
]

#: Which colleague's mailbox holds a copy of which message.
MAILBOXES = {
    MIKKO: ["makinen-1", "makinen-2", "makinen-3", "makinen-4", "nordic-1", "internal-1",
            "heinonen-1"],
    LIISA: ["makinen-2", "makinen-3", "makinen-4", "unknown-2"],
    ANNA: ["lehtonen-1", "internal-1", "unknown-1"],
}
PRIVATE = ("heinonen-1", MIKKO)


def _message_id(key: str) -> str:
    return f"<{key}@demo.{FIRM}>"


def build_message(mail: Mail, now: datetime) -> bytes:
    msg = EmailMessage()
    msg["From"] = mail.sender
    msg["To"] = ", ".join(mail.to)
    if mail.cc:
        msg["Cc"] = ", ".join(mail.cc)
    msg["Subject"] = mail.subject
    msg["Date"] = format_datetime(now - timedelta(days=mail.days_ago))
    msg["Message-ID"] = _message_id(mail.key)
    if mail.reply_to_key:
        chain = [_message_id(m.key) for m in MAILS if m.key <= mail.reply_to_key
                 and m.key.split("-")[0] == mail.key.split("-")[0]]
        msg["In-Reply-To"] = _message_id(mail.reply_to_key)
        msg["References"] = " ".join(chain)
    msg.set_content(mail.text, charset=mail.charset,
                    cte="quoted-printable" if mail.charset != "utf-8" else None)
    if mail.attachment:
        name, data = mail.attachment
        msg.add_attachment(data, maintype="application", subtype="pdf", filename=name)
    return msg.as_bytes()


def write_mailboxes(folder: Path, now: datetime) -> dict[str, Path]:
    """One mbox file per colleague; returns {email: path}."""
    folder.mkdir(parents=True, exist_ok=True)
    by_key = {m.key: m for m in MAILS}
    paths = {}
    for owner, keys in MAILBOXES.items():
        path = folder / f"{owner.split('@')[0]}.mbox"
        path.unlink(missing_ok=True)
        box = mailbox.mbox(path)
        try:
            for key in keys:
                box.add(build_message(by_key[key], now))
        finally:
            box.close()
        paths[owner] = path
    return paths
