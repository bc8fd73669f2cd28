"""The admin's pages: the overview with the admin navigation, and the users (add one, set
or reset a password, deactivate and reactivate). The responsibilities matrix and the
covers have modules of their own, included here under ``/admin``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Form, Request, Response
from fastapi.responses import RedirectResponse

from api.deps import SessionDep
from api.web.deps import AdminViewerDep
from api.web.pages import admin_covers, admin_matrix
from api.web.render import gettext_for, page
from api.web.routing import web_router
from hub.errors import Conflict, InvalidInput
from hub.schemas import IdParam
from hub.staff import passwords
from hub.staff import service as staff
from hub.staff.web_sessions import Viewer

router = web_router(prefix="/admin")

#: What a finished change on the users page says (``?done=...&user=ID``).
DONE = ("added", "password", "deactivated", "reactivated")


@router.get("")
def admin_home(request: Request, viewer: AdminViewerDep) -> Response:
    return page(request, "admin.html", viewer, nav="admin", admin_section="")


def _users_page(request: Request, viewer: Viewer, session: SessionDep, *, status: int = 200,
                error: str = "", form: dict[str, str] | None = None, done: str = "",
                user_id: int | None = None) -> Response:
    users = staff.list_users(session, limit=200).items
    named = next((u for u in users if u.id == user_id), None)
    return page(request, "admin_users.html", viewer, status=status, nav="admin",
                admin_section="users", users=users, error=error,
                form=form or {"name": "", "email": "", "is_admin": ""},
                done=done if named is not None else "", done_user=named,
                min_length=passwords.MIN_LENGTH)


def _refusal(_: Callable[[str], str], exc: InvalidInput | Conflict) -> str:
    """What went wrong, in the viewer's language where the page knows the case."""
    if exc.field == "password":
        return _("A password needs at least %(n)s characters; a few unrelated words make a "
                 "good one.") % {"n": passwords.MIN_LENGTH}
    if isinstance(exc, InvalidInput) and exc.field == "email":
        return _("Enter an email address, such as name@firm.fi.")
    if isinstance(exc, InvalidInput) and exc.field == "name":
        return _("Enter the person's name.")
    if isinstance(exc, Conflict) and "last active admin" in exc.message:
        return _("This is the last active admin. Make another user an admin first.")
    if isinstance(exc, Conflict):
        return _("A user with this email already exists.")
    return exc.message


@router.get("/users")
def users_page(request: Request, viewer: AdminViewerDep, session: SessionDep,
               done: str = "", user: IdParam | None = None) -> Response:
    return _users_page(request, viewer, session, done=done if done in DONE else "",
                       user_id=user)


@router.post("/users")
def add_user(request: Request, viewer: AdminViewerDep, session: SessionDep,
             name: Annotated[str, Form(max_length=200)] = "",
             email: Annotated[str, Form(max_length=320)] = "",
             is_admin: Annotated[str, Form(max_length=10)] = "",
             password: Annotated[str, Form(max_length=passwords.MAX_LENGTH)] = "") -> Response:
    """A new user; with a password they can sign in at once (an empty one: later)."""
    try:
        # A savepoint: the page shown with the refusal must not list a half-made user.
        with session.begin_nested():
            user = staff.create_user(session, viewer.principal, email=email, name=name,
                                     is_admin=bool(is_admin))
            if password:
                passwords.set_password(session, viewer.principal, user, password)
    except (InvalidInput, Conflict) as exc:
        return _users_page(request, viewer, session, status=exc.status_code,
                           error=_refusal(gettext_for(request, viewer), exc),
                           form={"name": name, "email": email, "is_admin": is_admin})
    return RedirectResponse(f"/admin/users?done=added&user={user.id}", status_code=303)


@router.post("/users/{user_id}/password")
def set_password(request: Request, user_id: IdParam, viewer: AdminViewerDep, session: SessionDep,
                 password: Annotated[str, Form(max_length=passwords.MAX_LENGTH)] = ""
                 ) -> Response:
    """Set or reset the password; the user's sessions end (the service sees to it)."""
    user = staff.get_user(session, user_id)
    try:
        with session.begin_nested():
            passwords.set_password(session, viewer.principal, user, password)
    except InvalidInput as exc:
        return _users_page(request, viewer, session, status=exc.status_code,
                           error=_refusal(gettext_for(request, viewer), exc))
    return RedirectResponse(f"/admin/users?done=password&user={user.id}", status_code=303)


@router.post("/users/{user_id}/active")
def set_active(request: Request, user_id: IdParam, viewer: AdminViewerDep, session: SessionDep,
               active: Annotated[str, Form(max_length=5)] = "") -> Response:
    """Deactivate (signed out everywhere at once) or reactivate a user."""
    user = staff.get_user(session, user_id)
    try:
        with session.begin_nested():
            if active == "yes":
                staff.update_user(session, viewer.principal, user, is_active=True)
            else:
                staff.deactivate_user(session, viewer.principal, user)
    except Conflict as exc:
        return _users_page(request, viewer, session, status=exc.status_code,
                           error=_refusal(gettext_for(request, viewer), exc))
    done = "reactivated" if active == "yes" else "deactivated"
    return RedirectResponse(f"/admin/users?done={done}&user={user.id}", status_code=303)


router.include_router(admin_matrix.router)
router.include_router(admin_covers.router)
