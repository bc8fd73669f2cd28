"""axe-core's rules (the npm package, injected by the test only) find no serious or
critical violation on the main pages, in both languages."""

from __future__ import annotations

import pytest

from tests.web.conftest import AXE, screenshot, sign_in

#: Rule sets to run: WCAG 2.1 A and AA, and axe's best practices (landmarks, headings).
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


def _violations(page):
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})",
                           TAGS)
    assert result["passes"], "axe ran no rule"  # the rules did run on this page
    return [(v["id"], v["impact"], [n["target"] for n in v["nodes"]])
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("language", ["fi", "en"])
def test_no_serious_violation_on_the_sign_in_page_and_my_work(axe_tab, served, language):
    page = axe_tab.page
    page.goto(f"/login?lang={language}")
    assert _violations(page) == []
    page.get_by_label("Sähköposti" if language == "fi" else "Email").fill(
        served.firm.liisa.email)
    page.get_by_label("Salasana" if language == "fi" else "Password").fill("väärä salasana")
    page.get_by_role("button", name="Kirjaudu sisään" if language == "fi" else "Sign in").click()
    page.get_by_role("alert").wait_for()
    assert _violations(page) == []  # with the error message shown

    sign_in(page, served.firm.liisa)
    if language == "en":
        page.get_by_role("button", name="English").click()
        page.wait_for_function("() => document.documentElement.lang === 'en'")
    assert _violations(page) == []
    screenshot(page, f"my-work-axe-{language}")
    page.goto("/clients")
    assert _violations(page) == []
    page.goto(f"/clients/{served.firm.clients['Kahvila Aalto Oy']}")
    assert _violations(page) == []
    page.goto("/clients/987654321")
    assert _violations(page) == []


def test_the_check_finds_a_violation_when_there_is_one(axe_tab, served):
    """A field without a label and grey-on-grey text, put into the sign-in page."""
    page = axe_tab.page
    page.goto("/login")
    page.evaluate("""() => {
        const field = document.createElement('input');
        field.type = 'text';
        document.querySelector('main').append(field);
        const faint = document.createElement('p');
        faint.textContent = 'Faint text';
        faint.style.color = '#bbbbbb';
        faint.style.background = '#cccccc';
        document.querySelector('main').append(faint);
    }""")
    found = {rule for rule, _impact, _nodes in _violations(page)}
    assert {"label", "color-contrast"} <= found
