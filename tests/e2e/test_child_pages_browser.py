"""A scam site's own script against the warning, in real Chromium through a real proxy (warn and block mode).

The script runs in a page of the scam site's origin (``page.evaluate`` runs it in the page's own world, with
the page's origin, as the site's script would). It is even handed what it should never get: the warning's
id and a valid form token from the child's own pages. It tries to read the warned page, follow "continue
anyway", post "Tell my parent" and post the help form with a scammer's words, by fetch() and by submitting
forms that navigate the whole tab. None of it may work: the parent gets no child-raised alert, no choice is
recorded and the next visit is still warned. Then the real child clicks the same buttons, and they work.
"""

from __future__ import annotations

import pytest
from child_browser import CHROMIUM, TIMEOUT_MS, launch
from proxy_harness import CHILD, Origin, ProxyProcess

from alert_store import AlertFilter
from proxy_addon.child_pages import HELP_URL, ORIGIN

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

SCAMMER = "Mum, it's me, I lost my phone. Call this number now: 0900 123 456"

# Reads and posts by fetch(); returns what the script could see.
FETCH_ATTACK = """
async ({warning, token, helpToken, origin, note}) => {
  const seen = {};
  try { const r = await fetch('/win'); seen.follow = r.status + ' ' + await r.text(); }
  catch (e) { seen.follow = 'blocked'; }
  const manual = await fetch('/win', {redirect: 'manual'});
  seen.manual = [manual.type, manual.status, manual.headers.get('location'), await manual.text()];
  try { const r = await fetch(warning, {credentials: 'include'}); seen.read = await r.text(); }
  catch (e) { seen.read = 'blocked'; }
  const posts = [
    [warning + '/continue', {token}],
    [warning + '/tell', {token}],
    [origin + '/', {token: helpToken, topic: 'other', note, lang: 'en'}],
  ];
  for (const [url, fields] of posts) {
    const r = await fetch(url, {method: 'POST', mode: 'no-cors', credentials: 'include',
                                body: new URLSearchParams(fields)}).catch(() => null);
    seen[url] = r ? r.type : 'failed';
  }
  return seen;
}
"""
# Submits a form from the scam site's page: the whole tab navigates to notalone.home.arpa.
FORM_ATTACK = """
({url, fields}) => {
  const form = document.createElement('form');
  form.method = 'POST';
  form.action = url;
  for (const [name, value] of Object.entries(fields)) {
    const input = document.createElement('input');
    input.type = 'hidden'; input.name = name; input.value = value;
    form.appendChild(input);
  }
  document.body.appendChild(form);
  form.submit();
}
"""


@pytest.fixture(scope="module", params=["warn", "block"])
def guarded(request: pytest.FixtureRequest, child_proxy) -> ProxyProcess:
    return child_proxy(mode=request.param)


def help_alerts(proxy: ProxyProcess) -> list:
    with proxy.store() as store:
        return store.list(AlertFilter(category="help"), limit=100)


def choices(proxy: ProxyProcess) -> list[str]:
    with proxy.store() as store:
        return [
            choice
            for alert in store.list(AlertFilter(category="scam"))
            for choice in store.choices_for(alert.id)
        ]


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (make browser)")
def test_a_scam_sites_script_cannot_speak_for_the_child(guarded: ProxyProcess, origin: Origin) -> None:
    from playwright.sync_api import expect, sync_playwright

    mode = guarded.process.args[guarded.process.args.index("--mode") + 1]
    scam = origin.https + "/win"
    with sync_playwright() as p:
        browser = launch(p, guarded)
        try:
            child = browser.new_page(locale="en-US")
            child.set_default_timeout(TIMEOUT_MS)
            child.goto(scam)
            expect(child.locator("#notalone-interstitial")).to_be_visible()
            warning = child.url
            assert warning.startswith(ORIGIN + "/warning/")
            token = child.locator("input[name=token]").first.get_attribute("value")
            child.goto(HELP_URL)
            help_token = child.locator("input[name=token]").get_attribute("value")

            site = browser.new_page(locale="en-US")  # another tab on the scam site's origin
            site.set_default_timeout(TIMEOUT_MS)
            site.goto(origin.https + "/homework")
            args = {
                "warning": warning,
                "token": token,
                "helpToken": help_token,
                "origin": ORIGIN,
                "note": SCAMMER,
            }
            seen = site.evaluate(FETCH_ATTACK, args)
            assert seen["follow"] == "blocked" and seen["read"] == "blocked"
            assert seen["manual"] == ["opaqueredirect", 0, None, ""]
            assert "token" not in str(seen) and "notalone-interstitial" not in str(seen)

            for url, fields in (
                (warning + "/continue", {"token": token}),
                (warning + "/tell", {"token": token}),
                (ORIGIN + "/", {"token": help_token, "topic": "other", "note": SCAMMER, "lang": "en"}),
            ):
                site.goto(origin.https + "/homework")
                with site.expect_navigation(url=url):
                    site.evaluate(FORM_ATTACK, {"url": url, "fields": fields})
                expect(site.locator("#notalone-help-result")).to_have_attribute("data-result", "refused")

            counters = guarded.counters()  # every attempt reached the pages, and was refused
            assert counters.get("child_pages.refused_script", 0) >= 5  # 2 reads, 3 posts by fetch()
            assert counters.get("interstitial.refused_navigation", 0) >= 2  # 2 forms
            assert counters.get("help.refused_navigation", 0) >= 1
            assert help_alerts(guarded) == [] and choices(guarded) == []
            assert "help.received" not in counters and "interstitial.continued" not in counters
            child.goto(scam)
            expect(child.locator("#notalone-interstitial")).to_be_visible()  # still warned

            # The real child's clicks work.
            child.get_by_role("button", name="Tell my parent").click()
            expect(child.get_by_text("Your parent will see this.")).to_be_visible()
            [told] = help_alerts(guarded)
            assert (told.child, told.url, told.source) == (
                CHILD,
                scam,
                "child",
            ) and SCAMMER not in told.snippet
            child.get_by_role("button", name="Go back to safety").click()
            expect(child.get_by_text("Good choice! You can close this tab")).to_be_visible()

            child.goto(HELP_URL)
            child.get_by_label("Someone asks for money or a code").check()
            child.get_by_label("Do you want to say more?").fill("A man says he is the police")
            child.get_by_role("button", name="Send to my parent").click()
            expect(child.get_by_text("You did the right thing. Your parent will see this.")).to_be_visible()
            assert sorted(a.child_note for a in help_alerts(guarded)) == ["", "A man says he is the police"]

            child.goto(scam)
            if mode == "block":
                expect(child.locator("#continue-anyway")).to_have_count(0)
                assert choices(guarded) == ["told_parent", "went_back"]
            else:
                child.get_by_role("button", name="Continue anyway").click()
                expect(
                    child.get_by_role("heading", name="Congratulations, you won an iPhone!")
                ).to_be_visible()
                assert choices(guarded) == ["told_parent", "went_back", "continued"]
        finally:
            browser.close()
