"""Demo readiness: Acme ready for stage 1 with a shared document room, two clients at earlier levels."""

from __future__ import annotations

import datetime as dt
import random
import sys
import uuid

from marketplace.accounts.tables import Membership, Organisation
from marketplace.core import clock
from marketplace.findings import demo as findings_demo
from marketplace.readiness.assessments import create_assessment, update_item
from marketplace.readiness.documents import (
    approve_version,
    create_document,
    get_document,
    new_version,
    upload_version_file,
)
from marketplace.readiness.internal_audits import (
    add_internal_finding,
    complete_internal_audit,
    create_internal_audit,
    share_internal_audit,
)
from marketplace.readiness.management_reviews import REVIEW_INPUTS, create_management_review
from marketplace.readiness.sharing import add_comment, engaged_bodies, share_documents
from marketplace.readiness.tables import DocumentVersion, GapItem, ReadinessSnapshot
from marketplace.rules import readiness as rules

PDF = b"%PDF-1.4\n% demo controlled document\ntrailer <<>>\n%%EOF\n"
# (code, title, type, clause, retention months)
ACME_DOCUMENTS = [
    ("QM-01", "Quality manual and scope", "policy", "4.3", None),
    ("QP-01", "Quality policy", "policy", "5.2", None),
    ("QP-06", "Risk and opportunity register procedure", "procedure", "6.1", None),
    ("QP-07", "Control of documented information", "procedure", "7.5", None),
    ("WI-12", "CNC cell 3 set-up", "work_instruction", "8.5.1", None),
    ("REC-09", "Calibration records 2022", "record", "7.1.5", 24),
    ("REC-14", "Internal audit reports", "record", "9.2", 72),
]
SHARED_WITH_BODY = ("QM-01", "QP-01", "QP-07", "REC-14")
# Share of sub-clauses per rating at each readiness level: in place, partly, missing, n/a.
LEVELS = {
    "ready": (0.9, 0.07, 0.0, 0.03),
    "closing": (0.5, 0.3, 0.2, 0.0),
    "early": (0.1, 0.2, 0.7, 0.0),
}


def _ratings(rng: random.Random, clauses: list[str], level: str) -> dict[str, str]:
    weights = LEVELS[level]
    names = ("in_place", "partly", "missing", "not_applicable")
    return {c: rng.choices(names, weights=weights)[0] for c in clauses}


async def _assessment(
    rng: random.Random,
    organisation_id: uuid.UUID,
    standard: str,
    level: str,
    actor: uuid.UUID | None,
    weeks: int,
) -> uuid.UUID:
    """An assessment rated to `level`, with a fortnightly history climbing to where it stands now."""
    aid = await create_assessment(actor, organisation_id, standard)
    items = await GapItem.select(GapItem.id, GapItem.clause).where(GapItem.assessment == aid).run()
    subs = [i for i in items if "." in i["clause"]]
    final = _ratings(rng, [i["clause"] for i in subs], level)
    today = clock.today()
    # Past snapshots: the same ratings arriving clause by clause over the weeks before today.
    order = [i["clause"] for i in subs]
    rng.shuffle(order)
    history = []
    for step in range(weeks):
        known = set(order[: len(order) * step // weeks])
        result = rules.readiness((c, final[c] if c in known else "missing") for c in final)
        history.append(
            ReadinessSnapshot(
                assessment=aid,
                taken_on=today - dt.timedelta(days=14 * (weeks - step)),
                overall=result.overall.percent,
                groups={g: s.percent for g, s in result.groups.items()},
            )
        )
    if history:
        await ReadinessSnapshot.insert(*history).run()
    for rating in ("in_place", "partly", "not_applicable"):
        ids = [i["id"] for i in subs if final[i["clause"]] == rating]
        if ids:
            await GapItem.update({GapItem.rating: rating}).where(GapItem.id.is_in(ids)).run()
    # One change through the service keeps today's snapshot in step with the ratings.
    last = subs[-1]
    await update_item(
        actor, organisation_id, last["id"], {"rating": final[last["clause"]], "note": ""}
    )
    return aid


async def _document(
    organisation_id: uuid.UUID,
    actor: uuid.UUID | None,
    code: str,
    title: str,
    doc_type: str,
    clause: str,
    retention: int | None,
    approved_days_ago: int | None,
) -> uuid.UUID:
    doc = await create_document(
        actor,
        organisation_id,
        {
            "code": code,
            "title": title,
            "doc_type": doc_type,
            "clause": clause,
            "owner_id": actor,
            "retention_months": retention,
            "next_review_on": clock.today() + dt.timedelta(days=300)
            if doc_type != "record"
            else None,
        },
    )
    version = (await get_document(doc))["versions"][0]["id"]
    await upload_version_file(actor, doc, version, PDF, f"{code}.pdf")
    if approved_days_ago is not None:
        await approve_version(actor, doc, version, None)
        if approved_days_ago:
            # The demo needs history: the version took effect long ago.
            day = clock.today() - dt.timedelta(days=approved_days_ago)
            await (
                DocumentVersion.update(
                    {DocumentVersion.approved_on: day, DocumentVersion.effective_on: day}
                )
                .where(DocumentVersion.id == version)
                .run()
            )
    return doc


async def _owner_of(organisation_id: uuid.UUID) -> uuid.UUID | None:
    row = (
        await Membership.select(Membership.user)
        .where(Membership.organisation == organisation_id)
        .first()
        .run()
    )
    return row["user"] if row else None


async def generate(rng: random.Random, progress: bool) -> None:
    """Three clients at three levels: Acme ready for stage 1, one closing gaps, one just starting."""
    demo = await findings_demo.parties()
    if demo is None:
        return
    await _assessment(rng, demo.organisation_id, "ISO 9001:2015", "ready", demo.client_user, 8)
    await _acme_documents(rng, demo)
    await _acme_audit_cycle(demo)
    await _other_clients(rng, demo.organisation_id)
    if progress:
        print(
            "Readiness: 3 self-assessments, Acme's document room and audit cycle", file=sys.stderr
        )


async def _shares_with_body(demo: findings_demo.DemoParties) -> bool:
    bodies = await engaged_bodies(demo.organisation_id)
    return demo.body_id in {b.id for b in bodies}


async def _acme_documents(rng: random.Random, demo: findings_demo.DemoParties) -> None:
    """Acme's register, a revised procedure, a draft, and the stage 1 documents shared and read."""
    acme, actor = demo.organisation_id, demo.client_user
    docs: dict[str, uuid.UUID] = {}
    for code, title, doc_type, clause, retention in ACME_DOCUMENTS:
        # The 2022 calibration records are kept 24 months: past retention, flagged for disposal.
        days = 900 if code == "REC-09" else rng.randint(20, 200)
        docs[code] = await _document(acme, actor, code, title, doc_type, clause, retention, days)
    revision = await new_version(actor, docs["QP-07"], "Add retention schedule (7.5.3.2)")
    await upload_version_file(actor, docs["QP-07"], revision, PDF, "QP-07 rev 2.pdf")
    await approve_version(actor, docs["QP-07"], revision, None)
    await new_version(actor, docs["WI-12"], "New fixture for part 4411")
    if not await _shares_with_body(demo):
        return
    await share_documents(actor, acme, demo.body_id, [docs[c] for c in SHARED_WITH_BODY])
    current = (await get_document(docs["QM-01"]))["current"]
    if current is not None:
        await add_comment(
            demo.auditor_user,
            demo.body_id,
            docs["QM-01"],
            current["id"],
            "Scope statement matches the application; exclusions of 8.3 are justified.",
        )


async def _acme_audit_cycle(demo: findings_demo.DemoParties) -> None:
    """Two completed internal audits covering clauses 4 to 10 and a recent management review."""
    acme, actor, today = demo.organisation_id, demo.client_user, clock.today()
    for clauses, days, auditor in (
        (["4", "5", "6", "7"], 120, "Priya Shah"),
        (["8", "9", "10"], 60, "Tom Okafor"),
    ):
        audit = await create_internal_audit(
            actor,
            acme,
            {
                "scope": "All processes at the Leeds site",
                "clauses": clauses,
                "auditor_name": auditor,
                "planned_on": today - dt.timedelta(days=days),
            },
        )
        await complete_internal_audit(
            actor, audit, today - dt.timedelta(days=days - 1), "System effective; see findings."
        )
        await add_internal_finding(
            actor,
            audit,
            {
                "grade": "minor",
                "clause": clauses[-1] + ".2" if "." not in clauses[-1] else clauses[-1],
                "requirement": "Documented process followed",
                "evidence": "One record incomplete",
            },
        )
        await add_internal_finding(actor, audit, {"grade": "ofi", "clause": clauses[0] + ".1"})
        if await _shares_with_body(demo):
            await share_internal_audit(actor, audit, demo.body_id)
    await create_management_review(
        actor,
        acme,
        {
            "held_on": today - dt.timedelta(days=30),
            "attendees": "Managing director, quality manager, production and sales leads",
            "inputs": list(REVIEW_INPUTS),
            "decisions": "Invest in a second CMM; refresh supplier evaluation criteria.",
        },
    )


async def _other_clients(rng: random.Random, acme: uuid.UUID) -> None:
    """Two more clients: one closing its gaps with an internal audit planned, one just starting."""
    others = (
        await Organisation.select(Organisation.id)
        .where(Organisation.id != acme)
        .order_by(Organisation.name)
        .limit(2)
        .run()
    )
    for org, (standard, level) in zip(
        others, (("ISO 14001:2015", "closing"), ("ISO 9001:2015", "early")), strict=False
    ):
        owner = await _owner_of(org["id"])
        await _assessment(rng, org["id"], standard, level, owner, 4 if level == "closing" else 2)
        await _document(
            org["id"], owner, "POL-01", "Management system policy", "policy", "5.2", None, 10
        )
        await _document(
            org["id"], owner, "PR-01", "Document control", "procedure", "7.5", None, None
        )
        if level == "closing":
            await create_internal_audit(
                owner,
                org["id"],
                {
                    "scope": "Environmental aspects and compliance",
                    "clauses": ["6", "8"],
                    "auditor_name": "External consultant",
                    "planned_on": clock.today() + dt.timedelta(days=21),
                },
            )
