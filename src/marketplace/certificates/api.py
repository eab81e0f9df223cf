"""JSON API of certificates: the certification decision, public verification, status changes."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import JSONBody

from marketplace.accounts.guards import principal_of, requires_login
from marketplace.certificates import registry, status
from marketplace.certificates.decisions import decide_as
from marketplace.certificates.schemas import (
    CertificateOut,
    DecisionIn,
    DecisionOut,
    ManagedCertificateOut,
    ReasonIn,
)
from marketplace.certificates.verification import public_out
from marketplace.rules.certification import CertificateAction


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
        return await decide_as(principal_of(request), cycle_id, data)


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
        return await registry.managed_for(principal_of(request), number)

    async def _change(
        self, request: Request[Any, Any, Any], number: str, action: str, reason: str
    ) -> ManagedCertificateOut:
        await status.change_status(principal_of(request), number, action, reason)
        return await registry.managed_out(await registry.certificate_row(number))

    @post(
        "/suspend",
        summary="Suspend with a reason (decision maker, owner)",
        status_code=200,
        guards=[requires_login],
    )
    async def suspend(
        self, request: Request[Any, Any, Any], number: str, data: JSONBody[ReasonIn]
    ) -> ManagedCertificateOut:
        return await self._change(request, number, CertificateAction.suspend, data.reason)

    @post(
        "/withdraw",
        summary="Withdraw with a reason; final (decision maker, owner)",
        status_code=200,
        guards=[requires_login],
    )
    async def withdraw(
        self, request: Request[Any, Any, Any], number: str, data: JSONBody[ReasonIn]
    ) -> ManagedCertificateOut:
        return await self._change(request, number, CertificateAction.withdraw, data.reason)

    @post(
        "/restore",
        summary="Restore a suspension within 6 months (decision maker, owner)",
        status_code=200,
        guards=[requires_login],
    )
    async def restore(
        self, request: Request[Any, Any, Any], number: str, data: JSONBody[ReasonIn]
    ) -> ManagedCertificateOut:
        return await self._change(request, number, CertificateAction.restore, data.reason)


class BodyCertificatesController(Controller):
    path = "/api/v1/bodies/{body_id:uuid}/certificates"
    tags = ["certificates"]
    guards = [requires_login]

    @get("", summary="The body's certificates with status and the at-risk flag (body members)")
    async def list(
        self, request: Request[Any, Any, Any], body_id: uuid.UUID
    ) -> list[ManagedCertificateOut]:
        rows = await registry.body_certificates(principal_of(request), body_id)
        return [await registry.managed_out(r, with_history=False) for r in rows]


API_CONTROLLERS = [DecisionController, CertificateController, BodyCertificatesController]
