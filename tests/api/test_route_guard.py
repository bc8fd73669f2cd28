"""Every route but a short public list requires the authenticated principal."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from fastapi.routing import APIRoute

from api.app import PUBLIC_PATHS, create_app
from api.deps import current_principal


def _routes(routes: list[Any]) -> Iterator[tuple[str, set[str], Any]]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route.path, set(route.methods), route.dependant
        elif hasattr(route, "effective_route_contexts"):  # an included router
            for ctx in route.effective_route_contexts():
                yield ctx.path, set(ctx.methods or ()), ctx.dependant
        else:
            yield getattr(route, "path", repr(route)), set(getattr(route, "methods", ())), None


def _calls(dependant: Any) -> Iterator[Any]:
    for dep in dependant.dependencies:
        yield dep.call
        yield from _calls(dep)


def test_every_route_depends_on_the_principal(tmp_path):
    app = create_app()
    unguarded = [
        (path, methods)
        for path, methods, dependant in _routes(app.router.routes)
        if path not in PUBLIC_PATHS
        and (dependant is None or current_principal not in set(_calls(dependant)))
    ]
    assert unguarded == []
    assert len(list(_routes(app.router.routes))) > 30  # the walk did reach the API


def test_every_api_operation_answers_401_without_a_token(api):
    spec = api.get("/openapi.json").json()
    checked = 0
    for path, operations in spec["paths"].items():
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        for method in operations:
            response = api.request(method.upper(), concrete)
            assert response.status_code == 401, (method, path, response.text)
            assert "Bearer" in response.json()["error"]["message"]
            checked += 1
    assert checked > 40
