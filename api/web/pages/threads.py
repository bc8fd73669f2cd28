"""The thread view: a conversation oldest first, each message at the viewer's level, with
the forms to link a message to a client or unlink it, and to make the thread private.

A message's HTML (sanitised when it was filed) is never part of the page: the page frames
``/messages/{id}/body``, a response of its own whose Content-Security-Policy allows no
script, no request anywhere (images only as inline ``data:``) and sandboxes the document
even when opened on its own; the frame is sandboxed too (no ``allow-scripts``, no
``allow-same-origin``). Each defence holds without the others.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from markupsafe import Markup, escape

from api.deps import NowDep, SessionDep
from api.web.deps import ViewerDep
from api.web.render import gettext_for, page
from api.web.routing import error_page, web_router
from hub.errors import NotFound, PermissionDenied
from hub.mail import service as mail
from hub.mail.conversation import conversation
from hub.schemas import IdParam

router = web_router()

#: Links in a message open in a new tab, outside the sandbox; nothing else is allowed.
FRAME_SANDBOX = "allow-popups allow-popups-to-escape-sandbox"
#: The policy of a message body: no script, nothing loaded from anywhere, inline styles
#: and ``data:`` images only, no form sent, framed only by our own pages.
BODY_POLICY = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; form-action 'none'; "
    f"frame-ancestors 'self'; base-uri 'none'; sandbox {FRAME_SANDBOX}"
)
BODY_HEADERS = {
    "Content-Security-Policy": BODY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
}
_BODY_PAGE = Markup(
    '<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
    '<base target="_blank"><style>'
    "body{{margin:.75rem;font:15px/1.5 system-ui,sans-serif;color:#1a1a1a;background:#fff;"
    "overflow-wrap:anywhere}}pre{{white-space:pre-wrap;font:inherit;margin:0}}"
    "table{{max-width:100%}}a{{color:#0b5394}}"
    "</style></head><body>{body}</body></html>")


@router.get("/threads/{thread_id}")
def thread_view(request: Request, thread_id: IdParam, viewer: ViewerDep, session: SessionDep,
                at: NowDep) -> Response:
    """404 when the viewer sees no message of the thread, as when it does not exist."""
    found = conversation(session, viewer.principal, thread_id, at)
    subject = next((m.subject for m in found.messages if m.subject), None)
    return page(request, "thread.html", viewer, nav="clients", conversation=found,
                subject=subject, sandbox=FRAME_SANDBOX)


@router.get("/messages/{message_id}/body")
def message_body(request: Request, message_id: IdParam, viewer: ViewerDep, session: SessionDep,
                 at: NowDep) -> Response:
    """The message's sanitised HTML, else its text, as a document for the sandboxed frame
    of the thread view; the read is audited. 404 below the full level, as when missing."""
    message = mail.read_message(session, viewer.principal, message_id, at)
    if message.html is None:  # a level without the body: as if there were none
        raise NotFound(f"no message body with id {message_id} is visible to you")
    body = (Markup(message.html) if message.html  # noqa: S704 - sanitised when filed
            else Markup("<pre>{}</pre>").format(message.text or ""))
    html = _BODY_PAGE.format(lang=escape(viewer.locale), body=body)
    return HTMLResponse(html, headers=BODY_HEADERS)


def _refused(request: Request, viewer: ViewerDep, exc: PermissionDenied) -> Response:
    _ = gettext_for(request, viewer)
    return error_page(request, 403, _("Not allowed"), exc.message)


@router.post("/messages/{message_id}/links")
def link_message(request: Request, message_id: IdParam, viewer: ViewerDep,
                 session: SessionDep, at: NowDep,
                 client_id: Annotated[IdParam, Form()]) -> Response:
    """Link a message of the viewer's own mailbox to a client they see in full."""
    try:
        linked = mail.link(session, viewer.principal, message_id, client_id, at)
    except PermissionDenied as exc:
        return _refused(request, viewer, exc)
    return RedirectResponse(f"/threads/{linked.thread_id}#message-{message_id}",
                            status_code=303)


@router.post("/messages/{message_id}/links/{client_id}/remove")
def unlink_message(request: Request, message_id: IdParam, client_id: IdParam,
                   viewer: ViewerDep, session: SessionDep, at: NowDep,
                   thread_id: Annotated[IdParam, Form()]) -> Response:
    """Unlink a message of the viewer's own mailbox from a client they see in full;
    back to ``thread_id`` (the thread view answers 404 if that is not the viewer's)."""
    try:
        mail.unlink(session, viewer.principal, message_id, client_id, at)
    except PermissionDenied as exc:
        return _refused(request, viewer, exc)
    return RedirectResponse(f"/threads/{thread_id}#message-{message_id}", status_code=303)


@router.post("/threads/{thread_id}/privacy")
def thread_privacy(request: Request, thread_id: IdParam, viewer: ViewerDep,
                   session: SessionDep, at: NowDep,
                   private: Annotated[bool, Form()]) -> Response:
    """Make the thread private (only its mailboxes' owners see it) or public again."""
    try:
        mail.set_private(session, viewer.principal, thread_id, private, [], at)
    except PermissionDenied as exc:
        return _refused(request, viewer, exc)
    return RedirectResponse(f"/threads/{thread_id}", status_code=303)
