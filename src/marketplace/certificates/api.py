"""JSON API of certificates: the certification decision, public verification, status changes."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import JSONBody

from marketplace.accounts.guards import principal_of, require_role, requires_login
from marketplace.accounts.roles import TenantKind
from marketplace.certificates import services
from marketplace.certificates.schemas import (
    CertificateOut,
    DecisionIn,
    DecisionOut,
    ManagedCertificateOut,
    ReasonIn,
)
from marketplace.scheduling.context import BODY_ALL, NO_ROLES, check_access

DECIDERS = frozenset({"owner", "decision_maker"})


async def public_out(number: str) -> CertificateOut:
    row = await services.certificate_row(number)
    return msgspec.convert(services.registry_fields(row), CertificateOut, strict=False)


async def managed_out(row: dict[str, Any]) -> ManagedCertificateOut:
    return msgspec.convert(
        {
            **services.registry_fields(row),
            "id": row["id"],
            "at_risk": await services.at_risk(row),
            "status_reason": row["status_reason"],
            "suspended_on": row["suspended_on"],
            "history": await services.history(row["id"]),
        },
        ManagedCertificateOut,
        strict=False,
    )


class DecisionController(Controller):
    path = "/api/v1/cycles/{cycle_id:uuid}/decision"
    tags = ["certificates"]
    guards = [requires_login]

    @post(
        "",
        summary="Grant or refuse certification after stage 2 (decision maker, owner)",
        status_code=201,
    )
    async def decide(
        self, request: Request[Any, Any, Any], cycle_id: uuid.UUID, data: JSONBody[DecisionIn]
    ) -> DecisionOut:
        p = principal_of(request)
        cycle = await services.cycle_context(cycle_id)
        check_access(
            p,
            cycle["organisation_id"],
            cycle["body_id"],
            client=NO_ROLES,
            body=DECIDERS,
            what="No such certification cycle.",
        )
        result = await services.decide(
            p.user_id,
            cycle_id,
            decision=data.decision,
            decided_on=data.decided_on,
            scope=data.scope,
            comment=data.comment,
            stage2_override_reason=data.stage2_override_reason,
        )
        certificate = await public_out(result["certificate"]) if result["certificate"] else None
        return DecisionOut(result["decision"], result["decision_id"], certificate)


class CertificateController(Controller):
    path = "/api/v1/certificates/{number:str}"
    tags = ["certificates"]

    @get(
        "",
        summary="Verify a certificate (public): the registry fields and current status",
        security=[],
    )
    async def read(self, request: Request[Any, Any, Any], number: str) -> CertificateOut:
        return await public_out(number)

    @get(
        "/manage",
        summary="The certificate with risk flag and history (the two parties)",
        guards=[requires_login],
    )
    async def manage(self, request: Request[Any, Any, Any], number: str) -> ManagedCertificateOut:
        row = await services.certificate_row(number)
        p = principal_of(request)
        check_access(
            p,
            row["organisation"],
            row["body"],
            client=frozenset({"owner", "quality_manager", "member"}),
            body=frozenset({"owner", "scheduler", "auditor", "decision_maker", "finance"}),
            what="No certificate with this number.",
        )
        return await managed_out(row)

    async def _decider(self, request: Request[Any, Any, Any], number: str) -> uuid.UUID:
        row = await services.certificate_row(number)
        p = principal_of(request)
        require_role(
            p, TenantKind.body, row["body"], DECIDERS, what="No certificate with this number."
        )
        return p.user_id

    @post(
        "/suspend",
        summary="Suspend with a reason (decision maker, owner)",
        status_code=200,
        guards=[requires_login],
    )
    async def suspend(
        self, request: Request[Any, Any, Any], number: str, data: JSONBody[ReasonIn]
    ) -> ManagedCertificateOut:
        actor = await self._decider(request, number)
        await services.suspend(actor, number, data.reason)
        return await managed_out(await services.certificate_row(number))

    @post(
        "/withdraw",
        summary="Withdraw with a reason; final (decision maker, owner)",
        status_code=200,
        guards=[requires_login],
    )
    async def withdraw(
        self, request: Request[Any, Any, Any], number: str, data: JSONBody[ReasonIn]
    ) -> ManagedCertificateOut:
        actor = await self._decider(request, number)
        await services.withdraw(actor, number, data.reason)
        return await managed_out(await services.certificate_row(number))

    @post(
        "/restore",
        summary="Restore a suspension within 6 months (decision maker, owner)",
        status_code=200,
        guards=[requires_login],
    )
    async def restore(
        self, request: Request[Any, Any, Any], number: str, data: JSONBody[ReasonIn]
    ) -> ManagedCertificateOut:
        actor = await self._decider(request, number)
        await services.restore(actor, number, data.reason)
        return await managed_out(await services.certificate_row(number))


class BodyCertificatesController(Controller):
    path = "/api/v1/bodies/{body_id:uuid}/certificates"
    tags = ["certificates"]
    guards = [requires_login]

    @get("", summary="The body's certificates with status and the at-risk flag (body members)")
    async def list(
        self, request: Request[Any, Any, Any], body_id: uuid.UUID
    ) -> list[ManagedCertificateOut]:
        require_role(
            principal_of(request),
            TenantKind.body,
            body_id,
            BODY_ALL,
            what="No such certification body.",
        )
        rows = await services.with_risk(await services.certificates_for(body_id=body_id))
        return [
            msgspec.convert(
                {
                    **services.registry_fields(r),
                    "id": r["id"],
                    "at_risk": r["at_risk"],
                    "status_reason": r["status_reason"],
                    "suspended_on": r["suspended_on"],
                },
                ManagedCertificateOut,
                strict=False,
            )
            for r in rows
        ]


API_CONTROLLERS = [DecisionController, CertificateController, BodyCertificatesController]
