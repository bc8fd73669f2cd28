"""``clienthub users set-password``: a password for the web view, typed twice unseen, or
read from standard input (``--password-stdin``) for scripts. Never an argument: those
end up in shell histories and process lists."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from api.cli_common import ByOpt, acting, out, work
from hub.errors import ClientHubError


def set_password(
    email: str,
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the password from the first line of standard input")]
    = False,
    by: ByOpt = None,
) -> None:
    """Set or reset a user's password for the web view; their web sessions end."""
    from hub.staff import passwords
    from hub.staff import service as staff

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    else:
        raise ClientHubError("there is no terminal to type the password on; pipe it in with "
                             "--password-stdin")
    passwords.check_policy(password)  # before the database is opened: a typo costs nothing
    work(lambda s: passwords.set_password(s, acting(s, by), staff.find_user_by_email(s, email),
                                          password))
    out.print(f"Password of {email} set; they can sign in to the web view now.")
