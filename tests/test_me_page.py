"""SPEC.md "People's page": /me in a real headless Chromium, served by real
waitress: sign in, your records and nobody else's, a change shown without
a reload, the history timeline, sign out, a refused token and an identity
outage told apart, and the token nowhere but the tab's sessionStorage and
the Authorization header (the session's log check covers the server)."""

import time
import uuid

import pytest

from .support import ALICE_TOKEN, BOB_TOKEN, CAROL_TOKEN, call, new_application, new_instance, served
from .test_browser import CONTRAST_FAILURES, browse_until, browser, open_page  # noqa: F401 (fixtures)

NOT_ACCEPTED = "This token was not accepted."


@pytest.fixture
def server(make_app):
    with served(make_app()) as address:
        yield address


def base(address):
    return f"http://{address[0]}:{address[1]}"


def sign_in(page, address, token):
    page.page.goto(base(address) + "/me")
    page.page.get_by_label("~okeanos token").fill(token)
    page.page.get_by_role("button", name="Sign in").click()


def shown(page, kind):
    """{uuid: text of its card} of a kind's cards."""
    return page.page.eval_on_selector_all(
        f'[data-kind="{kind}"] .record',
        "cards => Object.fromEntries(cards.map(c => [c.dataset.uuid, c.querySelector('.record-head').innerText]))")


def stored(page):
    return page.page.evaluate("() => ({session: JSON.stringify(sessionStorage), local: JSON.stringify(localStorage)})")


def test_a_person_sees_their_records_live_and_nobody_elses(server, open_page):  # noqa: F811
    mine, theirs, application = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    assert call(server, "POST", "/api/lambda_instances/", ALICE_TOKEN, new_instance(mine, name="hadoop-1", status="20"))[0] == 202
    assert call(server, "POST", "/api/lambda_instances/", BOB_TOKEN, new_instance(theirs, name="bobs", status="0"))[0] == 202
    assert call(server, "POST", "/api/lambda_applications/", ALICE_TOKEN,
                new_application(application, name="wordcount.jar", status="0"))[0] == 202
    page = open_page(viewport={"width": 1280, "height": 900})
    sign_in(page, server, ALICE_TOKEN)
    browse_until(page, lambda: mine in shown(page, "instances") and application in shown(page, "applications"),
                 30, "alice's records shown")
    assert set(shown(page, "instances")) == {mine}  # not bob's
    assert "FLINK_INSTALLED (20)" in shown(page, "instances")[mine]
    assert page.page.inner_text("[data-user]") == "alice"

    # A service VM posts a failure: it shows without a reload, marked in words.
    posted = time.monotonic()
    assert call(server, "POST", f"/api/lambda_instances/{mine}/status/", ALICE_TOKEN,
                {"status": "21", "failure_message": "Flink failed to start"})[0] == 202
    browse_until(page, lambda: "✗ failed: FLINK_FAILED (21)" in shown(page, "instances").get(mine, ""), 30,
                 "the new status shown")
    print(f"\n[me] a status posted through the API showed on the page {time.monotonic() - posted:.2f} s later")
    assert call(server, "DELETE", f"/api/lambda_applications/{application}", ALICE_TOKEN)[0] == 202
    browse_until(page, lambda: application not in shown(page, "applications"), 30, "the deleted application gone")
    assert page.page.is_visible('[data-kind="applications"] [data-empty]')

    # Its history, as a timeline equal to its details.
    card = page.page.locator(f'.record[data-uuid="{mine}"]')
    card.get_by_role("button", name="History").click()
    details = call(server, "GET", f"/api/lambda_instances/{mine}", ALICE_TOKEN)[2]["data"][0]["history"]
    browse_until(page, lambda: card.locator(".timeline li").count() == len(details), 30, "the timeline drawn")
    steps = card.locator(".timeline li .status").all_inner_texts()
    assert steps == [f"{'✗ failed: ' if entry['status'] == '21' else ''}{entry['status_name']} ({entry['status']})"
                     for entry in details]
    assert card.locator(".timeline time").first.get_attribute("datetime") == details[0]["at"]
    assert card.get_by_role("button", name="History").get_attribute("aria-expanded") == "true"

    # The token: in the tab's sessionStorage only, never in a URL, a cookie or localStorage.
    assert ALICE_TOKEN in stored(page)["session"] and ALICE_TOKEN not in stored(page)["local"]
    assert page.context.cookies() == []
    assert not [url for url in page.requests if ALICE_TOKEN in url]
    page.page.get_by_role("button", name="Sign out").click()
    assert stored(page) == {"session": "{}", "local": "{}"}
    assert page.page.is_visible("form[data-sign-in]") and not page.page.is_visible("[data-signed-in]")
    assert page.console_errors == []


def test_a_reload_keeps_the_tab_signed_in_and_keyboard_alone_signs_in(server, open_page):  # noqa: F811
    page = open_page(viewport={"width": 375, "height": 812})
    page.page.goto(base(server) + "/me")
    page.page.keyboard.type(BOB_TOKEN)  # the field has the focus
    page.page.keyboard.press("Enter")
    browse_until(page, lambda: page.page.is_visible("[data-signed-in]"), 30, "signed in")
    page.page.reload()
    browse_until(page, lambda: page.page.is_visible("[data-signed-in]"), 30, "still signed in after a reload")
    assert page.page.inner_text("[data-user]") == "bob"
    # Nothing wider than the phone's screen.
    assert page.page.evaluate("() => document.documentElement.scrollWidth") <= 375


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_text_of_the_page_is_readable_in_both_colour_schemes(server, open_page, scheme):  # noqa: F811
    failed = str(uuid.uuid4())
    assert call(server, "POST", "/api/lambda_instances/", ALICE_TOKEN, new_instance(failed, status="9"))[0] == 202
    page = open_page(viewport={"width": 375, "height": 812}, color_scheme=scheme)
    assert page.page.evaluate(CONTRAST_FAILURES) == []  # the sign-in form
    sign_in(page, server, ALICE_TOKEN)
    browse_until(page, lambda: failed in shown(page, "instances"), 30, "the record shown")
    page.page.locator(".history-button").first.click()
    browse_until(page, lambda: page.page.locator(".timeline li").count() == 1, 30, "the timeline drawn")
    assert page.page.evaluate(CONTRAST_FAILURES) == []


def test_a_refused_token_is_told_and_kept_nowhere(server, open_page):  # noqa: F811
    page = open_page()
    sign_in(page, server, "not-a-token-of-anyone")
    browse_until(page, lambda: page.page.inner_text("[data-message]") == NOT_ACCEPTED, 30, "the refusal shown")
    assert stored(page) == {"session": "{}", "local": "{}"}
    assert not page.page.is_visible("[data-signed-in]")


def test_an_identity_outage_is_told_as_one(make_okeanos_app, fake, open_page):  # noqa: F811
    fake.fail_status = 503
    with served(make_okeanos_app()) as address:
        page = open_page()
        sign_in(page, address, CAROL_TOKEN)
        browse_until(page, lambda: "identity service is unavailable" in page.page.inner_text("[data-message]"), 30,
                     "the outage shown")
        assert NOT_ACCEPTED not in page.page.inner_text("[data-message]")
        assert stored(page)["session"] == "{}"
