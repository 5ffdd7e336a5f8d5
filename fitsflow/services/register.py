"""The change register for auditors and governors: one row per change (who raised it,
when each gate passed and who approved it, what it was planned to cost and what it did,
where it stands, how it ended), with the filters of the changes list, on a page or exported
as CSV or an Excel workbook."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from ..domain.errors import NotPermitted
from ..domain.money import spreadsheet_format
from ..domain.roles import ADMIN, AUDITOR
from ..domain.vocabulary import RESTORE
from ..persistence import queue_store, register_store
from . import common
from .audit import spreadsheet_safe
from .change_search import ChangeFilter, paged, records
from .queues import Page
from .runtime import Runtime
from .views import ChangeView

BATCH = 500


@dataclass(frozen=True)
class GatePass:
    title: str
    passed_at: datetime | None
    approvers: tuple[str, ...]
    reopened: bool = False  # it passed, then an edit opened a new round: it does not stand now

    @property
    def standing(self) -> str:
        """The gate in words for the register: who approved, or that it was reopened."""
        who = ", ".join(self.approvers)
        if self.reopened:
            return f"Reopened: waiting to be approved again (was approved by {who})" if who else \
                "Reopened: waiting to be approved again"
        return who


@dataclass(frozen=True)
class RegisterRow:
    change: ChangeView
    workflow_title: str
    five_year_cost: Decimal
    actual_cost: Decimal | None
    gates: dict[str, GatePass]  # by gate title
    outcome: str
    early_release: str = ""  # why it was released before its window opened ("" if it was not)
    # An emergency that restored a service, spending above the policy's first band: the
    # money's approvers are still to decide (they are asked before it closes).
    money_awaiting: str = ""
    window_start: datetime | None = None
    window_end: datetime | None = None
    risk: str = ""  # the level the release plan's risk assessment scored

    @property
    def ref(self) -> str:
        return self.change.ref


def gate_titles(rt: Runtime) -> list[str]:
    """The register's gate columns: every gate of every workflow, in workflow order."""
    titles: dict[str, None] = {}
    for wf in rt.workflows:
        for gate in wf.definition.gates.values():
            titles.setdefault(gate.title, None)
    return list(titles)


def _rows(rt: Runtime, session: Any, found: list[Any]) -> list[RegisterRow]:
    ids = [r.id for r in found]
    costs = queue_store.facts(session, ids)
    more = register_store.facts(session, ids)
    rows = []
    for record in found:
        definition = common.workflow_of(rt, record).definition
        known = more[record.id]
        gates = {g.title: GatePass(g.title, known.passed.get(g.name), tuple(known.approvers.get(g.name, ())),
                                   g.name in known.reopened)
                 for g in definition.gates.values()}
        state = definition.states.get(record.state)
        outcome = known.outcome or (state.title if state and state.final else "")
        planned = sum(costs[record.id].cost_by_year.values(), Decimal(0))
        fact = costs[record.id]
        rows.append(RegisterRow(common.view_of(session, rt, record), definition.title, planned,
                                known.actual_cost, gates, outcome, known.early_release,
                                _money_awaiting(rt, definition, record, planned, known.actual_cost,
                                                bool(state and state.final)),
                                fact.window_start, fact.window_end, fact.risk or ""))
    return rows


def _money_awaiting(rt: Runtime, definition: Any, record: Any, planned: Decimal, actual: Decimal | None,
                    final: bool) -> str:
    """What an emergency that went ahead to restore a service still owes the approval policy."""
    top = rt.settings.policy.first_band_top()
    spend = max(planned, actual or Decimal(0))
    if not definition.emergency or record.emergency_purpose != RESTORE or final or top is None \
            or spend <= top:
        return ""
    return (f"spent {rt.money(spend)}, above {rt.money(top)}: the approval policy's approvers decide "
            "before it closes")


def _check(rt: Runtime, session: Any, actor_id: int) -> None:
    """The register is the auditors' and administrators' (its page and the API alike)."""
    if not common.load_actor(rt, session, actor_id).roles & {AUDITOR, ADMIN}:
        raise NotPermitted("the change register is for auditors and administrators")


def page(rt: Runtime, *, actor_id: int, filters: ChangeFilter, limit: int = 25, offset: int = 0,
         after: str = "", before: str = "") -> Page:
    with rt.db.read() as session:
        _check(rt, session, actor_id)
        listed = records(rt, session, filters, limit=limit, offset=offset, after=after, before=before)
        return paged(listed, _rows(rt, session, listed.rows), limit)


def every_row(rt: Runtime, *, actor_id: int, filters: ChangeFilter) -> Iterator[RegisterRow]:
    """Every matching row, read a batch at a time in one snapshot (memory stays flat)."""
    with rt.db.read() as session:
        _check(rt, session, actor_id)
        after, offset = "", 0
        while True:
            # From the last row's position on (an offset would walk every row before the
            # batch); the best match first has no positions, so it goes by offset.
            listed = records(rt, session, filters, limit=BATCH, offset=offset, after=after)
            if not listed.rows:
                return
            yield from _rows(rt, session, listed.rows)
            if listed.last is None:
                offset += BATCH
            else:
                after = listed.last.text()


def header(rt: Runtime) -> list[str]:
    gates = [h for title in gate_titles(rt) for h in (f"{title}: passed", f"{title}: approved by")]
    return ["Reference", "Title", "Category", "Workflow", "Requester", "Raised", "State", "Phase",
            "Release window start", "Release window end", "Risk",
            "Planned five-year cost", "Actual cost", *gates, "Outcome", "Released early (why)",
            "Emergency spend awaiting approval", "Last updated"]


def values(rt: Runtime, row: RegisterRow) -> list[Any]:
    """One row's cells: dates in the school's time zone, amounts as numbers."""
    zone = rt.timezone

    def local(at: datetime | None) -> datetime | None:
        return at.astimezone(zone).replace(tzinfo=None, microsecond=0) if at else None

    cells: list[Any] = [row.ref, row.change.title, row.change.category, row.workflow_title,
                        row.change.requester_name, local(row.change.created_at), row.change.state_title,
                        row.change.phase, local(row.window_start), local(row.window_end), row.risk,
                        row.five_year_cost, row.actual_cost]
    for title in gate_titles(rt):
        passed = row.gates.get(title)
        cells += [local(passed.passed_at) if passed else None, passed.standing if passed else ""]
    return [*cells, row.outcome, row.early_release, row.money_awaiting, local(row.change.updated_at)]


def csv_chunks(rt: Runtime, *, actor_id: int, filters: ChangeFilter) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header(rt))
    for row in every_row(rt, actor_id=actor_id, filters=filters):
        writer.writerow(["" if v is None else spreadsheet_safe(v.isoformat(sep=" ") if isinstance(v, datetime)
                                                               else v) for v in values(rt, row)])
        if buffer.tell() > 65536:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def xlsx_bytes(rt: Runtime, *, actor_id: int, filters: ChangeFilter) -> bytes:
    """The register as an Excel workbook (openpyxl's write-only mode: rows streamed in)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Change register")
    bold = Font(bold=True)
    titles = []
    names = header(rt)
    # Widths as a governor reads them (set before the first row, as write-only mode needs):
    # titles and approvers wide, dates and amounts as wide as their format.
    for index, name in enumerate(names, start=1):
        width = 40 if name in ("Title", "Released early (why)", "Emergency spend awaiting approval") \
            or name.endswith("approved by") else 18 if name != "Reference" else 15
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "B2"  # before any row: write-only mode writes the view first
    for name in names:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = bold
        titles.append(cell)
    sheet.append(titles)
    money_format = spreadsheet_format(rt.settings.planning.currency)
    count = 0
    for row in every_row(rt, actor_id=actor_id, filters=filters):
        count += 1
        cells = []
        for value in values(rt, row):
            if isinstance(value, str):
                value = spreadsheet_safe(value)
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, Decimal):
                cell.number_format = money_format  # as the pages write amounts
            elif isinstance(value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
            cells.append(cell)
        sheet.append(cells)
    # Each column filterable from its header, over every row written.
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(names))}{count + 1}"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
