"""The web view: server-rendered pages (Jinja2) with htmx, on the API's services.

``install(app)`` (called by :func:`api.app.create_app`) adds the pages and ``/static``.

Adding a page
-------------
1. A router in ``pages/`` made by :func:`api.web.routing.web_router` (pages answer HTML,
   also when they fail, and stay out of the OpenAPI document); list it in ``_PAGES``.
2. Depend on ``ViewerDep`` (or ``AdminViewerDep``) from :mod:`api.web.deps`: it signs the
   viewer in from the session cookie, checks the CSRF token of a POST/PUT/PATCH/DELETE,
   and carries the same ``Principal`` the API's services take (``viewer.principal``).
   The route guard test fails on a page without it; only the sign-in page and the static
   files are public (:data:`PUBLIC_PATHS`).
3. Parse, call a hub service, render: ``page(request, "x.html", viewer, **context)``
   (:mod:`api.web.render`). No SQL here; a NotFound from the service is the 404 page,
   which reads the same for a client that does not exist and one not the viewer's to see.
4. A template extends ``base.html`` and fills ``title`` and ``main``; ``nav`` in the
   context marks the current item of the main navigation.

Forms and htmx
--------------
- A form that changes something posts with ``{{ csrf_field() }}`` inside it; htmx
  requests send the token by themselves (``hx-headers`` on ``<body>``). The transaction
  commits when the answer is below 400, as in the API; answer a successful form with a
  303 redirect (or, to htmx, the fragment to swap in).
- For a fragment, check ``is_htmx(request)`` and render a template of ``partials/``
  (``pages/my_work.py``'s "show more" is the example), or give the element ``hx-select``.
- No inline script and no ``hx-on`` (the Content-Security-Policy forbids both): put
  behaviour in a file under ``static/`` and load it from ``base.html``.

Languages
---------
Texts are English in the templates (``{{ _("...") }}``, ``{% trans %}``) and in Python
(``gettext_for(request, viewer)``); Finnish is the default. After adding texts::

    cd api/web
    pybabel extract -F babel.cfg -o locale/messages.pot --no-location --sort-output .
    pybabel update -i locale/messages.pot -d locale --ignore-obsolete

then translate the new entries in ``locale/fi/LC_MESSAGES/messages.po`` (the English
catalogue keeps its entries empty: English is the source). The catalogues are compiled
in memory at start (:mod:`api.web.i18n`); tests/web/test_catalogues.py fails on a text
without a Finnish translation. Dates, times and numbers go through the filters
``|datetime``, ``|date``, ``|time``, ``|number`` and ``|from_now(now)``: the viewer's
language, the firm's time zone.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.web.pages import (
    account,
    admin,
    admin_access,
    admin_audit,
    admin_folders,
    admin_sync,
    auth,
    auth_microsoft,
    clients,
    files,
    my_work,
    search,
    threads,
)
from api.web.render import STATIC

#: Paths reachable without signing in: the sign-in pages (password, Microsoft) and the
#: static files.
PUBLIC_PATHS = frozenset({"/login", "/static", auth_microsoft.START_PATH,
                          auth_microsoft.CALLBACK_PATH})

_PAGES = (auth, auth_microsoft, my_work, clients, search, admin, threads, files,
          admin_access, admin_folders, admin_sync, admin_audit, account)


def install(app: FastAPI) -> None:
    """Add the web view's pages and static files to ``app``."""
    for module in _PAGES:
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")


__all__ = ["PUBLIC_PATHS", "install"]
