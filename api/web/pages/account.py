"""The viewer's own account: changing their password (linked from their name in the
header). The other browsers signed in as them are signed out; this one stays."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import Form, Request, Response
from fastapi.responses import RedirectResponse

from api.deps import NowDep, SessionDep
from api.web.deps import ViewerDep
from api.web.render import formats_for, gettext_for, page
from api.web.routing import web_router
from hub.errors import InvalidInput, TooManyAttempts
from hub.settings import Settings
from hub.staff import passwords

router = web_router()


def _form(request: Request, viewer: ViewerDep, *, message: str = "", field: str = "",
          changed: bool = False, status: int = 200) -> Response:
    return page(request, "account_password.html", viewer, status=status, message=message,
                field=field, changed=changed, min_length=passwords.MIN_LENGTH,
                max_length=passwords.MAX_LENGTH)


@router.get("/me/password")
def password_form(request: Request, viewer: ViewerDep, changed: bool = False) -> Response:
    return _form(request, viewer, changed=changed)


@router.post("/me/password")
def change_password(
    request: Request,
    viewer: ViewerDep,
    session: SessionDep,
    at: NowDep,
    current_password: Annotated[str, Form(max_length=passwords.MAX_LENGTH)] = "",
    new_password: Annotated[str, Form(max_length=passwords.MAX_LENGTH)] = "",
    new_password_again: Annotated[str, Form(max_length=passwords.MAX_LENGTH)] = "",
) -> Response:
    _ = gettext_for(request, viewer)
    if new_password != new_password_again:
        return _form(request, viewer, status=422, field="new_password_again",
                     message=_("The new password and its repetition differ. Type the same "
                               "new password in both fields."))
    if len(new_password) < passwords.MIN_LENGTH:
        return _form(request, viewer, status=422, field="new_password",
                     message=_("The new password is too short: it needs at least %(count)s "
                               "characters. A few unrelated words make a good one.")
                     % {"count": passwords.MIN_LENGTH})
    settings: Settings = request.app.state.settings
    try:
        passwords.change_own_password(
            session, viewer.principal, current=current_password, new=new_password,
            keeping_session=viewer.session_row_id,
            address=request.client.host if request.client else "unknown", now=at,
            settings=settings)
    except TooManyAttempts as exc:
        formats = formats_for(request, viewer)
        wait = max(1, math.ceil((exc.retry_at - at).total_seconds()))
        return page(request, "account_password.html", viewer, status=429,
                    headers={"Retry-After": str(wait)}, field="current_password",
                    changed=False, min_length=passwords.MIN_LENGTH,
                    max_length=passwords.MAX_LENGTH,
                    message=_("Too many wrong passwords. Try again at %(time)s (%(wait)s).")
                    % {"time": formats.time(exc.retry_at),
                       "wait": formats.from_now(exc.retry_at, at)})
    except InvalidInput as exc:
        if exc.field != "current_password":
            raise
        return _form(request, viewer, status=422, field="current_password",
                     message=_("The current password is wrong. Type the password you signed "
                               "in with."))
    return RedirectResponse("/me/password?changed=1", status_code=303)
