"""Messages and threads at the reader's level, the review queue, links and privacy."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import NowDep, PrincipalDep, SessionDep
from hub.mail import service
from hub.mail.schemas import LinkIn, MessageOut, PrivacyIn, ReviewItemOut, ThreadOut
from hub.schemas import Cursor, IdParam, ListPage

router = APIRouter(tags=["mail"])


@router.get("/messages/{message_id}", response_model=MessageOut)
def get_message(message_id: IdParam, principal: PrincipalDep, session: SessionDep,
                at: NowDep) -> MessageOut:
    """One message at your level (sanitised HTML and text at full); body reads are audited."""
    return service.read_message(session, principal, message_id, at)


@router.get("/threads/{thread_id}", response_model=ThreadOut)
def get_thread(thread_id: IdParam, principal: PrincipalDep, session: SessionDep,
               at: NowDep) -> ThreadOut:
    """The messages of a thread you may see, oldest first."""
    thread, messages = service.read_thread(session, principal, thread_id, at)
    return ThreadOut(id=thread.id, is_private=thread.is_private, messages=messages)


@router.put("/threads/{thread_id}/privacy", response_model=ThreadOut)
def set_privacy(thread_id: IdParam, body: PrivacyIn, principal: PrincipalDep, session: SessionDep,
                at: NowDep) -> ThreadOut:
    """Mark a thread private (only its mailboxes' owners and those you name see it) or public.

    Only someone whose own mailboxes hold every copy in the thread may make it private;
    whoever made it private may make it public again."""
    service.set_private(session, principal, thread_id, body.private, body.visible_to, at)
    thread, messages = service.read_thread(session, principal, thread_id, at)
    return ThreadOut(id=thread.id, is_private=thread.is_private, messages=messages)


@router.get("/review/messages", response_model=ListPage[ReviewItemOut])
def review(
    principal: PrincipalDep,
    session: SessionDep,
    automated: Annotated[bool, Query(description="Include automated mail")] = False,
    limit: Annotated[int | None, Query(ge=1, le=200)] = None,
    before: Cursor | None = None,
) -> ListPage[ReviewItemOut]:
    """External mail in your own mailboxes that matched no client; link it to one."""
    page = service.review_queue(session, principal, include_automated=automated, limit=limit,
                                before=before)
    return ListPage(items=list(page.items), next=page.next)


@router.post("/messages/{message_id}/links", response_model=MessageOut, status_code=201)
def link(message_id: IdParam, body: LinkIn, principal: PrincipalDep, session: SessionDep,
         at: NowDep) -> MessageOut:
    """Link a message of your mailbox to a client; later matching never undoes it."""
    return service.link(session, principal, message_id, body.client_id, at,
                        add_contact=body.add_contact)


@router.delete("/messages/{message_id}/links/{client_id}", status_code=204)
def unlink(message_id: IdParam, client_id: IdParam, principal: PrincipalDep,
           session: SessionDep, at: NowDep) -> None:
    """Unlink a message of your mailbox from a client you see in full; later matching never
    links it again."""
    service.unlink(session, principal, message_id, client_id, at)
