"""A tenant's members and invitations: inviting by e-mail, listing, revoking, accepting a link."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from typing import Any

import msgspec

from marketplace.accounts.roles import ROLES, TenantKind
from marketplace.accounts.schemas import InvitationOffer, InvitationOut, MemberRow, MembershipOut
from marketplace.accounts.sessions import digest
from marketplace.accounts.tables import CertificationBody, Invitation, Membership, Organisation
from marketplace.accounts.users import normalise_email
from marketplace.core import clock
from marketplace.core.activity import Tenant, log_action
from marketplace.core.db import lock_row, write_transaction
from marketplace.core.errors import Conflict, Forbidden, Invalid, NotFound
from marketplace.core.pagination import Page, PageParams

INVITATION_LIFETIME = dt.timedelta(days=7)


def _tenant_columns(kind: TenantKind) -> tuple[Any, Any]:
    if kind is TenantKind.organisation:
        return Membership.organisation, Invitation.organisation
    return Membership.body, Invitation.body


def _pending() -> Any:
    return Invitation.accepted_at.is_null() & Invitation.revoked_at.is_null()


async def invite_member(
    actor_id: uuid.UUID, kind: TenantKind, tenant_id: uuid.UUID, email: str, role: str
) -> dict[str, Any]:
    """Invite an address to the tenant: it receives a single-use link and joins only by accepting.

    The answer is the same for every address (a new one, an existing account, a member already),
    so inviting cannot be used to find out who has an account. Nobody becomes a member without
    their consent. Inviting an address again while its invitation is pending renews that one
    invitation (new link, new expiry, the role now chosen) instead of adding a second.
    """
    if role not in ROLES[kind]:
        raise Invalid.field("role", f"Choose one of: {', '.join(sorted(ROLES[kind]))}.")
    email = normalise_email(email)
    member_col, invitation_col = _tenant_columns(kind)
    tenant = Tenant(kind.value, tenant_id)
    answer = {"status": "invited", "email": email, "role": role}
    async with write_transaction():
        # Invitations to one tenant queue behind each other here (PostgreSQL row lock; SQLite's
        # IMMEDIATE transaction), so simultaneous invitations of one address renew one row; the
        # partial unique index on pending (tenant, email) is the last word.
        await lock_row(
            Organisation if kind is TenantKind.organisation else CertificationBody, tenant_id
        )
        if (
            await Membership.exists()
            .where((Membership.user.email == email) & (member_col == tenant_id))
            .run()
        ):
            # Already a member: nothing to send, and the same answer as for anyone else.
            return answer
        token = secrets.token_urlsafe(32)
        expires_at = clock.now() + INVITATION_LIFETIME
        pending = (
            await Invitation.select(Invitation.id)
            .where((invitation_col == tenant_id) & (Invitation.email == email) & _pending())
            .first()
            .run()
        )
        if pending:
            invitation_id: uuid.UUID = pending["id"]
            await (
                Invitation.update(
                    {
                        Invitation.token_hash: digest(token),
                        Invitation.expires_at: expires_at,
                        Invitation.role: role,
                        Invitation.invited_by: actor_id,
                    }
                )
                .where(Invitation.id == invitation_id)
                .run()
            )
        else:
            inv = Invitation(
                email=email,
                organisation=tenant_id if kind is TenantKind.organisation else None,
                body=tenant_id if kind is TenantKind.body else None,
                role=role,
                invited_by=actor_id,
                created_at=clock.now(),
                token_hash=digest(token),
                expires_at=expires_at,
            )
            await inv.save().run()
            invitation_id = inv.id
        await log_action(
            "marketplace.invitation.created",
            actor_id=actor_id,
            entity_type="invitation",
            entity_id=invitation_id,
            tenant=tenant,
            data={"role": role, "email": email, "renewed": bool(pending)},
            # The link's secret goes to the e-mail (notifications listen), never into the log.
            private={"token": token, "valid_days": INVITATION_LIFETIME.days},
        )
    return answer


async def list_members(kind: TenantKind, tenant_id: uuid.UUID) -> list[MemberRow]:
    tenant_col = Membership.organisation if kind is TenantKind.organisation else Membership.body
    members: list[dict[str, Any]] = (
        await Membership.select(
            Membership.id,
            Membership.role,
            Membership.user.email.as_alias("email"),
            Membership.user.name.as_alias("name"),
            Membership.user.id.as_alias("user_id"),
        )
        .where(tenant_col == tenant_id)
        .order_by(Membership.created_at)
        .run()
    )
    return msgspec.convert(members, list[MemberRow])


def _invitation_state(row: dict[str, Any]) -> str:
    if row["accepted_at"] is not None:
        return "accepted"
    if row["revoked_at"] is not None:
        return "revoked"
    if row["token_hash"] is None or row["expires_at"] is None or row["expires_at"] <= clock.now():
        return "expired"
    return "pending"


async def list_invitations(kind: TenantKind, tenant_id: uuid.UUID) -> list[InvitationOut]:
    """The tenant's open invitations (pending or expired, not yet accepted or revoked)."""
    _, invitation_col = _tenant_columns(kind)
    rows = (
        await Invitation.select(
            Invitation.id,
            Invitation.email,
            Invitation.role,
            Invitation.created_at,
            Invitation.expires_at,
            Invitation.accepted_at,
            Invitation.revoked_at,
            Invitation.token_hash,
            Invitation.invited_by.name.as_alias("invited_by_name"),
        )
        .where((invitation_col == tenant_id) & _pending())
        .order_by(Invitation.created_at)
        .run()
    )
    return [
        msgspec.convert(
            {**r, "status": _invitation_state(r), "invited_by_name": r["invited_by_name"] or ""},
            InvitationOut,
            strict=False,
        )
        for r in rows
    ]


async def get_invitation(
    kind: TenantKind, tenant_id: uuid.UUID, invitation_id: uuid.UUID
) -> InvitationOut:
    """One open invitation of the tenant (another tenant's, or a closed one, is not found)."""
    for row in await list_invitations(kind, tenant_id):
        if row.id == invitation_id:
            return row
    raise NotFound("No such invitation.")


async def revoke_invitation(
    actor_id: uuid.UUID, kind: TenantKind, tenant_id: uuid.UUID, invitation_id: uuid.UUID
) -> None:
    """Withdraw a pending invitation: its link stops working at once."""
    _, invitation_col = _tenant_columns(kind)
    async with write_transaction():
        # One conditional UPDATE: a revoke racing an accept leaves exactly one of them done.
        done = (
            await Invitation.update({Invitation.revoked_at: clock.now()})
            .where((Invitation.id == invitation_id) & (invitation_col == tenant_id) & _pending())
            .returning(Invitation.email, Invitation.role)
            .run()
        )
        if not done:
            raise NotFound("No such invitation (it may have been accepted or revoked already).")
        await log_action(
            "marketplace.invitation.revoked",
            actor_id=actor_id,
            entity_type="invitation",
            entity_id=invitation_id,
            tenant=Tenant(kind.value, tenant_id),
            data={"email": done[0]["email"], "role": done[0]["role"]},
        )


async def invitation_for_token(token: str) -> InvitationOffer:
    """What an invitation link offers: who invites which address to which tenant, and its state."""
    rows = (
        await Invitation.select(
            Invitation.id,
            Invitation.email,
            Invitation.role,
            Invitation.organisation,
            Invitation.body,
            Invitation.expires_at,
            Invitation.accepted_at,
            Invitation.accepted_by,
            Invitation.revoked_at,
            Invitation.token_hash,
            Invitation.organisation.name.as_alias("org_name"),
            Invitation.body.name.as_alias("body_name"),
            Invitation.invited_by.name.as_alias("inviter"),
        )
        .where(Invitation.token_hash == digest(token))
        .run()
    )
    if not token or not rows:
        raise NotFound("This invitation link is not valid. Ask for a new invitation.")
    r = rows[0]
    kind = TenantKind.organisation if r["organisation"] else TenantKind.body
    return InvitationOffer(
        id=r["id"],
        email=r["email"],
        role=r["role"],
        kind=kind,
        tenant_id=r["organisation"] or r["body"],
        tenant_name=(r["org_name"] if r["organisation"] else r["body_name"]) or "",
        inviter=r["inviter"] or "",
        expires_at=r["expires_at"],
        accepted_by=r["accepted_by"],
        status=_invitation_state(r),
    )


def _check_acceptable(invitation: InvitationOffer, user_id: uuid.UUID, email: str) -> None:
    if invitation.email != normalise_email(email):
        # Said to the holder of the link only; the invited address is not repeated.
        raise Forbidden(
            "This invitation was sent to another e-mail address than the one you are signed in "
            "with. Sign in with the invited address to accept it.",
            code="wrong_account",
        )
    status = invitation.status
    if status == "accepted" and invitation.accepted_by != user_id:
        raise Conflict("This invitation has already been used.", code="invitation_used")
    if status == "revoked":
        raise Conflict("This invitation was withdrawn.", code="invitation_revoked")
    if status == "expired":
        raise Conflict("This invitation has expired. Ask for a new one.", code="invitation_expired")


async def accept_invitation(user_id: uuid.UUID, email: str, token: str) -> MembershipOut:
    """Accept an invitation link, signed in with the invited address: the membership starts now.

    Single use: one conditional UPDATE claims the invitation, so two simultaneous accepts make one
    membership; accepting again as the same person answers the same membership.
    """
    invitation = await invitation_for_token(token)
    _check_acceptable(invitation, user_id, email)
    kind, tenant_id = invitation.kind, invitation.tenant_id
    member_col, _ = _tenant_columns(kind)
    answer = MembershipOut(kind.value, tenant_id, invitation.role, invitation.tenant_name)
    if invitation.status == "accepted":
        return answer
    now = clock.now()
    async with write_transaction():
        claimed = (
            await Invitation.update({Invitation.accepted_at: now, Invitation.accepted_by: user_id})
            .where(
                (Invitation.id == invitation.id)
                & (Invitation.email == invitation.email)
                & _pending()
                & (Invitation.expires_at > now)
            )
            .returning(Invitation.id)
            .run()
        )
        if not claimed:
            # Someone else's request changed it since we read it: answer for its state now.
            latest = await invitation_for_token(token)
            _check_acceptable(latest, user_id, email)
            return answer
        existing = (
            await Membership.select(Membership.role)
            .where((Membership.user == user_id) & (member_col == tenant_id))
            .first()
            .run()
        )
        if existing:
            answer = msgspec.structs.replace(answer, role=existing["role"])
        else:
            await Membership.insert(
                Membership(
                    user=user_id,
                    organisation=tenant_id if kind is TenantKind.organisation else None,
                    body=tenant_id if kind is TenantKind.body else None,
                    role=invitation.role,
                )
            ).run()
        tenant = Tenant(kind.value, tenant_id)
        await log_action(
            "marketplace.invitation.accepted",
            actor_id=user_id,
            entity_type="invitation",
            entity_id=invitation.id,
            tenant=tenant,
            data={"email": invitation.email, "role": invitation.role},
        )
        if not existing:
            await log_action(
                "marketplace.membership.created",
                actor_id=user_id,
                entity_type="user",
                entity_id=user_id,
                tenant=tenant,
                data={"role": invitation.role, "via": "invitation"},
            )
    return answer


def invited_notice(email: str) -> str:
    """The one answer to an invitation, whatever the address (no account probing)."""
    return (
        f"Invitation to {normalise_email(email)} recorded: they receive an e-mail with a link "
        "and become a member once they accept it. Someone who is already a member is not "
        "e-mailed again."
    )


async def invitations_page(
    kind: TenantKind, tenant_id: uuid.UUID, params: PageParams
) -> Page[InvitationOut]:
    """The tenant's open invitations, one page of them."""
    rows = await list_invitations(kind, tenant_id)
    items = rows[params.offset : params.offset + params.per_page]
    return Page(items=items, total=len(rows), page=params.page, per_page=params.per_page)
