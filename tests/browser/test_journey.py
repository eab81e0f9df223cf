"""The main journey in a real browser: from a client's registration to a certificate and a paid invoice.

One live server process serves the pages; six browser contexts act as the client, the body's
scheduler, auditor, decision maker and finance staff, and a member of the public. Everything
after the seeding (bodies with verified accreditations, auditors with qualifications, body staff)
happens through the pages: links, typing, selecting and submitting forms with the keyboard.

Audits take days, so the server's clock is moved (tests/browser/clocked_server.py) between three
moments: a Monday morning the week before last (the client finds a body and books stage 1 for
Tuesday), that Tuesday evening (stage 1 held, stage 2 booked for Wednesday-Thursday) and now
(stage 2 held: report, corrective action, decision, verification, invoice, payment).

Each step is screenshotted to artifacts/browser/, and every page visited is checked for a sane
title, one h1, a skip link reached by the first Tab, an accessible label on every visible field
and an accessible name on every visible button, and that Tab reaches the form the step submits.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser, Locator, Page, expect

from marketplace.accounts.tables import User
from marketplace.core import clock
from marketplace.directory import services as directory
from marketplace.scheduling.auditors import create_auditor
from tests.factories import PASSWORD, World, make_body, make_user
from tests.live_server import free_port, live_server

STANDARD = "ISO 9001:2015"
SECTOR = "28"  # Construction
WEBHOOK_SECRET = "whsec_journey"
MAX_TABS = 250
TAB_BATCH = 8
# A fixed-size minimal PDF: evidence is checked by its signature, not its name.
EVIDENCE_PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"

# What a visible field or button must have to be announced by a screen reader: a <label> (for= or
# wrapping), aria-label or aria-labelledby; buttons their text. The card fields inside
# #payment-element are the Stripe emulator's stand-in for Stripe's Payment Element, which real
# Stripe.js renders in its own labelled iframe; they are not our markup.
UNNAMED_JS = """
() => {
  const visible = (el) => {
    const style = getComputedStyle(el);
    return el.getClientRects().length > 0 && style.visibility !== "hidden" && style.display !== "none";
  };
  const text = (el) => (el && el.textContent || "").trim();
  const labelledBy = (el) => (el.getAttribute("aria-labelledby") || "").split(/\\s+/)
    .some((id) => text(document.getElementById(id)));
  const bad = [];
  for (const el of document.querySelectorAll("input, select, textarea")) {
    if (el.closest("#payment-element")) continue;
    const type = (el.getAttribute("type") || "").toLowerCase();
    if (["hidden", "submit", "button", "reset", "image"].includes(type) || !visible(el)) continue;
    const named = (el.getAttribute("aria-label") || "").trim() || labelledBy(el)
      || [...(el.labels || [])].some((label) => text(label));
    if (!named) bad.push(el.outerHTML.slice(0, 160));
  }
  for (const el of document.querySelectorAll("button, input[type=submit]")) {
    if (el.closest("#payment-element") || !visible(el)) continue;
    const named = text(el) || el.value || (el.getAttribute("aria-label") || "").trim() || labelledBy(el);
    if (!named) bad.push(el.outerHTML.slice(0, 160));
  }
  return bad;
}
"""


def nav(page: Page, name: str) -> Locator:
    """A link in the site's main navigation."""
    return page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True)


class Journey:
    """Screenshots, page checks and keyboard submission shared by every step."""

    def __init__(self, shots: Path) -> None:
        self.shots = shots
        self.step = 0
        self.base = ""
        self.pages_checked = 0
        self.started = time.monotonic()

    def url(self, path: str) -> str:
        return self.base + path

    async def shot(self, page: Page, name: str) -> None:
        self.step += 1
        print(f"{time.monotonic() - self.started:6.1f}s  {self.step:02d} {name}")
        # Unfocused: the skip link the checks left focused would cover the header.
        await page.evaluate("() => document.activeElement && document.activeElement.blur()")
        await page.screenshot(path=str(self.shots / f"{self.step:02d}-{name}.png"), full_page=True)

    async def check(self, page: Page, submit: Locator | None = None) -> None:
        """The accessibility floor of a page just loaded; `submit` is the button the step uses."""
        title = await page.title()
        assert title, f"no <title> on {page.url}"
        assert "<" not in title, f"markup in the <title> of {page.url}: {title[:200]!r}"
        assert len(title) < 120, f"runaway <title> on {page.url}: {title[:200]!r}"
        await expect(page.locator("h1")).to_have_count(1)
        unnamed = await page.evaluate(UNNAMED_JS)
        assert unnamed == [], (
            f"fields or buttons without an accessible name on {page.url}: {unnamed}"
        )
        # Focus starts at the top of a freshly loaded page: the skip link comes first.
        await page.keyboard.press("Tab")
        assert await page.evaluate(
            "() => document.activeElement.classList.contains('skip-link')"
        ), f"the first Tab on {page.url} does not reach the skip link"
        if submit is not None:
            await self._tab_to(page, submit)
        self.pages_checked += 1

    async def _tab_to(self, page: Page, target: Locator) -> None:
        """Skip link, then Tab through the main content until the step's button has the focus."""
        await expect(target).to_be_visible()
        await page.keyboard.press("Enter")
        assert await page.evaluate("() => document.activeElement.id === 'main'"), (
            f"the skip link on {page.url} does not move the focus to the main content"
        )
        await target.evaluate(
            "el => { window.__reached = false;"
            " el.addEventListener('focus', () => { window.__reached = true; }, {once: true}); }"
        )
        # Checked every few presses: one round trip per key is what the walk costs.
        for _ in range(0, MAX_TABS, TAB_BATCH):
            for _ in range(TAB_BATCH):
                await page.keyboard.press("Tab")
            if await page.evaluate("() => window.__reached"):
                return
        raise AssertionError(f"Tab never reaches {await target.inner_text()!r} on {page.url}")

    async def submit(self, page: Page, button: Locator) -> None:
        """Press Enter on the form's button (keyboard only) and insist on a good answer."""
        async with page.expect_navigation() as navigation:
            await button.press("Enter")
        response = await navigation.value
        if response is not None and not response.ok:
            alerts = await page.locator("[role=alert], .field-error").all_inner_texts()
            raise AssertionError(f"{page.url} answered {response.status}: {alerts}")

    async def follow(self, page: Page, link: Locator) -> None:
        async with page.expect_navigation():
            await link.click()

    async def sign_in(self, page: Page, email: str) -> None:
        await page.goto(self.url("/"))
        await self.follow(page, nav(page, "Sign in"))
        button = page.get_by_role("button", name="Sign in")
        await self.check(page, button)
        await page.get_by_label("E-mail address").fill(email)
        await page.get_by_label("Password").fill(PASSWORD)
        await self.submit(page, button)
        await expect(page).to_have_url(self.url("/account"))


# --- seeding: what exists before anyone opens a browser ------------------------------------------


async def seed(world: World) -> dict[str, Any]:
    """Two accredited bodies (one with auditors and staff), one body whose accreditation is pending."""
    owner = world.actor("a", "body:owner").user_id
    admin = world.admin.user_id
    valid = clock.today() + dt.timedelta(days=700)
    profiles = {
        world.a.body_id: {
            "name": "Northbridge Certification",
            "description": "Management-system certification for builders and manufacturers.",
            "languages": ["en"],
            "regions": ["GB", "IE"],
            "services": ["remote_audits", "gap_analysis", "dedicated_contact"],
            "remote_audits": True,
        },
        world.b.body_id: {
            "name": "Harbour Assurance",
            "description": "Quality and environmental certification across the UK.",
            "languages": ["en", "cy"],
            "regions": ["GB"],
            "services": ["training", "multi_site"],
            "remote_audits": False,
            "day_rate_min_minor": 80000,
            "day_rate_max_minor": 110000,
        },
    }
    numbers = {world.a.body_id: "04213", world.b.body_id: "11870"}
    for body_id, profile in profiles.items():
        await directory.update_body(owner, body_id, profile)
        accreditation = await directory.declare_accreditation(
            owner,
            body_id,
            {
                "accreditation_body": "UKAS",
                "number": numbers[body_id],
                "standard": STANDARD,
                "iaf_sectors": [17, 28, 29],
                "valid_until": valid,
                "evidence_url": "https://www.ukas.com/find-an-organisation/",
            },
        )
        await directory.decide_accreditation(admin, accreditation, "verify")
    pending = await make_body("Pending Quality Ltd")
    await directory.declare_accreditation(
        (await make_user("owner@pending-quality.example")).user_id,
        pending,
        {
            "accreditation_body": "UKAS",
            "number": "55555",
            "standard": STANDARD,
            "iaf_sectors": [28],
            "valid_until": valid,
        },
    )
    staff = {
        "scheduler": "Sam Scheduler",
        "auditor": "Avery Lead",
        "decision_maker": "Dana Decider",
        "finance": "Finley Finance",
    }
    for role, name in staff.items():
        user_id = world.actor("a", f"body:{role}").user_id
        await User.update({User.name: name}).where(User.id == user_id).run()
    auditor_user = world.actor("a", "body:auditor").user_id
    for name, lead, user in (("Avery Lead", True, auditor_user), ("Sam Second", False, None)):
        await create_auditor(
            owner,
            world.a.body_id,
            {
                "name": name,
                "email": f"{name.split()[0].lower()}@northbridge.example",
                "time_zone": "Europe/London",
                "lead": lead,
                "user_id": user,
                "qualifications": [{"standard": STANDARD, "iaf_sector": 28}],
            },
        )
    return {
        "scheduler": world.actor("a", "body:scheduler").email,
        "auditor": world.actor("a", "body:auditor").email,
        "decider": world.actor("a", "body:decision_maker").email,
        "finance": world.actor("a", "body:finance").email,
    }


# --- the three moments of the journey -----------------------------------------------------------


def moments(today: dt.date) -> tuple[dt.date, dt.datetime, dt.datetime]:
    """The Monday of the week before last, 08:00 UTC, and its Tuesday at 18:00 UTC."""
    monday = today - dt.timedelta(days=today.weekday() + 7)
    morning = dt.datetime.combine(monday, dt.time(8), tzinfo=dt.UTC)
    tuesday_evening = dt.datetime.combine(monday + dt.timedelta(days=1), dt.time(18), tzinfo=dt.UTC)
    return monday, morning, tuesday_evening


def set_clock(path: Path, moment: dt.datetime | None) -> None:
    """Move the server's clock (None: back to the real time); see clocked_server.py."""
    path.write_text(moment.isoformat() if moment else "")


async def test_client_to_certificate_and_paid_invoice(
    world: World, browser: Browser, artifacts: Path, stripe_emulator_url: str, tmp_path: Path
) -> None:
    logins = await seed(world)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    clock_file = tmp_path / "journey-clock"
    env = {
        "JOURNEY_CLOCK_FILE": str(clock_file),
        "MARKETPLACE_BASE_URL": base,
        "STRIPE_SECRET_KEY": "sk_test_journey",
        "STRIPE_PUBLISHABLE_KEY": "pk_test_journey",
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_API_BASE": stripe_emulator_url,
    }
    async with httpx.AsyncClient(base_url=stripe_emulator_url) as emulator:
        response = await emulator.post(
            "/_config/webhooks/journey",
            data={"url": f"{base}/webhooks/stripe", "secret": WEBHOOK_SECRET},
        )
        response.raise_for_status()

    j = Journey(artifacts)
    j.base = base
    errors: list[str] = []

    async def new_page() -> Page:
        context = await browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        page = await context.new_page()
        page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
        page.on(
            "console",
            lambda msg: (
                errors.append(f"{page.url}: {msg.text}")
                if msg.type == "error" and "Content Security Policy" in msg.text
                else None
            ),
        )
        return page

    monday, monday_morning, tuesday_evening = moments(clock.today())
    tuesday, wednesday, thursday = (monday + dt.timedelta(days=n) for n in (1, 2, 3))

    with contextlib.ExitStack() as stack:
        # The server starts (in a thread: live_server waits for it) while the browser opens pages.
        server = live_server(env=env, port=port, module="tests.browser.clocked_server")
        started_server, pages = await asyncio.gather(
            asyncio.to_thread(stack.enter_context, server),
            asyncio.gather(*(new_page() for _ in range(6))),
            return_exceptions=True,
        )
        for outcome in (started_server, pages):
            if isinstance(outcome, BaseException):
                raise outcome
        assert isinstance(pages, list)
        client, scheduler, auditor, decider, finance, public = pages

        # Monday morning: the client finds, compares and chooses a body; stage 1 is booked.
        set_clock(clock_file, monday_morning)
        await client_registers_and_creates_organisation(j, client)
        await client_filters_and_compares_bodies(j, client)
        request_url = await client_requests_quotes(j, client)
        await j.sign_in(scheduler, logins["scheduler"])
        await body_answers_the_quote(j, scheduler)
        await client_accepts(j, client, request_url)
        await body_proposes(j, scheduler, "stage1", tuesday, tuesday)
        await client_confirms(j, client, "stage1")

        # Tuesday evening: stage 1 took place; stage 2 is booked.
        set_clock(clock_file, tuesday_evening)
        await j.sign_in(auditor, logins["auditor"])
        await auditor_records_completion(j, auditor, "stage1")
        await body_proposes(j, scheduler, "stage2", wednesday, thursday)
        await client_confirms(j, client, "stage2")

        # Now: stage 2 is over; report, corrective action, decision, invoice, payment.
        set_clock(clock_file, None)
        await auditor_records_completion(j, auditor, "stage2")
        await auditor_issues_report_with_major(j, auditor)
        await client_answers_with_evidence(j, client)
        await auditor_verifies(j, auditor)
        await j.sign_in(decider, logins["decider"])
        number = await decision_maker_grants(j, decider)
        await public_verifies(j, public, number)
        await j.sign_in(finance, logins["finance"])
        await finance_issues_invoice(j, finance)
        await client_pays(j, client)

    assert errors == [], errors
    assert j.pages_checked >= 40
    assert len(list(artifacts.glob("*.png"))) == j.step


# --- the steps ----------------------------------------------------------------------------------


async def client_registers_and_creates_organisation(j: Journey, page: Page) -> None:
    await page.goto(j.url("/"))
    await j.check(page)
    await j.follow(page, nav(page, "Register"))
    create = page.get_by_role("button", name="Create account")
    await j.check(page, create)
    await page.get_by_label("Your name").fill("Morgan Quinn")
    await page.get_by_label("E-mail address").fill("morgan@acme-build.example")
    await page.get_by_label("Password", exact=True).fill("sturdy scaffolding on the wharf")
    await page.get_by_label("Your time zone").fill("Europe/London")
    await j.shot(page, "client-registration-form")
    await j.submit(page, create)
    await expect(page.locator("h1")).to_have_text("Morgan Quinn")
    await j.check(page)

    await j.follow(page, page.get_by_role("link", name="Create a client organisation"))
    create = page.get_by_role("button", name="Create organisation")
    await j.check(page, create)
    await page.get_by_label("Organisation name").fill("Acme Build Ltd")
    await page.get_by_label("Country (two-letter code)").fill("GB")
    await page.get_by_label("Industry (IAF sector)").select_option(SECTOR)
    await page.get_by_label("Effective personnel").fill("45")
    await page.get_by_label("Address").fill("1 Wharf Road, Leeds LS1 4AB")
    await page.get_by_label("Time zone", exact=True).fill("Europe/London")
    await j.submit(page, create)
    await expect(page.locator("h1")).to_have_text("Acme Build Ltd")
    await expect(page.locator("dl.facts")).to_contain_text("45")
    await j.check(page)
    await j.shot(page, "client-organisation-created")


async def client_filters_and_compares_bodies(j: Journey, page: Page) -> None:
    await j.follow(page, nav(page, "Find a body"))
    search = page.get_by_role("button", name="Search")
    await j.check(page, search)
    await page.get_by_label("Standard").select_option(STANDARD)
    await page.get_by_label("IAF sector").select_option(SECTOR)
    await page.get_by_label("Country served (e.g. GB)").fill("GB")
    await j.submit(page, search)
    results = page.get_by_role("region", name="Results")
    await expect(results).to_contain_text("2 bodies found.")
    await expect(results.get_by_role("link", name="Northbridge Certification")).to_be_visible()
    await expect(results.get_by_role("link", name="Harbour Assurance")).to_be_visible()
    # Its accreditation is only declared, not verified: it must not count.
    await expect(results).not_to_contain_text("Pending Quality Ltd")
    compare = page.get_by_role("button", name="Compare selected (2 to 4)")
    await j.check(page, compare)
    await page.get_by_label("Compare Northbridge Certification").check()
    await page.get_by_label("Compare Harbour Assurance").check()
    await j.shot(page, "directory-filtered")
    await j.submit(page, compare)

    await expect(page.locator("h1")).to_have_text("Compare certification bodies")
    accredited = page.get_by_role("row", name=f"Accredited for {STANDARD} in IAF sector {SECTOR}")
    await expect(accredited.locator(".badge.ok")).to_have_count(2)
    await expect(page.get_by_role("row", name="Estimated three-year cost")).to_contain_text("GBP")
    await j.check(page, page.get_by_role("button", name="Update"))
    await j.shot(page, "directory-compared")


async def client_requests_quotes(j: Journey, page: Page) -> str:
    await j.follow(page, page.get_by_role("link", name="Request quotes from these bodies"))
    send = page.get_by_role("button", name="Send the request")
    await j.check(page, send)
    await expect(page.get_by_label("Northbridge Certification (GB)")).to_be_checked()
    await expect(page.get_by_label("Harbour Assurance (GB)")).to_be_checked()
    await expect(page.get_by_label("Effective personnel")).to_have_value("45")
    await page.get_by_label("Message to the bodies").fill(
        "One head office and site teams; we would like stage 1 soon."
    )
    await j.submit(page, send)
    await expect(page.locator("h1")).to_have_text(f"Quotes for {STANDARD}")
    await expect(page.get_by_text("awaiting answer")).to_have_count(2)
    await j.check(page)
    await j.shot(page, "client-quote-request-sent")
    return page.url.split("#")[0]


async def body_answers_the_quote(j: Journey, page: Page) -> None:
    await j.follow(page, nav(page, "Quotes"))
    await j.check(page)
    await j.follow(
        page, page.get_by_role("link", name="Northbridge Certification: requests received")
    )
    await j.check(page)
    row = page.get_by_role("row").filter(has_text="Acme Build Ltd")
    await j.follow(page, row.get_by_role("link", name="Answer"))
    send = page.get_by_role("button", name="Send the quote")
    await j.check(page, send)
    await expect(page.locator("blockquote")).to_contain_text("stage 1 soon")
    await page.get_by_label("Message to the client").fill(
        "Lead auditor with construction experience; dates within two weeks."
    )
    await j.submit(page, send)
    await expect(page.get_by_role("heading", name="Your quote")).to_be_visible()
    await expect(page.locator("main")).to_contain_text("Status: submitted")
    await j.check(page)
    await j.shot(page, "body-quote-sent")


async def client_accepts(j: Journey, page: Page, request_url: str) -> None:
    await page.goto(request_url)
    accept = page.get_by_role("button", name="Accept Northbridge Certification")
    await j.check(page, accept)
    await expect(
        page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="Answer", exact=True))
    ).to_contain_text("valid until")
    await expect(page.locator("table.compare")).to_contain_text("meets baseline")
    await j.shot(page, "client-compares-quotes")
    await j.submit(page, accept)
    await expect(page.get_by_role("status")).to_have_text(
        "Quote accepted: the engagement has started."
    )
    await expect(page.locator("table.compare .badge.ok").first).to_have_text("accepted")
    await j.check(page)


async def open_audit_as_body(j: Journey, page: Page, kind: str, status: str = "open") -> None:
    """Body workspace -> planning board -> the client's audit of that kind."""
    await j.follow(page, nav(page, "Northbridge Certification"))
    await j.check(page)
    await j.follow(page, page.get_by_role("link", name="Planning board"))
    await j.check(page, page.get_by_role("button", name="Filter"))
    if status != "open":
        await page.get_by_label("Status").select_option(status)
        await j.submit(page, page.get_by_role("button", name="Filter"))
    row = page.get_by_role("row").filter(has_text="Acme Build Ltd").filter(has_text=kind)
    await j.follow(page, row.get_by_role("link", name=kind, exact=True))
    await expect(page.locator("h1")).to_have_text(f"{STANDARD}: {kind} audit")


async def open_audit_as_client(j: Journey, page: Page, kind: str) -> None:
    await j.follow(page, nav(page, "Acme Build Ltd"))
    await j.check(page, page.get_by_role("button", name="Send invitation"))
    await j.follow(page, page.get_by_role("link", name="Audit programme"))
    await j.check(page)
    await j.follow(page, page.get_by_role("link", name=kind, exact=True))
    await expect(page.locator("h1")).to_have_text(f"{STANDARD}: {kind} audit")


def _status(page: Page) -> Locator:
    return page.locator("dl.facts dt:text-is('Status') + dd")


async def body_proposes(j: Journey, page: Page, kind: str, first: dt.date, last: dt.date) -> None:
    await open_audit_as_body(j, page, kind)
    propose = page.get_by_role("button", name="Propose")
    await j.check(page, propose)
    await page.get_by_label("Starts (site's local time)").fill(f"{first.isoformat()}T09:00")
    await page.get_by_label("Ends", exact=True).fill(f"{last.isoformat()}T17:00")
    await expect(page.get_by_label("Site time zone")).to_have_value("Europe/London")
    await page.get_by_label("Lead auditor").select_option(label="Avery Lead")
    await j.submit(page, propose)
    await expect(_status(page)).to_have_text("proposed")
    await expect(page.locator("dl.facts")).to_contain_text("Avery Lead (lead)")
    await j.check(page)
    await j.shot(page, f"body-proposes-{kind}")


async def client_confirms(j: Journey, page: Page, kind: str) -> None:
    await open_audit_as_client(j, page, kind)
    confirm = page.get_by_role("button", name="Confirm these dates")
    await j.check(page, confirm)
    await j.submit(page, confirm)
    await expect(_status(page)).to_have_text("confirmed")
    await j.check(page)
    await j.shot(page, f"client-confirms-{kind}")


async def auditor_records_completion(j: Journey, page: Page, kind: str) -> None:
    await open_audit_as_body(j, page, kind)
    done = page.get_by_role("button", name="Record as completed")
    await j.check(page, done)
    await j.submit(page, done)
    await expect(_status(page)).to_have_text("completed")
    await j.check(page)
    await j.shot(page, f"auditor-completes-{kind}")


async def auditor_issues_report_with_major(j: Journey, page: Page) -> None:
    await j.follow(page, page.get_by_role("link", name="Audit report"))
    draft = page.get_by_role("button", name="Draft the report")
    await j.check(page, draft)
    await page.get_by_label("Summary").fill("The management system is largely effective.")
    await page.get_by_label("Scope audited").fill("Design and construction of commercial buildings")
    await page.get_by_label("Clauses covered").fill("4 to 10")
    await page.get_by_label("Recommendation").fill("Certification once the major is closed.")
    await j.submit(page, draft)
    await expect(page.locator("h1")).to_contain_text("Audit report")

    add = page.get_by_role("button", name="Add finding")
    await j.check(page, add)
    await page.get_by_label("Grade").select_option("major")
    await page.get_by_label("Clause", exact=True).fill("7.1.5")
    await page.get_by_label("Requirement").fill("Measuring equipment is calibrated at intervals.")
    await page.get_by_label("Objective evidence seen").fill(
        "Two site levels had no calibration record for 2025."
    )
    await j.submit(page, add)
    findings = page.locator("table.findings")
    await expect(findings).to_contain_text("major")
    await expect(findings).to_contain_text("7.1.5")

    issue = page.get_by_role("button", name="Issue the report")
    await j.check(page, issue)
    await j.submit(page, issue)
    await expect(page.locator(".badge.status-issued")).to_have_text("issued")
    await expect(findings.get_by_role("link", name="Open")).to_be_visible()
    await j.check(page)
    await j.shot(page, "auditor-issues-report")


async def client_answers_with_evidence(j: Journey, page: Page) -> None:
    await j.follow(page, nav(page, "Acme Build Ltd"))
    await j.check(page)
    await j.follow(page, page.get_by_role("link", name="Corrective actions"))
    await j.check(page, page.get_by_role("button", name="Filter"))
    await expect(page.locator(".dashboard dl.facts dt:text-is('Open majors') + dd")).to_have_text(
        "1"
    )
    await j.follow(page, page.get_by_role("link", name="Open 7.1.5"))
    await expect(page.locator("h1")).to_have_text("Corrective action: clause 7.1.5")

    save = page.get_by_role("button", name="Save")
    await j.check(page, save)
    await page.get_by_label("Owner").select_option(label="Morgan Quinn")
    await page.get_by_label("Correction (containment)").fill(
        "Both levels quarantined and calibrated."
    )
    await page.get_by_label("Root cause method").select_option("five_whys")
    await page.get_by_label("Root cause", exact=True).fill(
        "Site equipment was missing from the calibration register."
    )
    await page.get_by_label("Action plan").fill("Register every site instrument; monthly check.")
    target = clock.today() + dt.timedelta(days=30)
    await page.get_by_label("Target date").fill(target.isoformat())
    await j.submit(page, save)

    upload = page.get_by_role("button", name="Upload")
    await j.check(page, upload)
    await page.get_by_label("Evidence file").set_input_files(
        files=[
            {
                "name": "calibration-records.pdf",
                "mimeType": "application/pdf",
                "buffer": EVIDENCE_PDF,
            }
        ]
    )
    await j.submit(page, upload)
    evidence = page.get_by_role("region", name="Evidence")
    await expect(evidence.get_by_role("link", name="calibration-records.pdf")).to_be_visible()

    send = page.get_by_role("button", name="Submit to the body")
    await j.check(page, send)
    await j.submit(page, send)
    await expect(page.locator("main")).to_contain_text("status submitted")
    await j.check(page)
    await j.shot(page, "client-answers-corrective-action")


async def auditor_verifies(j: Journey, page: Page) -> None:
    await page.reload()
    await j.follow(page, page.locator("table.findings").get_by_role("link", name="Open"))
    review = page.get_by_role("button", name="Record review")
    await j.check(page, review)
    await expect(page.locator("main")).to_contain_text("Both levels quarantined")
    await expect(page.get_by_role("link", name="calibration-records.pdf")).to_be_visible()
    await expect(page.get_by_label("Accept")).to_be_checked()
    await page.get_by_label("Comment (required to reject)").fill("Plan covers every site.")
    await j.submit(page, review)
    await expect(page.locator("main")).to_contain_text("status accepted")

    verify = page.get_by_role("button", name="Record verification")
    await j.check(page, verify)
    await page.get_by_label("Comment", exact=True).fill("Register checked on site: effective.")
    await j.submit(page, verify)
    await expect(page.locator("main")).to_contain_text("status closed")
    await j.check(page)
    await j.shot(page, "auditor-verifies-corrective-action")


async def decision_maker_grants(j: Journey, page: Page) -> str:
    await open_audit_as_body(j, page, "stage2", status="any")
    await j.check(page)
    await j.follow(page, page.get_by_role("link", name="Certification decision"))
    record = page.get_by_role("button", name="Record the decision")
    await j.check(page, record)
    checklist = page.locator("ul.checklist")
    await expect(checklist).to_contain_text("Stage 2 report issued: yes")
    await expect(checklist).to_contain_text("Majors not verified: 0")
    await expect(page.get_by_label("Grant")).to_be_checked()
    await page.get_by_label("Scope of certification").fill(
        "Design and construction of commercial buildings"
    )
    await j.submit(page, record)
    heading = page.locator("h1")
    await expect(heading).to_contain_text("Certificate ")
    number = (await heading.inner_text()).removeprefix("Certificate ").strip()
    registry = page.locator("dl.registry")
    await expect(registry).to_contain_text("active")
    await expect(registry).to_contain_text("Acme Build Ltd")
    await expect(registry).to_contain_text("United Kingdom Accreditation Service")
    await j.check(page)
    await j.shot(page, "decision-maker-grants-certificate")
    return number


async def public_verifies(j: Journey, page: Page, number: str) -> None:
    await page.goto(j.url("/"))
    await j.follow(page, nav(page, "Verify a certificate"))
    search = page.get_by_role("button", name="Search")
    await j.check(page, search)
    await page.get_by_label("Certificate number or company name").fill(number)
    await j.submit(page, search)
    row = page.get_by_role("row").filter(has_text=number)
    await expect(row).to_contain_text("Acme Build Ltd")
    await expect(row).to_contain_text(STANDARD)
    await expect(row).to_contain_text("active")
    await j.check(page, search)
    await j.follow(page, row.get_by_role("link", name=number))
    await expect(page.locator("dl.registry")).to_contain_text("Northbridge Certification")
    # The public sees the registry entry, not the parties' history.
    await expect(page.get_by_role("heading", name="History")).to_have_count(0)
    await j.check(page)
    await j.shot(page, "public-verifies-certificate")


async def finance_issues_invoice(j: Journey, page: Page) -> None:
    await j.follow(page, nav(page, "Invoices"))
    await j.check(page)
    await j.follow(page, page.get_by_role("link", name="Draft an invoice"))
    save = page.get_by_role("button", name="Save draft")
    await j.check(page, save)
    await expect(page.get_by_label("Engagement")).to_contain_text("Acme Build Ltd")
    # Stage 1 and stage 2 now; the surveillance audits are invoiced when they are held.
    await page.get_by_label("Line 1 description").fill("Initial certification: stage 1 and 2")
    await page.get_by_label("Line 1 quantity").fill("4")
    await page.get_by_label("Line 1 unit amount").fill("900.00")
    await page.get_by_label("Line 1 tax rate").fill("20")
    await j.submit(page, save)
    await expect(page.locator("h1")).to_contain_text("Invoice (draft)")
    await expect(page.get_by_role("row", name="Total 4,320.00 GBP")).to_be_visible()
    issue = page.get_by_role("button", name="Issue: number it and send it to the client")
    await j.check(page, issue)
    await j.submit(page, issue)
    await expect(page.locator("h1 .badge")).to_have_text("open")
    await j.check(page)
    await j.shot(page, "finance-issues-invoice")


async def client_pays(j: Journey, page: Page) -> None:
    await j.follow(page, nav(page, "Invoices"))
    await j.check(page)
    row = page.get_by_role("row").filter(has_text="Northbridge Certification")
    await j.follow(page, row.get_by_role("link").first)
    invoice_url = page.url.split("?")[0]
    pay = page.get_by_role("button", name="Pay 4,320.00 GBP by card")
    await j.check(page, pay)
    await j.submit(page, pay)

    await expect(page.locator("h1")).to_contain_text("Pay invoice")
    await expect(page.locator("main")).to_contain_text("Amount due: 4,320.00 GBP")
    element = page.locator("#payment-element")
    await expect(element.locator("input")).to_have_count(5)  # the emulator's card fields
    pay_now = page.get_by_role("button", name="Pay now")
    await j.check(page, pay_now)
    for placeholder, value in (
        ("number", "4242424242424242"),
        ("exp_month", "12"),
        ("exp_year", "34"),
        ("cvc", "123"),
        ("postal_code", "LS1 4AB"),
    ):
        await element.get_by_placeholder(placeholder).fill(value)
    await j.shot(page, "client-pay-page")
    await j.submit(page, pay_now)
    # Back on the return address, as Stripe.js sends the browser after confirming.
    assert page.url.startswith(invoice_url + "?"), page.url
    assert "redirect_status=succeeded" in page.url, page.url
    await j.check(page)

    # Paid once localstripe's signed webhook reaches the server (usually well under a second).
    deadline = time.monotonic() + 20
    status = page.locator("h1 .badge")
    while await status.inner_text() != "paid":
        assert time.monotonic() < deadline, "the payment webhook never marked the invoice paid"
        await page.wait_for_timeout(300)
        await page.goto(invoice_url)
    payments = page.get_by_role("table").filter(has_text="Reference")
    await expect(payments).to_contain_text("confirmed")
    await j.check(page)
    await j.shot(page, "client-invoice-paid")
