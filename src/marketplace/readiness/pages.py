"""HTML pages of readiness: the page controllers, one module per area of work."""

from __future__ import annotations

from marketplace.readiness.assessment_pages import AssessmentPages
from marketplace.readiness.document_pages import DocumentPages
from marketplace.readiness.internal_audit_pages import InternalAuditPages
from marketplace.readiness.management_review_pages import ManagementReviewPages
from marketplace.readiness.sharing_pages import BodyReadinessPages
from marketplace.readiness.stage1_pages import ReferencePages

PAGE_CONTROLLERS = [
    AssessmentPages,
    DocumentPages,
    InternalAuditPages,
    ManagementReviewPages,
    BodyReadinessPages,
    ReferencePages,
]
