"""Rendering pages: one Jinja2 environment per language, and the headers every page has."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup

from api.web.i18n import LANGUAGE_NAMES, Formats, negotiate, translations
from hub.db import utcnow
from hub.settings import Settings
from hub.staff.preferences import LOCALES
from hub.staff.web_sessions import Viewer

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

#: What a page may load and do: only this server's own scripts, styles and images (no
#: inline script, no eval, so htmx's ``hx-on`` is off - behaviour goes in static files),
#: never framed, forms posted only back here. A thread view that shows mail in a
#: sandboxed ``srcdoc`` iframe adds its own, stricter policy to that frame's response.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-src 'self'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'none'; object-src 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # Pages show what one person may see: never kept by a browser or a proxy, so the Back
    # button after signing out shows nothing.
    "Cache-Control": "no-store",
    "Vary": "Cookie, HX-Request",
}


@lru_cache(maxsize=64)
def _static_version(name: str) -> str:
    """A short hash of a static file, appended to its URL so that a new release is
    fetched at once while an unchanged file stays cached."""
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]


def static_url(name: str) -> str:
    return f"/static/{name}?v={_static_version(name)}"


def environment(locale: str, settings: Settings) -> Environment:
    return _environment(locale, settings.time_zone)


@pass_context
def csrf_field(context: Context) -> Markup:
    """The hidden field that carries the session's CSRF token in a form that changes
    something: ``{{ csrf_field() }}``."""
    return Markup('<input type="hidden" name="csrf_token" value="{}">').format(
        context["csrf_token"])


@lru_cache(maxsize=len(LOCALES) * 2)
def _environment(locale: str, zone_name: str) -> Environment:
    from zoneinfo import ZoneInfo

    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,  # a misspelt name fails the page (and its test)
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(locale), newstyle=True)  # type: ignore[attr-defined]
    formats = Formats(locale, ZoneInfo(zone_name))
    env.filters.update(datetime=formats.datetime, date=formats.date, time=formats.time,
                       number=formats.number, from_now=formats.from_now)
    env.globals.update(static=static_url, csrf_field=csrf_field,
                       language_names=LANGUAGE_NAMES, locales=LOCALES, zone_name=zone_name,
                       nav="")  # the current item of the main navigation, if any
    return env


def locale_of(request: Request, viewer: Viewer | None, chosen: str | None = None) -> str:
    """The viewer's language; for someone not signed in the one they ``chosen`` on the
    page, else their browser's."""
    settings: Settings = request.app.state.settings
    if viewer is not None and viewer.locale in LOCALES:
        return viewer.locale
    if chosen in LOCALES:
        return str(chosen)
    return negotiate(request.headers.get("accept-language"), settings.language)


def gettext_for(request: Request, viewer: Viewer | None,
                chosen: str | None = None) -> Callable[[str], str]:
    """``gettext`` in the request's language, for messages made in Python."""
    return translations(locale_of(request, viewer, chosen)).gettext


def formats_for(request: Request, viewer: Viewer | None, chosen: str | None = None) -> Formats:
    """Dates and numbers in the request's language, for messages made in Python."""
    settings: Settings = request.app.state.settings
    return Formats(locale_of(request, viewer, chosen), settings.zone)


def is_htmx(request: Request) -> bool:
    """Is this a request htmx made (which wants a fragment, not a whole page)?"""
    return request.headers.get("hx-request") == "true"


def page(request: Request, template: str, viewer: Viewer | None, *, status: int = 200,
         headers: Mapping[str, str] | None = None, locale: str | None = None,
         **context: Any) -> HTMLResponse:
    """``template`` rendered in the viewer's language (someone not signed in: their
    browser's), with the headers every page has. The template sees ``viewer``,
    ``csrf_token``, ``current_path`` (for a form's ``next``), ``now`` and ``context``."""
    settings: Settings = request.app.state.settings
    locale = locale_of(request, viewer, locale)
    env = environment(locale, settings)
    current = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    html = env.get_template(template).render(
        viewer=viewer, locale=locale, csrf_token=viewer.csrf_token if viewer else "",
        current_path=current, now=utcnow(), **context)
    return HTMLResponse(html, status, headers={**PAGE_HEADERS, **(headers or {})})
