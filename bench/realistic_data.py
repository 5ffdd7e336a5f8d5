"""A realistic history for the web bench: a handful of model changes driven through the real
services (raise, stages, gates, peer review, release with notices and receipts, review,
withdrawal, rejection), delivered by the real worker (inbox items), then each model's rows in
every table the product writes for a change cloned with new ids and references, shifted back
in time, in bulk, until the history holds the size asked for. The clones' audit events are
hash-chained after the models' with the project's own link hash, the search index is rebuilt
as migration 0028 fills it, and the whole chain is then verified as ``fitsflow audit verify``
does (which also leaves the checkpoint the audit page and the worker start from)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Date, DateTime, String, TypeDecorator, func, select, text  # noqa: E402
from sqlalchemy.engine import Connection  # noqa: E402

from fitsflow.bootstrap import build_runtime  # noqa: E402
from fitsflow.config import load_settings  # noqa: E402
from fitsflow.delivery.worker import Worker  # noqa: E402
from fitsflow.domain import events, totp  # noqa: E402
from fitsflow.domain.chain import link_hash  # noqa: E402
from fitsflow.persistence import search_store  # noqa: E402
from fitsflow.persistence.migrate import upgrade  # noqa: E402
from fitsflow.persistence.models import (  # noqa: E402
    Approval,
    ApprovedSnapshot,
    AuditEvent,
    AuditHead,
    Change,
    ChangeHolder,
    ChangeOwner,
    ChangeService,
    CostLine,
    GateReminder,
    GateRequirement,
    InboxItem,
    NeedsAnalysis,
    NoticeReceipt,
    OutboxMessage,
    PeerReview,
    RefCounter,
    ReleaseNotice,
    ReleasePlan,
    Review,
)
from fitsflow.services import audit, auth, catalogue, mfa, users  # noqa: E402
from fitsflow.services import changes as changes_service  # noqa: E402
from fitsflow.services import gates as gates_service  # noqa: E402
from fitsflow.services.runtime import Runtime  # noqa: E402
from tests import factories as f  # noqa: E402

PASSWORD = "bench password 1"
CHUNK = 5000
SERVICES = ("Core network", "Wi-Fi", "MIS", "Email", "Printing", "Classroom AV")
# Changes a day over the history: 100,000 changes span about ten years, 1,000 about five weeks,
# so a month of the schedule holds about as many releases at either size.
PER_DAY = 27
# Only a change raised within this many days may still be open (not closed or withdrawn).
OPEN_DAYS = 60
READ_AFTER = timedelta(days=14)

_MODELS: tuple[Any, ...] = (
    Change, NeedsAnalysis, CostLine, ReleasePlan, Review, Approval, AuditEvent, OutboxMessage, InboxItem,
    ReleaseNotice, NoticeReceipt, GateRequirement, ApprovedSnapshot, ChangeOwner, ChangeService, ChangeHolder,
    PeerReview, GateReminder)
_T = {m.__tablename__: m.__table__ for m in _MODELS}
# Tables holding a change's rows by its id, in an order that satisfies the foreign keys.
BY_ID = ("needs_analyses", "cost_lines", "release_plans", "reviews", "approvals", "gate_requirements",
         "approved_snapshots", "change_owners", "change_services", "change_holders", "peer_reviews",
         "gate_reminders", "release_notices", "notice_receipts")
# Tables whose own integer id is remapped (and, on PostgreSQL, whose sequence is moved on).
SERIAL = ("changes", "cost_lines", "approvals", "outbox", "inbox_items", "peer_reviews", "release_notices",
          "notice_receipts")


@dataclass
class People:
    ids: dict[str, int]
    emails: dict[str, str]
    secrets: dict[str, str]  # TOTP secrets of those who sign in with a second factor
    staff: list[int]


@dataclass
class Model:
    name: str
    ref: str
    id: int
    weight: int
    open: bool
    # How far back its clones may go: a draft notice's publishing time stays ahead (the worker
    # would publish a clone's notice that came due at once, while the server is measured).
    max_back: timedelta | None = None
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


@dataclass
class Built:
    people: People
    api_token: str
    targets: list[str]  # minor changes at the proceed gate, for the finance member's decisions
    ack_path: str  # who has acknowledged one release notice of the requester's change
    counts: dict[str, int]
    seconds: dict[str, float]


def make_people(rt: Runtime, staff: int) -> People:
    """The network manager (the requester measured), two other requesters, the approvers, an
    auditor and ``staff`` teachers (who receive release notices)."""
    spec = {"manager": ("Network manager", "requester", "support"),
            "tech": ("ICT technician", "requester", "support"),
            "bursar": ("Business manager", "requester", "slt"),
            "cab": ("CAB member", "cab", "support"), "cab2": ("CAB member 2", "cab", "support"),
            "slt": ("Deputy head", "slt", "slt"), "finance": ("Finance officer", "finance", "slt"),
            "head": ("Head teacher", "head", "slt"), "auditor": ("Auditor", "auditor", "")}
    spec |= {f"staff{i}": (f"Teacher {i}", "", "staff") for i in range(staff)}
    ids, emails = {}, {}
    for key, (name, roles, audiences) in spec.items():
        emails[key] = f"{key}@bench.school"
        ids[key] = users.add_user(rt, name=name, email=emails[key], roles=roles, audiences=audiences,
                                  password=PASSWORD)
    secrets = {}
    for key in ("cab", "finance"):  # approver roles sign in with a second factor
        secret = mfa.begin_enrolment(rt, user_id=ids[key]).secret
        mfa.confirm_enrolment(rt, user_id=ids[key], code=totp.code_at(secret, datetime.now(UTC)))
        secrets[key] = secret
    return People(ids, emails, secrets, [ids[f"staff{i}"] for i in range(staff)])


class _School(f.School):
    """tests.factories' School on these people, raising as ``requester``."""

    def __init__(self, rt: Runtime, people: People, requester: str):
        self.rt = rt
        p = people.ids
        self.requester, self.other_requester = p[requester], p["tech" if requester != "tech" else "manager"]
        self.cab, self.slt, self.finance, self.head = [p["cab"], p["cab2"]], p["slt"], p["finance"], p["head"]
        self.auditor, self.staff = p["auditor"], people.staff[0]
        self.trust = {}


# (name, category, where it ends, weight in a hundred changes, open, services it affects)
# Most of a history is settled; the open tenth is spread over planning, the gates and delivery.
KINDS: tuple[tuple[str, str, str, int, bool, tuple[str, ...]], ...] = (
    ("closed minor", "minor", "closed", 30, False, ("Wi-Fi",)),
    ("closed significant", "significant", "closed", 18, False, ("Core network", "Wi-Fi")),
    ("closed costly", "significant", "closed", 2, False, ("Core network",)),
    ("closed major", "major", "closed", 5, False, ("MIS",)),
    ("closed standard", "standard", "closed", 12, False, ("Classroom AV",)),
    ("closed emergency", "emergency", "closed", 3, False, ("Email",)),
    ("withdrawn", "minor", "withdrawn", 8, False, ("Printing",)),
    ("rejected", "minor", "rejected", 4, False, ("MIS",)),
    ("in review", "minor", "in_review", 2, True, ("Wi-Fi",)),
    ("released", "significant", "released", 2, True, ("Core network",)),
    ("scheduled", "minor", "scheduled", 2, True, ("Printing",)),
    ("at proceed gate", "significant", "proceed_approval", 3, True, ("MIS",)),
    ("at implement gate", "minor", "implement_approval", 3, True, ("Wi-Fi",)),
    ("release planning", "minor", "release_planning", 2, True, ("Email",)),
    ("financial planning", "major", "financial_planning", 2, True, ("Core network",)),
    ("needs analysis", "minor", "needs_analysis", 2, True, ("Classroom AV",)),
)
REQUESTERS = ("manager", "tech", "bursar")  # one change in three is the network manager's


def _drive(rt: Runtime, school: _School, name: str, category: str, target: str,
           services: tuple[str, ...], window: datetime) -> str:
    title = f"Model: {name}"
    if target == "rejected":  # rejected at the proceed gate, back to needs analysis, then withdrawn
        ref = f.change_in(rt, school, category, "proceed_approval", title=title, affected=services,
                          window=window)
        gates_service.decide(rt, actor_id=school.finance, ref=ref, decision="reject", role="finance",
                             comment="Not this year: the budget is committed")
        changes_service.fire(rt, actor_id=school.requester, ref=ref, trigger="withdraw",
                             reason="Rejected: it waits for next year's budget")
        return ref
    if name == "closed costly":  # a plan over £10,000 (what the register's cost filter looks for)
        lines = f.five_year_lines
        f.five_year_lines = lambda years=5: [dict(line) for line in f.BIG_PLAN]
        try:
            return f.change_in(rt, school, category, target, title=title, affected=services, window=window)
        finally:
            f.five_year_lines = lines
    return f.change_in(rt, school, category, target, title=title, affected=services, window=window)


def _window(rt: Runtime, k: int) -> datetime:
    """The k-th model's release window: ten days on, each model in an hour of its own."""
    start = rt.now().replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=10)
    return start + timedelta(days=k // 8, hours=9 + k % 8)


def build_models(rt: Runtime, people: People) -> list[Model]:
    for service in SERVICES:
        catalogue.save_service(rt, actor_id=None, name=service)
    models: list[Model] = []
    for requester in REQUESTERS:
        school = _School(rt, people, requester)
        for name, category, target, weight, is_open, services in KINDS:
            ref = _drive(rt, school, name, category, target, services, _window(rt, len(models)))
            models.append(Model(f"{name} ({requester})", ref, 0, weight, is_open))
    return models


def decision_model(rt: Runtime, people: People) -> Model:
    """A minor change at the proceed gate (the finance member's decision moves it on), raised
    by the technician: the decision benchmark's targets are its clones."""
    ref = f.change_in(rt, _School(rt, people, "tech"), "minor", "proceed_approval",
                      title="Model: decision target", affected=("Printing",), window=_window(rt, 99))
    return Model("decision target", ref, 0, 0, True)


def read_models(connection: Connection, models: list[Model], now: datetime) -> None:
    """Each model's rows in every table the product writes for a change."""
    for m in models:
        row = connection.execute(select(_T["changes"]).where(_T["changes"].c.ref == m.ref)).mappings().one()
        m.id = row["id"]
        m.rows["changes"] = [dict(row)]
        for name in BY_ID:
            table = _T[name]
            order = [c for c in table.primary_key]
            m.rows[name] = [dict(r) for r in connection.execute(
                select(table).where(table.c.change_id == m.id).order_by(*order)).mappings()]
        drafts = [n["publish_at"] for n in m.rows["release_notices"] if n["status"] == "draft"]
        if drafts:
            m.max_back = max(min(drafts) - now, timedelta(0))
        for name in ("audit_events", "outbox", "inbox_items"):
            table = _T[name]
            key = table.c.seq if name == "audit_events" else table.c.id
            m.rows[name] = [dict(r) for r in connection.execute(
                select(table).where(table.c.change_ref == m.ref).order_by(key)).mappings()]


TITLES = ("Replace the Wi-Fi access points in block {n}", "Upgrade the core switch stack {n}",
          "Move the MIS reports to the new server {n}", "Renew the email filtering licence {n}",
          "Replace the printers on floor {n}", "Patch the firewall firmware {n}",
          "New laptops for the maths department {n}", "Retire the old file server {n}")


def _title(i: int) -> str:
    # One change in a hundred is about projectors (what the bench's full-text search looks for).
    if i % 100 == 7:
        return f"Replace the projector in room {i % 400}"
    return TITLES[i % len(TITLES)].format(n=i % 97)


class _Ids:
    """The next free id of each remapped table."""

    def __init__(self, connection: Connection):
        self.next = {name: 1 + int(connection.execute(
            select(func.coalesce(func.max(_T[name].c.id), 0))).scalar_one()) for name in SERIAL}

    def take(self, name: str) -> int:
        value = self.next[name]
        self.next[name] = value + 1
        return value


def _columns(kind: type) -> dict[str, list[str]]:
    """Each table's columns of this SQL type (a TypeDecorator by what it decorates)."""
    def base(column: Any) -> Any:
        return column.type.impl if isinstance(column.type, TypeDecorator) else column.type

    return {name: [c.name for c in table.columns if isinstance(base(c), kind)] for name, table in _T.items()}


_DATETIMES = _columns(DateTime)
_DATES = _columns(Date)
_TEXTS = {name: [c for c in columns if c != "ref"] for name, columns in _columns(String).items()}


def _plan(models: list[Model], total: int, now: datetime) -> Iterator[tuple[int, Model, timedelta]]:
    """(index, model, how far back) for each clone, oldest first, PER_DAY a day back from
    today. A change raised in the last OPEN_DAYS may still be open (the kinds in their
    weights); one raised before has settled (the settled kinds only): the open work is about
    the same at any size, the history is what grows."""
    every: list[Model] = []
    for m in models:
        every += [m] * m.weight
    settled = [m for m in every if not m.open]
    span = timedelta(days=total / PER_DAY)
    recent = timedelta(days=OPEN_DAYS)
    for i in range(total):
        back = span * (1 - i / total)
        deck = every if back < recent else settled
        m = deck[(i * 37) % len(deck)]  # each kind spread evenly through the history
        if m.max_back is not None:
            back = min(back, m.max_back * (1 - i / total))
        yield i, m, back


ROW_SECURED = frozenset({"changes"})


def _insert(connection: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    """One executemany of ``rows`` straight to the driver, each value through its column's
    own bind processor (what Core's insert() does, without compiling each row's parameters)."""
    if not rows:
        return
    dialect = connection.dialect
    names = list(rows[0])
    processors = [table.c[n].type._cached_bind_processor(dialect) for n in names]
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    quote = dialect.identifier_preparer.quote
    sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) "
           f"VALUES ({', '.join([mark] * len(names))})")
    pairs = list(zip(names, processors, strict=True))
    values = [tuple(p(r[n]) if p else r[n] for n, p in pairs) for r in rows]
    # COPY: an executemany there is a round trip a row — but PostgreSQL refuses COPY into a
    # table under row-level security (changes, migration 0054) for a role it binds (the
    # trust bench connects as one, as an installation does): those rows go by executemany.
    if dialect.name == "postgresql" and table.name not in ROW_SECURED:
        columns = ", ".join(quote(n) for n in names)
        with connection.connection.driver_connection.cursor() as cursor:  # type: ignore[union-attr]
            with cursor.copy(f"COPY {quote(table.name)} ({columns}) FROM STDIN") as copy:
                for value in values:
                    copy.write_row(value)
        return
    connection.exec_driver_sql(sql, values)


class Cloner:
    """Writes clones of the models in chunks: each table's rows gathered, then one executemany."""

    def __init__(self, connection: Connection, now: datetime):
        self.connection = connection
        self.ids = _Ids(connection)
        self.pending: dict[str, list[dict[str, Any]]] = {name: [] for name in _T}
        head_table = AuditHead.__table__  # type: ignore[attr-defined]
        head = connection.execute(select(head_table.c.seq, head_table.c.hash)).one()
        self.seq, self.hash = int(head[0]), str(head[1])
        self.years: dict[int, int] = {int(y): int(n) for y, n in connection.execute(
            select(RefCounter.__table__.c.year, RefCounter.__table__.c.last))}  # type: ignore[attr-defined]
        self.refs: list[str] = []
        self.now = now
        self.rows = 0

    def _ref(self, created: datetime) -> str:
        number = self.years.get(created.year, 0) + 1
        self.years[created.year] = number
        return f"CHG-{created.year}-{number:04d}"

    def clone(self, m: Model, i: int, back: timedelta) -> str:
        change = dict(m.rows["changes"][0])
        created = change["created_at"] - back
        ref = self._ref(created)
        new_id = self.ids.take("changes")
        old_ref, old_title, title = m.ref, change["title"], _title(i)
        # What came more than READ_AFTER ago has been read, and nine in ten of its release
        # notices acknowledged, as people do.
        settled = back >= READ_AFTER
        ids: dict[str, dict[int, int]] = {name: {} for name in SERIAL}
        ids["changes"][m.id] = new_id

        def shifted(name: str, row: dict[str, Any]) -> dict[str, Any]:
            out = dict(row)
            for c in _DATETIMES[name]:
                if out[c] is not None:
                    out[c] = out[c] - back
            for c in _DATES[name]:
                if out[c] is not None:
                    out[c] = out[c] - timedelta(days=back.days)
            for c in _TEXTS[name]:
                value = out[c]
                if value and old_ref in value:
                    value = out[c] = value.replace(old_ref, ref)
                if value and old_title in value:
                    out[c] = value.replace(old_title, title)
            if "change_id" in out:
                out["change_id"] = new_id
            if "change_ref" in out and out["change_ref"]:
                out["change_ref"] = ref
            return out

        row = shifted("changes", change)
        row.update(id=new_id, ref=ref, title=title)
        self.pending["changes"].append(row)
        for name in BY_ID:
            for original in m.rows[name]:
                out = shifted(name, original)
                if name in SERIAL:
                    out["id"] = ids[name][original["id"]] = self.ids.take(name)
                if name == "notice_receipts":
                    out["notice_id"] = ids["release_notices"][original["notice_id"]]
                    if settled and out["acknowledged_at"] is None and (i + out["user_id"]) % 10:
                        out["acknowledged_at"] = out["created_at"] + timedelta(days=1)
                self.pending[name].append(out)
        for original in m.rows["outbox"]:
            out = shifted("outbox", original)
            out["id"] = ids["outbox"][original["id"]] = self.ids.take("outbox")
            self.pending["outbox"].append(out)
        for original in m.rows["inbox_items"]:
            out = shifted("inbox_items", original)
            out["id"] = self.ids.take("inbox_items")
            out["outbox_id"] = ids["outbox"][original["outbox_id"]]
            if settled and out["read_at"] is None:
                out["read_at"] = out["created_at"] + timedelta(hours=1)
            self.pending["inbox_items"].append(out)
        for original in m.rows["audit_events"]:
            at = (datetime.fromisoformat(original["at"]) - back).isoformat(timespec="microseconds")
            payload = original["payload"].replace(old_ref, ref).replace(old_title, title)
            self.seq += 1
            digest = link_hash(seq=self.seq, at=at, actor=original["actor"], change_ref=ref,
                               event_type=original["event_type"], payload=payload, prev_hash=self.hash)
            self.pending["audit_events"].append({"seq": self.seq, "at": at, "actor": original["actor"],
                                                 "change_ref": ref, "event_type": original["event_type"],
                                                 "payload": payload, "prev_hash": self.hash, "hash": digest})
            self.hash = digest
        self.refs.append(ref)
        if len(self.pending["changes"]) >= CHUNK:
            self.flush()
        return ref

    def flush(self) -> None:
        for name in ("changes", *BY_ID, "outbox", "inbox_items", "audit_events"):
            rows = self.pending[name]
            for start in range(0, len(rows), CHUNK):
                _insert(self.connection, _T[name], rows[start:start + CHUNK])
            self.rows += len(rows)
            rows.clear()

    def finish(self) -> None:
        """The last rows, the chain head moved to the last clone's event (the cached reads'
        versions with it) and the reference counters past the clones' numbers."""
        self.flush()
        head = AuditHead.__table__  # type: ignore[attr-defined]
        reads = {f"{name}_{part}": value for name in events.READS
                 for part, value in (("seq", self.seq), ("hash", self.hash))}
        self.connection.execute(head.update().where(head.c.id == 1)
                                .values(seq=self.seq, hash=self.hash, **reads))
        counters = RefCounter.__table__  # type: ignore[attr-defined]
        for year, last in self.years.items():
            self.connection.execute(counters.delete().where(counters.c.year == year))
            self.connection.execute(counters.insert().values(year=year, last=last))
        if self.connection.dialect.name == "postgresql":
            for name in SERIAL:
                self.connection.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"(SELECT coalesce(max(id), 1) FROM {name}))"))


def _no_reminders(rt: Runtime, connection: Connection) -> None:
    """Reminders and escalations for the rounds open at a gate now recorded as sent (their
    history is not cloned), so the server's worker does not write them while it is measured."""
    changes, req, sent = _T["changes"], _T["gate_requirements"], _T["gate_reminders"]
    at_gates = sorted({g.state for wf in rt.workflows.every_version() for g in wf.definition.gates.values()})
    rows = connection.execute(
        select(req.c.change_id, req.c.gate, req.c.round, func.min(req.c.opened_at))
        .join(changes, changes.c.id == req.c.change_id)
        .where(req.c.round == changes.c.approval_round, req.c.opened_at.is_not(None),
               changes.c.state.in_(at_gates))
        .group_by(req.c.change_id, req.c.gate, req.c.round)).all()
    have = {tuple(r) for r in connection.execute(
        select(sent.c.change_id, sent.c.gate, sent.c.round, sent.c.kind))}
    new = [{"change_id": cid, "gate": gate, "round": rnd, "kind": kind, "sent_at": opened}
           for cid, gate, rnd, opened in rows for kind in ("reminder", "escalation")
           if (cid, gate, rnd, kind) not in have]
    for start in range(0, len(new), CHUNK):
        connection.execute(sent.insert(), new[start:start + CHUNK])


def settle(rt: Runtime) -> None:
    """On PostgreSQL, what autovacuum does after a load this size (since PostgreSQL 13 inserts
    alone start it): VACUUM ANALYZE of the schema's tables, which also marks their pages
    all-visible so index-only scans skip the table. SQLite is left as an installation has it
    (the product never runs ANALYZE)."""
    if rt.db.dialect != "postgresql":
        return
    with rt.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        tables = [name for (name,) in connection.exec_driver_sql(
            "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = current_schema()")]
        connection.exec_driver_sql(f"VACUUM (ANALYZE) {', '.join(tables)}")


def build(url: str, total: int, *, targets: int, staff: int = 12, log: Any = print) -> Built:
    """A database at ``url`` with ``total`` changes of history (models and clones) and
    ``targets`` decision targets besides."""
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    rt = build_runtime(load_settings(environ={}), database_url=url)
    upgrade(rt.db)
    people = make_people(rt, staff)
    models = build_models(rt, people)
    target = decision_model(rt, people)
    drain = Worker(rt, email=None, webhook=None)
    f.drain(drain, rounds=1000)  # the models' notifications in their people's inboxes
    seconds["models"] = time.perf_counter() - start
    ack_ref = next(m.ref for m in models if m.name == "released (manager)")
    start = time.perf_counter()
    now = rt.now()
    with rt.db.transaction() as session:
        connection = session.connection()
        read_models(connection, [*models, target], now)
        for m in models:
            assert m.rows["audit_events"], m.name
        cloner = Cloner(connection, now)
        for i, m, back in _plan(models, max(total - len(models), 0), now):
            cloner.clone(m, i, back)
        first_target = len(cloner.refs)
        for i in range(targets):
            cloner.clone(target, i, timedelta(days=OPEN_DAYS * (1 - i / max(targets, 1)) / 2))
        cloner.finish()
        _no_reminders(rt, connection)
        seconds["clone"] = time.perf_counter() - start
        start = time.perf_counter()
        # As migration 0028 fills it, a chunk of changes at a time: reindex() of every change
        # at once names them all in one IN list, past PostgreSQL's 65,535 parameters.
        refs = [r for (r,) in connection.execute(select(_T["changes"].c.ref).order_by(_T["changes"].c.id))]
        for first in range(0, len(refs), CHUNK):
            search_store.reindex(connection, refs=refs[first:first + CHUNK])
        seconds["search index"] = time.perf_counter() - start
        target_refs = [target.ref] + cloner.refs[first_target:]
    start = time.perf_counter()
    settle(rt)
    seconds["vacuum"] = time.perf_counter() - start
    start = time.perf_counter()
    verified = audit.verify(rt)  # the whole chain, as `fitsflow audit verify`; leaves the checkpoint
    seconds["audit verify"] = time.perf_counter() - start
    if not verified.ok:
        raise RuntimeError(f"the cloned audit chain does not verify: {verified.describe()}")
    with rt.db.read() as session:
        connection = session.connection()
        counts = {name: int(connection.execute(select(func.count()).select_from(_T[name])).scalar_one())
                  for name in ("changes", "audit_events", "outbox", "inbox_items", "approvals",
                               "release_notices", "notice_receipts", "cost_lines", "gate_requirements")}
        notice = connection.execute(
            select(_T["release_notices"].c.id).join(_T["changes"], _T["changes"].c.id
                                                    == _T["release_notices"].c.change_id)
            .where(_T["changes"].c.ref == ack_ref, _T["release_notices"].c.audience == "staff")).scalar_one()
    token = auth.create_token(rt, user_id=people.ids["auditor"], name="bench")
    rt.db.dispose()
    return Built(people, token, target_refs, f"/changes/{ack_ref}/notices/{notice}/acknowledgements", counts,
                 seconds)


if __name__ == "__main__":
    import tempfile

    folder = tempfile.mkdtemp(prefix="fitsflow-realistic-")
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    db = sys.argv[2] if len(sys.argv) > 2 else f"sqlite:///{folder}/bench.db"
    built = build(db, size, targets=10)
    print(built.counts, {k: round(v, 1) for k, v in built.seconds.items()}, built.ack_path)
    print(db)
