"""The termly governors' report as a PDF (reportlab): the figures of services.reports, and the
audit trail's head with how to check it, so governors can hold the school to what it shows."""

from __future__ import annotations

import io
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from .reports import Rate, Report

QUESTION_TITLES = {
    "meets_need": "Met the need",
    "disruption": "Low disruption",
    "training": "Training",
    "communication": "Communication",
}


def _rate(rate: Rate) -> str:
    return f"{rate.count} of {rate.of}" + (f" ({rate.percent}%)" if rate.percent is not None else "")


# A reason longer than this is cut in the PDF (a table row must fit on a page); the page
# and the CSV carry it whole.
REASON_IN_PDF = 600


def _short(text: str) -> str:
    return text if len(text) <= REASON_IN_PDF else text[: REASON_IN_PDF - 1].rstrip() + "…"


def _table(rows: list[list[Any]], widths: tuple[float, ...] | None = None) -> Table:
    table = Table(rows, colWidths=widths, hAlign="LEFT", repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("FONTSIZE", (0, 0), (-1, -1), 9),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef6")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def render(report: Report, *, school: str, money: Callable[[Decimal], str]) -> bytes:
    """The PDF's bytes."""
    styles = getSampleStyleSheet()
    say = styles["BodyText"]
    show = money
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=f"{school}: ICT changes, {report.period.title}",
        author="fitsflow",
    )
    story: list[object] = [
        Paragraph(escape(f"{school}: ICT changes for governors"), styles["Title"]),
        Paragraph(
            escape(
                f"{report.period.title} ({report.period.start:%d %B %Y} to the day before "
                f"{report.period.end:%d %B %Y}); prepared {report.generated_at:%d %B %Y}"
            ),
            say,
        ),
        Spacer(1, 6 * mm),
        Paragraph("The year's changes in figures", styles["Heading2"]),
        _table(
            [
                ["Figure", "Value"],
                ["Changes raised", str(report.raised)],
                ["Successful reviews", _rate(report.success)],
                ["Releases backed out", _rate(report.backed_out)],
                ["Emergency changes", _rate(report.emergency)],
                ["Standard (pre-approved) changes", _rate(report.standard)],
                ["Releases kept to their first window", _rate(report.windows_kept)],
                ["Reviews closed on time", _rate(report.reviews_on_time)],
            ]
        ),
        Spacer(1, 4 * mm),
        Paragraph("Changes by category and outcome", styles["Heading2"]),
        _table(
            [["Category", "Outcome", "Changes"]]
            + [
                [c, o, str(n)]
                for c, outcomes in report.by_category.items()
                for o, n in sorted(outcomes.items())
            ]
        ),
    ]
    if report.gate_times:
        story += [
            Spacer(1, 4 * mm),
            Paragraph("Time at each approval (days)", styles["Heading2"]),
            _table(
                [["Approval", "Median", "90th percentile", "Decided"]]
                + [[g.gate, f"{g.median_days}", f"{g.p90_days}", str(g.stays)] for g in report.gate_times]
            ),
        ]
    if report.went_ahead:
        story += [
            Spacer(1, 4 * mm),
            Paragraph("Went ahead despite the calendar", styles["Heading2"]),
            _table(
                [["Date", "Change", "What", "Reason"]]
                + [[w, r, k, Paragraph(escape(_short(why)), say)] for w, r, k, why in report.went_ahead],
                widths=(22 * mm, 28 * mm, 30 * mm, 94 * mm),
            ),
        ]
    if report.feedback:
        story += [
            Spacer(1, 4 * mm),
            Paragraph("360° feedback (average, 1 to 5)", styles["Heading2"]),
            _table(
                [["Group", *QUESTION_TITLES.values()]]
                + [
                    [g, *("—" if a.get(q) is None else f"{a[q]}" for q in QUESTION_TITLES)]
                    for g, a in sorted(report.feedback.items())
                ]
            ),
        ]
    if report.acknowledgements:
        story += [
            Spacer(1, 4 * mm),
            Paragraph("Release notices read and acknowledged", styles["Heading2"]),
            _table(
                [["Audience", "Acknowledged"]]
                + [[a, _rate(r)] for a, r in sorted(report.acknowledgements.items())]
            ),
        ]
    story += [
        Spacer(1, 4 * mm),
        Paragraph("Success measures", styles["Heading2"]),
        _table([["Result", "Measures"]] + [[k, str(n)] for k, n in report.measures.items()]),
    ]
    if report.spend:
        years = sorted({s.financial_year for s in report.spend})
        planned = {
            y: sum((s.planned for s in report.spend if s.financial_year == y), Decimal(0)) for y in years
        }
        actual = {
            y: sum((s.actual for s in report.spend if s.financial_year == y), Decimal(0)) for y in years
        }
        story += [
            Spacer(1, 4 * mm),
            Paragraph("Spend committed by financial year", styles["Heading2"]),
            _table(
                [["Financial year", "Planned", "Actual"]]
                + [[y, show(planned[y]), show(actual[y])] for y in years]
            ),
            Spacer(1, 2 * mm),
            _table(
                [["Financial year", "Funding source", "Capital or revenue", "Planned", "Actual"]]
                + [
                    [
                        s.financial_year,
                        s.funding_source,
                        "capital" if s.capital else "revenue",
                        show(s.planned),
                        show(s.actual),
                    ]
                    for s in report.spend
                ]
            ),
        ]
    if report.refresh:
        story += [
            Spacer(1, 4 * mm),
            Paragraph("Due for refresh within a year", styles["Heading2"]),
            _table(
                [["Change", "What", "Refresh by"]]
                + [[r, Paragraph(escape(t), say), f"{d:%d %b %Y}"] for r, t, d in report.refresh]
            ),
        ]
    if report.proposals:
        story += [
            Spacer(1, 4 * mm),
            Paragraph("Needs proposed by staff", styles["Heading2"]),
            _table(
                [["What became of them", "Proposals"]]
                + [[k, str(n)] for k, n in sorted(report.proposals.items())]
            ),
        ]
    if report.routine_due:
        story += [
            Spacer(1, 4 * mm),
            Paragraph("Routine work", styles["Heading2"]),
            Paragraph(escape(f"{report.routine_due} occurrences of recurring work fell in the period; "
                             f"{report.routine_missed} missed (not released on their day)."), say),
        ]
    if report.evidence:
        story += [
            Spacer(1, 4 * mm),
            Paragraph("Evidence: what the changes released are evidence of", styles["Heading2"]),
            _table([["Standard or control", "Changes"]]
                   + [[Paragraph(escape(f"{group}: {label}"), say), str(n)]
                      for group, labels in report.evidence.items() for label, n in labels.items()]),
        ]
    if report.update_days:
        story += [
            Spacer(1, 4 * mm),
            Paragraph("Days from the vendor's release to ours", styles["Heading2"]),
            _table([["Change", "Control", "Vendor", "Ours", "Days"]]
                   + [[ref, Paragraph(escape(label), say), f"{vendor:%d %b %Y}", f"{ours:%d %b %Y}",
                       f"{days}{' (over)' if over else ''}"]
                      for ref, label, vendor, ours, days, over in report.update_days]),
        ]
    if report.evidence_due:
        story += [
            Spacer(1, 4 * mm),
            Paragraph("Evidence expected regularly", styles["Heading2"]),
            _table([["Standard or condition", "Last", "Every", "Status"]]
                   + [[Paragraph(escape(f"{group}: {label}"), say), f"{last:%d %b %Y}" if last else "Never",
                       f"{every} days", "Overdue" if overdue else "Up to date"]
                      for group, label, last, every, overdue in report.evidence_due]),
        ]
    for label, (passed, failed) in report.tests.items():
        story += [Paragraph(escape(f"{label}: {passed} passed, {failed} failed in the period."), say)]
    if report.it_support:
        story += [
            Spacer(1, 4 * mm),
            Paragraph("Review of IT support", styles["Heading2"]),
            _table([["Provider", "Handled", "Days to respond", "Waiting", "Days to release", "Windows kept",
                     "Reviews"]]
                   + [[Paragraph(escape(p.provider), say), str(p.handled),
                       "—" if p.response_days is None else str(p.response_days), str(p.unanswered),
                       "—" if p.resolution_days is None else str(p.resolution_days),
                       _rate(p.windows_kept), str(p.reviews_closed)] for p in report.it_support]),
        ]
    if sum(report.retired):
        story += [Paragraph(escape(f"Devices retired: {report.retired[0]} with disposal evidence, "
                                   f"{report.retired[1]} without."), say)]
    if report.filtering.get("asked") or len(report.filtering) > 2:
        decided = "; ".join(f"{what[9:].lower()}: {n}" for what, n in report.filtering.items()
                            if what.startswith("decided: "))
        story += [
            Spacer(1, 4 * mm),
            Paragraph("Web filtering", styles["Heading2"]),
            Paragraph(escape(f"{report.filtering.get('asked', 0)} requests to allow or block a site or "
                             f"category; decided — {decided or 'none'}; applied on the filter: "
                             f"{report.filtering.get('applied', 0)}."), say),
        ]
    story += [
        Spacer(1, 6 * mm),
        Paragraph("Checking these figures against the audit trail", styles["Heading2"]),
        Paragraph(
            escape(
                f"Every change, decision and release behind this report is in the school's audit "
                f"trail, each event sealed with a SHA-256 hash of the one before. When this report was "
                f"prepared the trail held {report.audit_count} events and its head was:"
            ),
            say,
        ),
        Paragraph(f"<font face='Courier'>{report.audit_head}</font>", say),
        Paragraph(
            escape(
                f"To check it, the network manager runs `fitsflow audit verify --head {report.audit_head}` "
                "on the school's server "
                "(or an auditor opens Audit in fitsflow): it walks the whole trail, recomputing every "
                "hash, and prints the count and head. The head printed here must appear in the trail "
                "at that count; any later events follow it. A trail that was altered will not "
                "verify."
            ),
            say,
        ),
    ]
    doc.build(story)
    return out.getvalue()
