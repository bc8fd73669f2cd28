"""The thread view in a real browser: a conversation oldest first, bodies in sandboxed
frames under a strict Content-Security-Policy, attachments, links to clients, privacy,
and mail that tries to run script."""

from __future__ import annotations

import mailbox
import threading
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import delete, select, update

from api.web.pages.threads import BODY_POLICY
from hub.access.models import AccessRule, AuditEntry
from hub.accounts.schemas import AccountIn
from hub.accounts.service import create_account
from hub.clients.models import Client, Contact, ContactEmail
from hub.db import make_session_factory
from hub.mail.models import MailMessage, MessageClientLink
from hub.staff.models import User
from tests.mail.conftest import NOW, mail
from tests.web.conftest import open_tab, screenshot, sign_in
from workers.sync import sync_account

JARI = "Jari Mäkinen <jari@rakennusmakinen.fi>"
MIKKO = "Mikko Mäkinen <mikko@tilitoimisto.test>"
PDF = b"%PDF-1.4 tilinpaatos " + b"x" * 2000


def html_mail(key: str, sender: str, to: list[str], subject: str, text: str, html: str, *,
              attachment: tuple[str, bytes] | None = None, days_ago: float = 1) -> bytes:
    """A message with a text and an HTML part (and an attachment), built as ``mail()``."""
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, ", ".join(to), subject
    msg["Date"] = format_datetime(NOW - timedelta(days=days_ago))
    msg["Message-ID"] = f"<{key}@test>"
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    if attachment:
        name, data = attachment
        msg.add_attachment(data, maintype="application", subtype="pdf", filename=name)
    return msg.as_bytes()


class Beacon:
    """Another site, on a port of its own, that notes every request it gets: the remote
    image of a mail, and what a script in a mail would call home with."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        paths = self.paths

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # the name http.server calls
                paths.append(self.path)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://localhost:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def called(self, prefix: str) -> list[str]:
        return [p for p in self.paths if p.startswith(prefix)]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def beacon():
    found = Beacon()
    yield found
    found.close()


def payload(home: str) -> str:
    """Mail that would run script four ways and load a remote image from ``home``; each
    way, if it ran, would log to the console, change the title, set ``window.pwned`` and
    call ``home``/pwned/<how>."""
    remote = f"{home}/remote-beacon.png"

    def run(how: str) -> str:
        return (f"console.log('pwned-{how}');document.title='pwned';window.pwned='{how}';"
                f"try{{top.pwned='{how}'}}catch(e){{}};new Image().src='{home}/pwned/{how}'")
    return (
        '<p id="greeting">Hyvä Mikko, tässä pyytämäsi luvut.</p>'
        f"<script>{run('script')}</script>"
        f'<img src="x" onerror="{run("img")}">'
        f'<svg onload="{run("svg")}"><circle r="4"></circle></svg>'
        f"<svg><script>{run('svg-script')}</script></svg>"
        f'<img src="{remote}" alt="">'
    )


@dataclass
class Mail:
    thread_id: int
    question: int  # Jari's first message, with HTML and an attachment
    answer: int  # Mikko's reply, text only
    hostile_thread: int
    hostile: int  # the payload, filed (and sanitised) as any mail is
    home: str  # where the payload's image and script would call


@pytest.fixture
def mikkos_mail(served, tmp_path, beacon) -> Mail:
    """Mikko's mailbox with a thread from Jari, the contact of Rakennus Mäkinen Oy (which
    Liisa covers while Mikko is away), and a hostile message from the same address."""
    factory = make_session_factory(served.engine)
    with factory() as session:
        client = session.get(Client, served.firm.clients["Rakennus Mäkinen Oy"])
        client.contacts = [Contact(name="Jari Mäkinen", emails=[ContactEmail(
            email="jari@rakennusmakinen.fi")])]
        session.commit()
        path = tmp_path / "mikko.mbox"
        box = mailbox.mbox(path)
        for raw in (
            html_mail("q1", JARI, [MIKKO], "Tilinpäätös 2026", "Liitteenä tilinpäätös.",
                      "<p>Liitteenä <b>tilinpäätös</b> allekirjoitettavaksi.</p>",
                      attachment=("tilinpaatos.pdf", PDF), days_ago=3),
            mail("q2", MIKKO, [JARI], "Re: Tilinpäätös 2026", "Kiitos, palaan asiaan.",
                 reply_to=["q1"], days_ago=2),
            html_mail("h1", JARI, [MIKKO], "Luvut", "Hyvä Mikko", payload(beacon.url)),
        ):
            box.add(raw)
        box.close()
        account = create_account(session, None, AccountIn(
            kind="mail_archive", name="Mikon posti", owner_user_id=served.firm.mikko.id,
            settings={"path": str(path)}, share_level="full"))
        session.commit()
        account_id = account.id
    sync_account(factory, account_id)
    with factory() as session:
        by_subject = {m.subject: m for m in session.scalars(select(MailMessage))}
        question = by_subject["Tilinpäätös 2026"]
        hostile = by_subject["Luvut"]
        return Mail(question.thread_id, question.id, by_subject["Re: Tilinpäätös 2026"].id,
                    hostile.thread_id, hostile.id, beacon.url)


def _articles(page):
    return page.locator("ol.thread > li > article")


def test_a_covering_colleague_reads_the_conversation_oldest_first(tab, served, mikkos_mail):
    page, firm = tab.page, served.firm
    sign_in(page, firm.liisa, start=f"/threads/{mikkos_mail.thread_id}")
    assert page.get_by_role("heading", name="Tilinpäätös 2026", level=1).is_visible()
    first, second = _articles(page).all()
    assert first.get_by_role("heading", level=2).inner_text().startswith("Jari Mäkinen")
    assert second.get_by_role("heading", level=2).inner_text().startswith("Mikko Mäkinen")
    # The HTML body is in a sandboxed frame of its own; the text-only reply on the page.
    frame = first.locator("iframe.mail-body")
    assert frame.get_attribute("src") == f"/messages/{mikkos_mail.question}/body"
    assert "allow-scripts" not in frame.get_attribute("sandbox")
    assert "allow-same-origin" not in frame.get_attribute("sandbox")
    body = page.frame_locator(f"#message-{mikkos_mail.question} iframe")
    assert body.get_by_text("allekirjoitettavaksi").is_visible()
    assert second.locator(".mail-text").inner_text() == "Kiitos, palaan asiaan."
    attachments = first.locator(".mail-attachments li")
    assert attachments.count() == 1
    assert "tilinpaatos.pdf" in attachments.inner_text()
    assert "application/pdf" in attachments.inner_text()
    assert "2 kt" in attachments.inner_text()  # 2,021 bytes
    assert first.get_by_role("link", name="Rakennus Mäkinen Oy").is_visible()
    # Liisa holds no copy: no link, unlink or privacy controls for her.
    assert page.get_by_role("button", name="Linkitä").count() == 0
    assert page.get_by_role("button", name="Tee yksityiseksi").count() == 0
    screenshot(page, "thread")
    assert tab.console_errors == []

    answer = page.request.get(f"/messages/{mikkos_mail.question}/body")
    assert answer.status == 200
    assert answer.headers["content-security-policy"] == BODY_POLICY
    assert "script-src" not in BODY_POLICY and "default-src 'none'" in BODY_POLICY
    with served.engine.connect() as conn:
        actions = set(conn.scalars(select(AuditEntry.action).where(
            AuditEntry.actor_user_id == firm.liisa.id)))
    assert {"thread.read", "message.read"} <= actions


def test_a_thread_the_viewer_may_not_see_answers_as_one_that_does_not_exist(
        tab, served, mikkos_mail):
    page = tab.page
    sign_in(page, served.firm.outi)
    hidden = page.goto(f"/threads/{mikkos_mail.thread_id}")
    hidden_text = page.locator("main").inner_text()
    missing = page.goto("/threads/987654321")
    assert hidden.status == missing.status == 404
    assert hidden_text == page.locator("main").inner_text()
    assert "Tilinpäätös" not in hidden_text
    assert page.request.get(f"/messages/{mikkos_mail.question}/body").status == 404
    assert page.goto("/threads/not-a-thread").status == 404


def test_the_owner_links_a_message_to_a_client_and_unlinks_it(tab, served, mikkos_mail):
    page, firm = tab.page, served.firm
    other = firm.clients["Tilausajo Saarinen Ky"]
    sign_in(page, firm.mikko, start=f"/threads/{mikkos_mail.thread_id}")
    first = page.locator(f"#message-{mikkos_mail.question}")
    first.get_by_label("Linkitä asiakkaaseen").select_option(label="Tilausajo Saarinen Ky")
    with page.expect_navigation():
        first.get_by_role("button", name="Linkitä").click()
    first = page.locator(f"#message-{mikkos_mail.question}")
    assert first.locator(".mail-clients").get_by_role(
        "link", name="Tilausajo Saarinen Ky").is_visible()

    def live() -> list[tuple[int, str]]:
        with served.engine.connect() as conn:
            return sorted(conn.execute(select(MessageClientLink.client_id,
                                              MessageClientLink.origin).where(
                MessageClientLink.message_id == mikkos_mail.question,
                MessageClientLink.removed.is_(False))))

    assert (other, "manual") in live()
    with page.expect_navigation():
        first.get_by_role("button", name="Poista linkitys: Tilausajo Saarinen Ky").click()
    assert page.locator(f"#message-{mikkos_mail.question} .mail-clients").get_by_role(
        "link", name="Tilausajo Saarinen Ky").count() == 0
    assert other not in [client_id for client_id, _ in live()]
    assert tab.console_errors == []


def test_a_form_without_the_csrf_token_links_nothing(tab, served, mikkos_mail):
    page, firm = tab.page, served.firm
    sign_in(page, firm.mikko)
    refused = page.request.post(f"/messages/{mikkos_mail.question}/links",
                                form={"client_id": str(firm.clients["Tilausajo Saarinen Ky"])})
    assert refused.status == 403
    with served.engine.connect() as conn:
        assert conn.scalar(select(MessageClientLink.id).where(
            MessageClientLink.origin == "manual")) is None


def test_a_private_thread_disappears_for_the_covering_colleague(browser, served, mikkos_mail):
    firm = served.firm
    thread = f"/threads/{mikkos_mail.thread_id}"
    body = f"/messages/{mikkos_mail.question}/body"
    owner_tab = open_tab(browser, served)
    colleague_tab = open_tab(browser, served)
    owner, colleague = next(owner_tab), next(colleague_tab)
    try:
        sign_in(colleague.page, firm.liisa, start=thread)
        assert colleague.page.frame_locator(f"#message-{mikkos_mail.question} iframe") \
            .get_by_text("allekirjoitettavaksi").is_visible()

        sign_in(owner.page, firm.mikko, start=thread)
        with owner.page.expect_navigation():
            owner.page.get_by_role("button", name="Tee yksityiseksi").click()
        assert owner.page.get_by_text("Yksityinen").is_visible()
        screenshot(owner.page, "thread-private")

        assert colleague.page.reload().status == 404
        assert "Tilinpäätös" not in colleague.page.locator("main").inner_text()
        assert colleague.page.request.get(body).status == 404

        with owner.page.expect_navigation():
            owner.page.get_by_role("button", name="Tee taas julkiseksi").click()
        assert colleague.page.reload().status == 200
        assert colleague.page.request.get(body).status == 200
        assert owner.console_errors == [] and colleague.console_errors == []
    finally:
        for opened in (owner_tab, colleague_tab):
            opened.close()


# -- mail that tries to run script ------------------------------------------------------------


def _hostile_stored(served, mikkos_mail) -> None:
    """Put the payload back in the stored body as written, as if the sanitiser had let it
    through: the frame's sandbox and the body's policy must hold on their own."""
    with make_session_factory(served.engine)() as session:
        session.execute(update(MailMessage).where(MailMessage.id == mikkos_mail.hostile)
                        .values(html=payload(mikkos_mail.home)))
        session.commit()


@dataclass
class Watch:
    """What the browser's console said, and what reached the other site."""

    console: list[str]
    beacon: Beacon

    def pwned(self) -> list[str]:
        return self.beacon.called("/pwned/") + [c for c in self.console if "pwned" in c]

    def remote_loaded(self) -> bool:
        return bool(self.beacon.called("/remote-beacon.png"))


def _watch(page, beacon: Beacon) -> Watch:
    watch = Watch([], beacon)
    page.on("console", lambda message: watch.console.append(message.text))
    return watch


def _markers(page) -> list[list[object]]:
    """What the payload would set, in the page and in each of its frames."""
    return [frame.evaluate("() => [window.pwned, document.title]") for frame in page.frames]


def _open_hostile_thread(page, served, mikkos_mail) -> None:
    page.goto(f"/threads/{mikkos_mail.hostile_thread}")
    frame = page.frame_locator(f"#message-{mikkos_mail.hostile} iframe")
    frame.get_by_text("tässä pyytämäsi luvut").wait_for()
    page.wait_for_timeout(500)  # time for an onerror or onload to have fired


def test_the_sanitiser_removes_script_handlers_svg_and_images_when_mail_is_filed(
        served, mikkos_mail):
    with served.engine.connect() as conn:
        stored = conn.scalar(select(MailMessage.html).where(
            MailMessage.id == mikkos_mail.hostile))
    assert "tässä pyytämäsi luvut" in stored
    for trace in ("<script", "onerror", "onload", "<svg", "<img", "pwned", "remote-beacon"):
        assert trace not in stored


def test_mail_with_script_runs_nothing_and_loads_nothing_remote(tab, served, mikkos_mail,
                                                               beacon):
    """Both defences at once: the frame's sandbox and the body's policy."""
    _hostile_stored(served, mikkos_mail)
    page = tab.page
    sign_in(page, served.firm.mikko)
    watch = _watch(page, beacon)
    _open_hostile_thread(page, served, mikkos_mail)
    assert watch.pwned() == []
    assert not watch.remote_loaded()
    assert page.title() != "pwned" and page.evaluate("() => window.pwned") is None
    markers = _markers(page)
    assert len(markers) == 2  # the page and the message's frame, both looked into
    assert all(marker[0] is None and marker[1] != "pwned" for marker in markers)
    body = page.request.get(f"/messages/{mikkos_mail.hostile}/body")
    assert body.headers["content-security-policy"] == BODY_POLICY
    screenshot(page, "thread-hostile-mail")


def test_the_frame_sandbox_alone_stops_the_script(browser, served, mikkos_mail, beacon):
    """With the pages' policies switched off in the browser, the sandbox still holds."""
    _hostile_stored(served, mikkos_mail)
    opened = open_tab(browser, served, bypass_csp=True)
    page = next(opened).page
    try:
        sign_in(page, served.firm.mikko)
        watch = _watch(page, beacon)
        _open_hostile_thread(page, served, mikkos_mail)
        assert watch.pwned() == []
        assert page.title() != "pwned" and page.evaluate("() => window.pwned") is None
        assert all(marker[0] is None and marker[1] != "pwned" for marker in _markers(page))
    finally:
        opened.close()


def test_the_body_policy_alone_stops_the_script_and_the_remote_image(tab, served, mikkos_mail,
                                                                    beacon):
    """The body opened on its own, outside any sandboxed frame."""
    _hostile_stored(served, mikkos_mail)
    page = tab.page
    sign_in(page, served.firm.mikko)
    watch = _watch(page, beacon)
    page.goto(f"/messages/{mikkos_mail.hostile}/body")
    page.get_by_text("tässä pyytämäsi luvut").wait_for()
    page.wait_for_timeout(500)
    assert watch.pwned() == []
    assert not watch.remote_loaded()
    assert page.title() != "pwned"


def test_without_either_defence_the_payload_does_run(browser, served, mikkos_mail, beacon):
    """The control: the same body with the policy switched off in the browser, opened
    outside the frame, runs its script and loads the remote image - so the checks above
    would see it if a defence failed."""
    _hostile_stored(served, mikkos_mail)
    opened = open_tab(browser, served, bypass_csp=True)
    page = next(opened).page
    try:
        sign_in(page, served.firm.mikko)
        watch = _watch(page, beacon)
        page.goto(f"/messages/{mikkos_mail.hostile}/body")
        page.wait_for_function("() => document.title === 'pwned'")
        page.wait_for_timeout(500)
        assert {"pwned-script", "pwned-img", "pwned-svg"} <= set(watch.console)
        assert watch.beacon.called("/pwned/script")
        assert watch.remote_loaded()
    finally:
        opened.close()


# -- accessibility --------------------------------------------------------------------------


def test_no_serious_violation_on_the_thread_view(axe_tab, served, mikkos_mail):
    from tests.web.test_accessibility import _violations

    page = axe_tab.page
    sign_in(page, served.firm.mikko, start=f"/threads/{mikkos_mail.thread_id}")
    page.frame_locator(f"#message-{mikkos_mail.question} iframe") \
        .get_by_text("allekirjoitettavaksi").wait_for()
    assert _violations(page) == []
    with page.expect_navigation():
        page.get_by_role("button", name="Tee yksityiseksi").click()
    assert _violations(page) == []



def test_a_subject_reader_sees_the_subjects_and_no_body(tab, served, mikkos_mail):
    """Outi, Rakennus Mäkinen Oy's seller, whose role shows subjects only."""
    from tests import factories as f

    firm = served.firm
    with make_session_factory(served.engine)() as session:
        session.execute(delete(AccessRule).where(AccessRule.role == "myyja"))
        f.rule(session, "role", "subject", role="myyja")
        f.responsibility(session, session.get(User, firm.outi.id),
                         session.get(Client, firm.clients["Rakennus Mäkinen Oy"]), role="myyja")
        session.commit()
    page = tab.page
    sign_in(page, firm.outi, start=f"/threads/{mikkos_mail.thread_id}")
    assert page.get_by_role("heading", name="Tilinpäätös 2026", level=1).is_visible()
    assert page.locator("iframe").count() == 0 and page.locator(".mail-text").count() == 0
    assert page.get_by_text("sen sisältö on piilotettu").count() == 2
    assert "tilinpaatos.pdf" not in page.content()
    assert page.request.get(f"/messages/{mikkos_mail.question}/body").status == 404
    assert tab.console_errors == []
