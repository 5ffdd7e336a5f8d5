"""Reports for SLT and governors: the page with its charts, the CSV and workbook, the PDF."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, render_template, request

from fitsflow.domain import limits
from fitsflow.domain.errors import InvalidInput
from fitsflow.services import filtering, reports, schools

from .access import VIEWERS, access
from .charts import bars
from .errors import render_error
from .forms import whole
from .login import actor, runtime

bp = Blueprint("reports", __name__, url_prefix="/reports")


def _report() -> reports.Report:
    args = request.args
    return reports.report(
        runtime(),
        actor_id=actor().id,
        term=whole(args.get("term", ""), maximum=limits.ID_MAX) or None,
        year=whole(args.get("year", ""), maximum=9999) or None,
        start=args.get("start", ""),
        end=args.get("end", ""),
        school=args.get("school", "")[:40] or None,
    )


@bp.get("")
@access(VIEWERS)
def index() -> Any:
    """The report for a term, an academic year or dates, with charts."""
    try:
        report = _report()
    except InvalidInput as err:
        return render_error(
            400, "That period cannot be reported on.", [f"{k}: {v}" for k, v in err.problems.items()]
        )
    charts = {
        "raised": bars(
            "Changes raised by category", [(c, sum(o.values())) for c, o in report.by_category.items()]
        ),
        "gates": bars(
            "Median days at each approval", [(g.gate, g.median_days) for g in report.gate_times], unit=" days"
        ),
        "spend": bars("Spend planned by financial year", _by_year(report), unit=""),
    }
    return render_template(
        "reports.html",
        r=report,
        charts=charts,
        args=request.args,
        terms=reports.term_list(runtime(), actor_id=actor().id),
        schools=schools.mine(runtime(), actor_id=actor().id),
        reads_filtering=filtering.may_read_log(runtime(), actor()),
    )


def _by_year(report: reports.Report) -> list[tuple[str, float]]:
    totals: dict[str, float] = {}
    for s in report.spend:
        totals[s.financial_year] = totals.get(s.financial_year, 0.0) + float(s.planned)
    return sorted(totals.items())


@bp.get("/report.<fmt>")
@access(VIEWERS)
def download(fmt: str) -> Any:
    """Every figure of the report as CSV or as a workbook."""
    if fmt not in ("csv", "xlsx"):
        return Response("format must be csv or xlsx", status=404)
    report = _report()
    name = f"fitsflow-report-{report.period.start}-{report.period.end}"
    if fmt == "csv":
        return Response(
            reports.csv_text(report),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    return Response(
        reports.xlsx_bytes(report),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
    )


@bp.get("/governors.pdf")
@access(VIEWERS)
def governors() -> Any:
    """The termly governors' report, as a PDF carrying the audit trail's head."""
    rt = runtime()
    report = _report()
    from fitsflow.services import governors_pdf  # ReportLab: 9 MB a worker loads when first asked

    body = governors_pdf.render(report, school=rt.settings.school.name, money=rt.money)
    return Response(
        body,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="governors-report-{report.period.start}.pdf"',
            "X-Content-Type-Options": "nosniff",
        },
    )
