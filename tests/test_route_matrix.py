"""Every route × every kind of person → the exact status, from a table written here
(not derived from the app's own rules). A route added without a row fails the test. The
API answers each resource as its page does (issue 20.10): the register is the auditors' and
administrators'; the policy, catalogue, calendar, templates and workflows are for people who
work on changes, not for staff, students or parents who only read notices.

Columns: anonymous, audience-only (a teacher), the change's requester, CAB, finance,
auditor, admin. The change ``{ref}`` is the requester's, in financial planning with a
needs analysis and no financial plan. Bodies are chosen so that no row changes what a
later row sees (refused edits, unknown ids)."""

from __future__ import annotations

from typing import Any

import pytest

from fitsflow.services import auth

from . import factories as f
from .web_support import WebSchool, csrf_token, login, make_app

PEOPLE = ("anonymous", "audience", "requester", "cab", "finance", "auditor", "admin")
MISSING = 999_999

# (method, rule) → (statuses in PEOPLE order, form or JSON body)
WEB: dict[tuple[str, str], tuple[str, dict[str, Any] | None]] = {
    ("GET", "/"): ("302 200 200 200 200 200 200", None),
    ("GET", "/account"): ("302 200 200 200 200 200 200", None),
    ("POST", "/account/feeds"): ("302 400 400 400 400 400 400", {"kind": "weekly"}),
    ("POST", "/account/absences"): ("302 400 400 400 400 400 400", {"substitute_email": "nobody@x.example",
                                                                    "first_day": "2030-01-07",
                                                                    "last_day": "2030-01-08"}),
    ("POST", "/account/absences/<int:absence_id>/cancel"): ("302 404 404 404 404 404 404", {}),
    ("POST", "/account/feeds/<int:feed_id>/revoke"): ("302 404 404 404 404 404 404", {}),
    ("GET", "/calendar/feed/<token>.ics"): ("404 404 404 404 404 404 404", None),
    ("GET", "/account/mfa"): ("302 200 200 200 200 200 200", None),
    ("GET", "/account/welcome"): ("302 302 302 302 302 302 302", None),
    ("POST", "/account/welcome/password"): ("302 302 302 302 302 302 302",
                                            {"current_password": "wrong", "new_password": "x"}),
    ("POST", "/account/welcome/mfa"): ("302 302 302 302 302 302 302", {"code": "abc"}),
    ("POST", "/account/mfa"): ("302 400 400 400 400 400 400", {"code": "abc"}),
    ("POST", "/account/mfa/recovery-codes"): ("302 400 400 400 400 400 400", {"password": "wrong"}),
    ("POST", "/account/password"): ("302 400 400 400 400 400 400",
                                    {"current_password": "wrong", "new_password": "x"}),
    ("POST", "/account/sessions/end"): ("302 302 302 302 302 302 302", {}),
    ("POST", "/account/tokens"): ("302 400 400 400 400 400 400", {"name": ""}),
    ("POST", "/account/tokens/<int:token_id>/revoke"): ("302 404 404 404 404 404 404", {}),
    ("POST", "/account/devices/<int:device_id>/revoke"): ("302 404 404 404 404 404 404", {}),
    ("GET", "/admin/calendar"): ("302 403 403 403 403 403 200", None),
    ("POST", "/admin/calendar"): ("302 403 403 403 403 403 400", {"kind": "term", "title": ""}),
    ("POST", "/admin/calendar/<int:period_id>/delete"): ("302 403 403 403 403 403 404", {}),
    ("GET", "/admin/calendar/<int:period_id>"): ("302 403 403 403 403 403 404", None),
    ("POST", "/admin/calendar/<int:period_id>"): ("302 403 403 403 403 403 404",
                                                  {"kind": "term", "title": "x", "start": "2027-01-04"}),
    ("POST", "/admin/calendar/import"): ("302 403 403 403 403 403 400", {}),
    ("GET", "/admin/services"): ("302 403 403 403 403 403 200", None),
    ("GET", "/admin/providers"): ("302 403 403 403 403 403 200", None),
    ("POST", "/admin/providers"): ("302 403 403 403 403 403 400", {"name": ""}),
    ("POST", "/admin/services"): ("302 403 403 403 403 403 400", {"name": ""}),
    ("POST", "/admin/import"): ("302 403 403 403 403 403 400", {}),
    ("POST", "/admin/import/confirm"): ("302 403 403 403 403 403 400", {"text": "", "digest": "x"}),
    ("POST", "/admin/grants/<int:grant_id>"): ("302 403 403 403 403 403 404", {"decision": "confirm"}),
    ("GET", "/admin/outbox"): ("302 403 403 403 403 403 200", None),
    ("POST", "/admin/outbox/retry"): ("302 403 403 403 403 403 302", {"id": str(MISSING)}),
    ("GET", "/admin/users"): ("302 403 403 403 403 403 200", None),
    ("POST", "/admin/users"): ("302 403 403 403 403 403 400", {"name": "", "email": "bad"}),
    ("GET", "/admin/users/<int:user_id>"): ("302 403 403 403 403 403 200", None),
    ("POST", "/admin/users/<int:user_id>"): ("302 403 403 403 403 403 302",
                                             {"name": "Staff member", "audiences": "staff", "active": "1"}),
    ("POST", "/admin/users/<int:user_id>/active"): ("302 403 403 403 403 403 302", {"active": "1"}),
    ("POST", "/admin/users/<int:user_id>/mfa/reset"): ("302 403 403 403 403 403 302", {}),
    ("POST", "/admin/users/<int:user_id>/invite"): ("302 403 403 403 403 403 302", {}),
    ("GET", "/admin/workflows"): ("302 403 403 403 403 403 200", None),
    ("GET", "/approvals"): ("302 403 403 200 200 403 403", None),
    ("GET", "/templates"): ("302 403 200 200 200 200 200", None),
    ("GET", "/templates/new"): ("302 403 200 403 403 403 403", None),
    ("POST", "/templates/new"): ("302 403 400 403 403 403 403", {"title": ""}),
    ("GET", "/templates/<int:template_id>"): ("302 403 404 404 404 404 404", None),
    ("POST", "/templates/<int:template_id>/actions/<action>"): ("302 403 404 404 404 404 404", {}),
    ("GET", "/audit"): ("302 403 403 403 403 200 200", None),
    ("GET", "/audit/export.<fmt>"): ("302 403 403 403 403 200 200", None),
    ("GET", "/audit/register.<fmt>"): ("302 403 403 403 403 200 200", None),
    ("GET", "/changes"): ("302 403 200 200 200 200 200", None),
    ("GET", "/changes/<ref>"): ("302 404 200 200 200 200 200", None),
    ("POST", "/changes/<ref>/actions/<trigger>"): ("302 404 409 403 403 403 403", {}),
    ("GET", "/changes/<ref>/actions/<trigger>/confirm"): ("302 404 404 404 404 404 404", None),
    ("POST", "/changes/<ref>/decision"): ("302 404 409 409 409 409 409", {"decision": "approve"}),
    ("POST", "/changes/<ref>/follow-up"): ("302 404 409 404 404 404 404", {"title": "Next"}),
    ("POST", "/changes/<ref>/owner"): ("302 404 400 403 403 403 400", {"email": "nobody@x.example",
                                                                      "reason": "Off sick"}),
    ("POST", "/changes/<ref>/co-owners"): ("302 404 400 403 403 403 400", {"email": "nobody@x.example"}),
    ("POST", "/changes/<ref>/co-owners/<int:user_id>/remove"): ("302 404 400 403 403 403 400", {}),
    ("POST", "/changes/<ref>/reschedule"): ("302 404 409 404 404 404 404", {"reason": "x"}),
    ("POST", "/changes/<ref>/unschedule"): ("302 404 409 404 404 404 404", {"reason": "x"}),
    ("POST", "/changes/<ref>/peer-review"): ("302 404 400 400 400 400 400", {"outcome": "maybe"}),
    ("POST", "/changes/<ref>/notices/<int:notice_id>/release"): ("302 404 400 404 404 404 404", {}),
    # Only those asked for 360° feedback reach the form; the change is not yet in review.
    ("GET", "/changes/<ref>/feedback"): ("302 404 404 404 404 404 404", None),
    ("POST", "/changes/<ref>/feedback"): ("302 404 404 404 404 404 404", {"meets_need": "3"}),
    ("POST", "/changes/<ref>/acknowledge"): ("302 404 404 409 403 404 404", {}),
    ("POST", "/changes/<ref>/category"): ("302 404 400 404 404 404 404", {"category": "minor"}),
    ("GET", "/changes/<ref>/notices/<int:notice_id>"): ("302 404 404 404 404 404 404", None),
    ("GET", "/changes/<ref>/notices/<int:notice_id>/acknowledgements"): ("302 404 404 404 404 404 404", None),
    ("POST", "/changes/<ref>/notices/<int:notice_id>"): ("302 404 404 404 404 404 404", {"subject": "s"}),
    ("GET", "/changes/<ref>/stage/<slug>"): ("302 404 200 404 404 404 404", None),
    ("POST", "/changes/<ref>/stage/<slug>"): ("302 404 400 404 404 404 404",
                                              {"rows": "1", "year-0": "1", "kind-0": "yacht",
                                               "amount-0": "x"}),
    ("GET", "/changes/new"): ("302 403 200 403 403 403 403", None),
    ("POST", "/changes/new"): ("302 403 400 403 403 403 403", {"title": "", "category": "minor"}),
    ("GET", "/healthz"): ("200 200 200 200 200 200 200", None),
    ("GET", "/login"): ("200 200 200 200 200 200 200", None),
    ("POST", "/login"): ("401 401 401 401 401 401 401", {"email": "nobody@test.school", "password": "x"}),
    ("GET", "/login/code"): ("302 302 302 302 302 302 302", None),
    # Single sign-on: no provider is configured here (tests/test_sso.py signs in through one).
    ("GET", "/login/sso/<name>"): ("404 404 404 404 404 404 404", None),
    ("GET", "/login/sso/<name>/callback"): ("404 404 404 404 404 404 404", None),
    ("POST", "/account/sso/<name>/link"): ("302 404 404 404 404 404 404", {}),
    ("GET", "/password/forgot"): ("200 200 200 200 200 200 200", None),
    ("POST", "/password/forgot"): ("200 200 200 200 200 200 200", {"email": "nobody@test.school"}),
    ("GET", "/password/reset/<token>"): ("410 410 410 410 410 410 410", None),
    ("POST", "/password/reset/<token>"): ("410 410 410 410 410 410 410", {"new_password": "x"}),
    ("GET", "/invitation/<token>"): ("410 410 410 410 410 410 410", None),
    ("POST", "/invitation/<token>"): ("410 410 410 410 410 410 410", {"new_password": "x"}),
    ("POST", "/login/code"): ("302 302 302 302 302 302 302", {"code": "123456"}),
    ("POST", "/logout"): ("302 302 302 302 302 302 302", {}),
    ("GET", "/notices"): ("302 200 200 200 200 200 200", None),
    ("GET", "/notices/releases"): ("302 200 200 200 200 200 200", None),
    ("GET", "/notices/<int:notice_id>"): ("302 404 404 404 404 404 404", None),
    ("POST", "/notices/<int:notice_id>/acknowledge"): ("302 404 404 404 404 404 404", {}),
    ("GET", "/notices/inbox/<int:item_id>"): ("302 404 404 404 404 404 404", None),
    # Anyone signed in proposes a need; only its proposer and requesters read one.
    # The asset register: read by people who work on changes, kept by requesters and admins.
    ("GET", "/assets"): ("302 403 200 200 200 200 200", None),
    ("GET", "/assets/new"): ("302 403 200 403 403 403 200", None),
    ("POST", "/assets/new"): ("302 403 400 403 403 403 400", {}),
    ("GET", "/assets/import"): ("302 403 200 403 403 403 200", None),
    ("POST", "/assets/import"): ("302 403 400 403 403 403 400", {}),
    ("GET", "/assets/<int:asset_id>"): ("302 403 404 404 404 404 404", None),
    ("POST", "/assets/<int:asset_id>"): ("302 403 404 404 404 404 404", {}),
    # A change's own forms: 404 to whoever may not use them (as its other requester-only forms).
    ("POST", "/changes/<ref>/assets"): ("302 404 400 404 404 404 404", {"asset": "nope"}),
    ("POST", "/changes/<ref>/register"): ("302 404 400 404 404 404 404",
                                          {"action": "retire", "asset": "nope"}),
    ("GET", "/filtering"): ("302 200 200 200 200 200 200", None),
    ("GET", "/filtering/new"): ("302 200 200 200 200 200 200", None),
    ("POST", "/filtering/new"): ("302 400 400 400 400 400 400", {}),
    ("GET", "/filtering/<int:request_id>"): ("302 404 404 404 404 404 404", None),
    ("POST", "/filtering/<int:request_id>"): ("302 404 404 404 404 404 404",
                                              {"trigger": "agree", "reason": "x"}),
    # The annual review's log: the lifecycle file's readers (safeguarding leads, the head,
    # governors, auditors; not the ICT team, who may be an outside provider, nor the CAB).
    ("GET", "/filtering/log.<fmt>"): ("302 403 403 403 403 200 403", None),
    ("GET", "/proposals"): ("302 200 200 200 200 200 200", None),
    ("GET", "/proposals/new"): ("302 200 200 200 200 200 200", None),
    ("POST", "/proposals/new"): ("302 400 400 400 400 400 400", {}),
    ("GET", "/proposals/<int:proposal_id>"): ("302 404 404 404 404 404 404", None),
    ("POST", "/proposals/<int:proposal_id>"): ("302 404 404 404 404 404 404", {}),
    ("POST", "/notices/inbox/<int:item_id>/read"): ("302 404 404 404 404 404 404", {}),
    ("POST", "/notices/inbox/read"): ("302 302 302 302 302 302 302", {}),
    ("GET", "/schedule"): ("302 403 200 200 200 200 200", None),
    ("GET", "/maintenance"): ("302 200 200 200 200 200 200", None),
    ("GET", "/usage-checks"): ("302 403 200 200 200 200 200", None),
    # Reports are for reports.readers (SLT, head, finance, auditors, administrators).
    ("GET", "/reports"): ("302 403 403 403 200 200 200", None),
    ("GET", "/reports/report.<fmt>"): ("302 403 403 403 200 200 200", None),
    ("GET", "/reports/governors.pdf"): ("302 403 403 403 200 200 200", None),
    # The discussion and the files: anyone who may see the change (refusals stay on its page).
    ("POST", "/changes/<ref>/comments"): ("302 404 400 400 400 400 400", {}),
    ("GET", "/changes/<ref>/comments"): ("302 404 200 200 200 200 200", None),
    ("POST", "/changes/<ref>/attachments"): ("302 404 400 400 400 400 400", {}),
    ("GET", "/changes/<ref>/attachments/<int:file_id>"): ("302 404 404 404 404 404 404", None),
    ("POST", "/changes/<ref>/attachments/<int:file_id>/remove"): ("302 404 404 404 404 404 404", {}),
    # The change is not released: no usage check yet; only its owners may record one.
    ("GET", "/changes/<ref>/usage"): ("302 404 200 200 200 200 200", None),
    ("POST", "/changes/<ref>/usage"): ("302 404 404 403 403 403 403", {"result": "in_use", "evidence": "x"}),
    ("GET", "/schedule/exceptions"): ("302 403 200 200 200 200 200", None),
    ("GET", "/static/<path:filename>"): ("200 200 200 200 200 200 200", None),
}

API: dict[tuple[str, str], tuple[str, dict[str, Any] | None]] = {
    ("GET", "/api/v1/openapi.json"): ("200 200 200 200 200 200 200", None),
    ("GET", "/api/v1/me"): ("401 200 200 200 200 200 200", None),
    ("GET", "/api/v1/audit"): ("401 403 403 403 403 200 200", None),
    ("GET", "/api/v1/approvals"): ("401 200 200 200 200 200 200", None),
    ("GET", "/api/v1/register"): ("401 403 403 403 403 200 200", None),
    ("GET", "/api/v1/calendar"): ("401 403 200 200 200 200 200", None),
    ("POST", "/api/v1/calendar"): ("401 403 403 403 403 403 201",
                                   {"kind": "freeze", "title": "Ofsted", "start": "2027-03-01"}),
    ("GET", "/api/v1/calendar/<int:period_id>"): ("401 403 404 404 404 404 404", None),
    ("PUT", "/api/v1/calendar/<int:period_id>"): ("401 403 403 403 403 403 404",
                                                  {"kind": "freeze", "title": "Ofsted",
                                                   "start": "2027-03-01"}),
    ("DELETE", "/api/v1/calendar/<int:period_id>"): ("401 403 403 403 403 403 404", None),
    ("GET", "/api/v1/changes"): ("401 200 200 200 200 200 200", None),
    ("GET", "/api/v1/maintenance-windows"): ("401 403 200 200 200 200 200", None),
    ("POST", "/api/v1/maintenance-windows"): ("401 403 403 403 403 403 201",
                                              {"title": "Twilight", "weekdays": "thu", "starts": "16:00",
                                               "ends": "20:00"}),
    ("DELETE", "/api/v1/maintenance-windows/<int:window_id>"): ("401 403 403 403 403 403 404", None),
    ("GET", "/api/v1/maintenance-windows/next"): ("401 403 400 400 400 400 400", None),
    ("GET", "/api/v1/recurrences"): ("401 403 200 200 200 200 200", None),
    ("GET", "/api/v1/evidence"): ("401 403 200 200 200 200 200", None),
    ("GET", "/api/v1/changes/<ref>/evidence"): ("401 403 200 200 200 200 200", None),
    ("PUT", "/api/v1/changes/<ref>/evidence"): ("401 404 400 403 403 403 403", {"tags": ["no-such-tag"]}),
    ("POST", "/api/v1/recurrences"): ("401 403 400 403 403 403 403",
                                      {"template": "STD-9999", "title": "Patching", "rule": "FREQ=MONTHLY",
                                       "first_day": "2030-01-01", "starts": "07:00"}),
    ("POST", "/api/v1/recurrences/<int:recurrence_id>/stop"): ("401 404 404 404 404 404 404", {}),
    ("GET", "/api/v1/recurrences/missed"): ("401 403 200 200 200 200 200", None),
    ("GET", "/api/v1/services"): ("401 403 200 200 200 200 200", None),
    ("GET", "/api/v1/providers"): ("401 403 403 403 403 403 200", None),
    ("POST", "/api/v1/providers"): ("401 403 403 403 403 403 400", {"name": ""}),
    ("PUT", "/api/v1/providers/people"): ("401 403 403 403 403 403 404", {"email": "nobody@x.example"}),
    ("POST", "/api/v1/services"): ("401 403 403 403 403 403 201", {"name": "Printing"}),
    ("GET", "/api/v1/services/<int:service_id>"): ("401 403 404 404 404 404 404", None),
    ("GET", "/api/v1/schedule"): ("401 403 200 200 200 200 200", None),
    ("GET", "/api/v1/policy"): ("401 403 200 200 200 200 200", None),
    ("GET", "/api/v1/templates"): ("401 403 200 200 200 200 200", None),
    ("POST", "/api/v1/templates"): ("401 403 400 403 403 403 403",
                                    {"title": "T", "services": ["Nope"], "max_cost": "10", "steps": "s",
                                     "backout_plan": "b"}),
    ("GET", "/api/v1/templates/<int:template_id>"): ("401 403 404 404 404 404 404", None),
    ("POST", "/api/v1/templates/<int:template_id>/actions"): ("401 404 404 404 404 404 404",
                                                              {"action": "approve"}),
    ("GET", "/api/v1/absences"): ("401 200 200 200 200 200 200", None),
    ("POST", "/api/v1/absences"): ("401 400 400 400 400 400 400", {"substitute_email": "nobody@x.example",
                                                                   "first_day": "2030-01-07",
                                                                   "last_day": "2030-01-08"}),
    ("DELETE", "/api/v1/absences/<int:absence_id>"): ("401 404 404 404 404 404 404", None),
    ("GET", "/api/v1/schedule/exceptions"): ("401 403 200 200 200 200 200", None),
    ("POST", "/api/v1/changes"): ("401 403 201 403 403 403 403", {"title": "T", "category": "minor"}),
    ("GET", "/api/v1/changes/<ref>"): ("401 404 200 200 200 200 200", None),
    ("POST", "/api/v1/changes/<ref>/actions/<trigger>"): ("401 404 409 403 403 403 403", {}),
    ("GET", "/api/v1/changes/<ref>/audit"): ("401 404 200 200 200 200 200", None),
    ("POST", "/api/v1/changes/<ref>/decision"): ("401 404 409 409 409 409 409", {"decision": "approve"}),
    ("POST", "/api/v1/changes/<ref>/follow-ups"): ("401 404 409 403 403 403 403", {"title": "Next"}),
    ("PUT", "/api/v1/changes/<ref>/owner"): ("401 404 400 403 403 403 400",
                                             {"email": "nobody@x.example", "reason": "Off sick"}),
    ("POST", "/api/v1/changes/<ref>/co-owners"): ("401 404 400 403 403 403 400",
                                                  {"email": "nobody@x.example"}),
    ("DELETE", "/api/v1/changes/<ref>/co-owners/<int:user_id>"): ("401 404 400 403 403 403 400", None),
    ("POST", "/api/v1/changes/<ref>/reschedule"): ("401 404 409 403 403 403 403",
                                                   {"window_start": "2030-01-07T10:00:00",
                                                    "window_end": "2030-01-07T12:00:00", "reason": "x"}),
    ("POST", "/api/v1/changes/<ref>/unschedule"): ("401 404 409 403 403 403 403", {"reason": "x"}),
    ("POST", "/api/v1/changes/<ref>/peer-review"): ("401 404 403 409 403 403 403", {"outcome": "approve"}),
    ("POST", "/api/v1/changes/<ref>/acknowledge"): ("401 404 403 409 403 403 403", {}),
    ("PUT", "/api/v1/changes/<ref>/category"): ("401 404 400 403 403 403 403", {"category": "minor"}),
    ("GET", "/api/v1/changes/<ref>/notices"): ("401 404 200 200 200 200 200", None),
    ("PUT", "/api/v1/changes/<ref>/notices/<int:notice_id>"): ("401 404 404 403 403 403 403",
                                                              {"subject": "s", "body": "b"}),
    ("GET", "/api/v1/changes/<ref>/feedback"): ("401 404 404 404 404 404 404", None),
    ("PUT", "/api/v1/changes/<ref>/feedback"): ("401 404 404 404 404 404 404", {
        "meets_need": 3, "disruption": 3, "training": 3, "communication": 3}),
    ("GET", "/api/v1/changes/<ref>/feedback/summary"): ("401 404 200 404 404 200 404", None),
    ("POST", "/api/v1/changes/<ref>/notices/<int:notice_id>/release"): ("401 404 404 403 403 403 403",
                                                                       {"action": "send_now"}),
    ("GET", "/api/v1/changes/<ref>/notices/<int:notice_id>/acknowledgements"):
        ("401 404 404 404 404 404 404", None),
    ("PUT", "/api/v1/changes/<ref>/stages/needs"): ("401 404 200 403 403 403 403", {"need": "Faster PCs"}),
    ("PUT", "/api/v1/changes/<ref>/stages/finance"): ("401 404 200 403 403 403 403", {"lines": []}),
    ("PUT", "/api/v1/changes/<ref>/stages/release_plan"): ("401 404 409 403 403 403 403", {}),
    ("PUT", "/api/v1/changes/<ref>/stages/review"): ("401 404 409 403 403 403 403",
                                                     {"outcome": "successful"}),
    # The change is a fits-change: it has no pilot stages to edit.
    ("PUT", "/api/v1/changes/<ref>/stages/pilot"): ("401 404 409 403 403 403 403", {"weeks": 4}),
    ("PUT", "/api/v1/changes/<ref>/stages/pilot_outcome"): ("401 404 409 403 403 403 403",
                                                            {"outcome": "drop", "learnt": "x"}),
    ("GET", "/api/v1/notices"): ("401 200 200 200 200 200 200", None),
    ("POST", "/api/v1/notices/<int:item_id>/read"): ("401 404 404 404 404 404 404", None),
    ("POST", "/api/v1/notices/read"): ("401 200 200 200 200 200 200", None),
    ("GET", "/api/v1/release-notices"): ("401 200 200 200 200 200 200", None),
    ("POST", "/api/v1/release-notices/<int:notice_id>/acknowledge"): ("401 404 404 404 404 404 404", None),
    ("GET", "/api/v1/users"): ("401 403 403 403 403 403 200", None),
    ("POST", "/api/v1/users"): ("401 403 403 403 403 403 201", {"name": "New person"}),
    ("GET", "/api/v1/users/<int:user_id>"): ("401 403 403 403 403 403 200", None),
    ("PUT", "/api/v1/users/<int:user_id>"): ("401 403 403 403 403 403 200",
                                             {"name": "Teacher", "roles": [], "audiences": ["staff"],
                                              "active": True}),
    ("GET", "/api/v1/workflows"): ("401 403 200 200 200 200 200", None),
    ("GET", "/api/v1/usage-checks"): ("401 403 200 200 200 200 200", None),
    ("GET", "/api/v1/reports"): ("401 403 403 403 200 200 200", None),
    ("GET", "/api/v1/changes/<ref>/comments"): ("401 404 200 200 200 200 200", None),
    ("POST", "/api/v1/changes/<ref>/comments"): ("401 400 400 400 400 400 400", {}),
    ("GET", "/api/v1/changes/<ref>/attachments"): ("401 404 200 200 200 200 200", None),
    ("DELETE", "/api/v1/changes/<ref>/attachments/<int:file_id>"): ("401 404 404 404 404 404 404", None),
    ("GET", "/api/v1/assets"): ("401 403 200 200 200 200 200", None),
    ("POST", "/api/v1/assets"): ("401 403 400 400 400 400 400", {}),
    ("POST", "/api/v1/assets/import"): ("401 403 400 400 400 400 400", {}),
    ("GET", "/api/v1/assets/<int:asset_id>"): ("401 403 404 404 404 404 404", None),
    ("PUT", "/api/v1/assets/<int:asset_id>"): ("401 403 400 400 400 400 400", {}),
    ("PUT", "/api/v1/assets/<int:asset_id>/disposal"): ("401 403 404 404 404 404 404", {}),
    ("GET", "/api/v1/changes/<ref>/assets"): ("401 403 200 200 200 200 200", None),
    ("POST", "/api/v1/changes/<ref>/assets"): ("401 403 400 403 403 403 403", {"asset": "nope"}),
    ("POST", "/api/v1/changes/<ref>/register"): ("401 403 400 403 403 403 403",
                                                 {"action": "retire", "asset": "nope"}),
    ("GET", "/api/v1/filtering"): ("401 200 200 200 200 200 200", None),
    ("POST", "/api/v1/filtering"): ("401 400 400 400 400 400 400", {}),
    ("GET", "/api/v1/filtering/<int:request_id>"): ("401 404 404 404 404 404 404", None),
    ("POST", "/api/v1/filtering/<int:request_id>/steps"): ("401 404 404 404 404 404 404",
                                                           {"trigger": "agree", "reason": "x"}),
    ("GET", "/api/v1/proposals"): ("401 200 200 200 200 200 200", None),
    ("POST", "/api/v1/proposals"): ("401 400 400 400 400 400 400", {}),
    ("GET", "/api/v1/proposals/<int:proposal_id>"): ("401 404 404 404 404 404 404", None),
    ("POST", "/api/v1/proposals/<int:proposal_id>/triage"): ("401 403 404 403 403 403 403",
                                                             {"action": "decline", "reason": "x"}),
    ("GET", "/api/v1/changes/<ref>/usage-check"): ("401 403 404 404 404 404 404", None),
    ("PUT", "/api/v1/changes/<ref>/usage-check"): ("401 403 404 403 403 403 403",
                                                   {"result": "in_use", "evidence": "x"}),
    ("GET", "/api/v1/workflows/<name>"): ("401 403 200 200 200 200 200", None),
}

SIGNS_OUT = {("POST", "/account/sessions/end"), ("POST", "/logout")}


@pytest.fixture
def site(sqlite_rt, tmp_path):  # type: ignore[no-untyped-def]
    school = WebSchool(sqlite_rt)
    ref = f.change_in(sqlite_rt, school, "minor", "financial_planning")
    return make_app(sqlite_rt, tmp_path), school, ref


def _ids(school) -> dict[str, int | None]:  # type: ignore[no-untyped-def]
    return {"anonymous": None, "audience": school.staff, "requester": school.requester,
            "cab": school.cab[0], "finance": school.finance, "auditor": school.auditor, "admin": school.admin}


def _path(rule: str, ref: str, school) -> str:  # type: ignore[no-untyped-def]
    values = {"<ref>": ref, "<trigger>": "submit_proceed", "<slug>": "finance", "<fmt>": "csv",
              "<path:filename>": "style.css", "<name>": "fits-change", "<token>": "fc_unknown",
              "<int:user_id>": str(school.staff), "<action>": "approve"}
    for key, value in values.items():
        rule = rule.replace(key, value)
    for key in ("<int:token_id>", "<int:device_id>", "<int:notice_id>", "<int:item_id>", "<int:grant_id>",
                "<int:period_id>",
                "<int:feed_id>", "<int:service_id>", "<int:absence_id>", "<int:template_id>",
                "<int:proposal_id>", "<int:file_id>", "<int:window_id>", "<int:recurrence_id>",
                "<int:request_id>", "<int:asset_id>"):
        rule = rule.replace(key, str(MISSING))
    return rule


def test_every_route_has_a_row(site):
    app, _, _ = site
    served = {(method, rule.rule) for rule in app.url_map.iter_rules()
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert served == set(WEB) | set(API)


def test_every_web_route_answers_each_person_exactly_as_the_table_says(site):
    app, school, ref = site
    ids = _ids(school)
    clients = {}
    for person, uid in ids.items():
        client = app.test_client()
        if uid is not None:
            assert login(client, school.emails[uid]).status_code == 302
        clients[person] = client
    wrong = []
    # Signing out ends every session of that person: those rows go last.
    for (method, rule), (statuses, body) in sorted(WEB.items(), key=lambda row: row[0] in SIGNS_OUT):
        path = _path(rule, ref, school)
        for person, expected in zip(PEOPLE, statuses.split(), strict=True):
            client = clients[person]
            if (method, rule) in SIGNS_OUT:
                client = app.test_client()
                if ids[person] is not None:
                    login(client, school.emails[ids[person]])  # type: ignore[index]
            if method == "GET":
                with client.get(path) as response:  # closes the static file's stream
                    status = response.status_code
            else:
                data = dict(body or {})
                if rule in ("/login", "/password/forgot"):
                    data["email"] = f"nobody-{person}@test.school"  # one each: no throttling
                data["csrf_token"] = csrf_token(client, "/login")
                status = client.post(path, data=data).status_code
            if status != int(expected):
                wrong.append(f"{method} {rule} as {person}: {status}, expected {expected}")
    assert wrong == [], "\n".join(wrong)


def test_every_api_route_answers_each_token_exactly_as_the_table_says(site):
    app, school, ref = site
    rt = app.extensions["fitsflow"]
    headers = {person: {"Authorization": "Bearer " + auth.create_token(
        rt, user_id=uid, name="matrix", scope="admin" if person == "admin" else "write")}
               for person, uid in _ids(school).items() if uid is not None}
    headers["anonymous"] = {}
    client = app.test_client()
    wrong = []
    for (method, rule), (statuses, body) in API.items():
        path = _path(rule, ref, school)
        for person, expected in zip(PEOPLE, statuses.split(), strict=True):
            payload = dict(body) if body is not None else None
            if rule == "/api/v1/users" and method == "POST":
                payload = {**(body or {}), "email": f"new-{person}@test.school"}
            r = client.open(path, method=method, json=payload, headers=headers[person])
            if r.status_code != int(expected):
                wrong.append(f"{method} {rule} as {person}: {r.status_code}, expected {expected}: "
                             f"{r.get_data(as_text=True)[:120]}")
    assert wrong == [], "\n".join(wrong)
