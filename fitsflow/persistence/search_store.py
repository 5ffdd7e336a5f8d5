"""Full-text search over changes: reference, title, description, needs, services and the
comments made on them. SQLite keeps an FTS5 table, PostgreSQL a tsvector with a GIN index;
``matching`` gives both the same shape (a condition on ``changes.id``), so the services do
not know which answers.

The index follows the audit trail: every write that changes searchable text appends an
event for its change in the same transaction, and the change is indexed again just before
that transaction commits (``mark``), so the index is never behind what was committed."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from sqlalchemy import Integer, and_, column, event, func, select, text, union_all
from sqlalchemy.engine import Connection
from sqlmodel import Session

from .db_hooks import BEFORE_COMMIT
from .models import Approval, Change, NeedsAnalysis, PeerReview

_CHANGES = Change.__table__  # type: ignore[attr-defined]
_NEEDS = NeedsAnalysis.__table__  # type: ignore[attr-defined]
_APPROVALS = Approval.__table__  # type: ignore[attr-defined]
_PEER = PeerReview.__table__  # type: ignore[attr-defined]
_PENDING = "fitsflow_search_pending"
_WORD = re.compile(r"\w+", re.UNICODE)
MAX_WORDS = 12

# Events whose change has new searchable text (decisions and reviews only with a comment).


def create_statements(dialect: str) -> list[str]:
    if dialect == "sqlite":
        return ["CREATE VIRTUAL TABLE IF NOT EXISTS change_search USING fts5("
                "ref, title, body, tokenize = 'porter unicode61 remove_diacritics 2')"]
    if dialect == "postgresql":
        return ["CREATE TABLE IF NOT EXISTS change_search (change_id INTEGER PRIMARY KEY "
                "REFERENCES changes(id), document TSVECTOR NOT NULL)",
                "CREATE INDEX IF NOT EXISTS ix_change_search_document ON change_search "
                "USING GIN (document)"]
    return []


def drop_statements(dialect: str) -> list[str]:
    return ["DROP TABLE IF EXISTS change_search"] if dialect in ("sqlite", "postgresql") else []


def outside_metadata(name: str | None, type_: str, parent_names: object = None) -> bool:
    """False for the search index's own objects (FTS5's shadow tables, the GIN index): the
    models do not describe them, so schema comparisons leave them out (an Alembic
    ``include_name``)."""
    return not (name or "").startswith(("change_search", "ix_change_search"))


def _install(target: object, connection: Connection, **_: object) -> None:
    for statement in create_statements(connection.dialect.name):
        connection.exec_driver_sql(statement)


# create_all (tests) makes it with the changes table; migration 0028 for installations.
event.listen(_CHANGES, "after_create", _install)


def mark(session: Session, change_ref: str) -> None:
    """Index this change again just before the transaction commits."""
    pending: set[str] | None = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = set()
        session.info.setdefault(BEFORE_COMMIT, []).append(_flush_pending)
    pending.add(change_ref)


def _flush_pending(session: Session) -> None:
    refs = session.info.pop(_PENDING, set())
    if refs:
        session.flush()  # stage rows added through the ORM are read back below
        reindex(session.connection(), refs=sorted(refs))


def _documents(connection: Connection, *, refs: list[str] | None = None,
               ids: list[int] | None = None) -> list[tuple[int, str, str, str]]:
    """(id, ref, title, body) of these changes (by reference or id), body holding every other
    searchable text."""
    query = (select(_CHANGES.c.id, _CHANGES.c.ref, _CHANGES.c.title, _CHANGES.c.description,
                    _CHANGES.c.affected_services, _NEEDS.c.need, _NEEDS.c.stakeholders,
                    _NEEDS.c.sdp_priority, _NEEDS.c.options_considered)
             .select_from(_CHANGES.outerjoin(_NEEDS, _NEEDS.c.change_id == _CHANGES.c.id)))
    if refs is not None:
        query = query.where(_CHANGES.c.ref.in_(refs))
    if ids is not None:
        query = query.where(_CHANGES.c.id.in_(ids))
    rows = connection.execute(query).all()
    ids = [r[0] for r in rows]
    comments: dict[int, list[str]] = {i: [] for i in ids}
    if ids:
        for cid, comment in connection.execute(
                select(_APPROVALS.c.change_id, _APPROVALS.c.comment)
                .where(and_(_APPROVALS.c.change_id.in_(ids), _APPROVALS.c.comment != ""))):
            comments[cid].append(comment)
        for cid, comment in connection.execute(
                select(_PEER.c.change_id, _PEER.c.comments)
                .where(and_(_PEER.c.change_id.in_(ids), _PEER.c.comments != ""))):
            comments[cid].append(comment)
    return [(r[0], r[1], r[2], "\n".join(p for p in (*r[3:], *comments[r[0]]) if p)) for r in rows]


def fold(text: str) -> str:
    """Text as both databases index it: accents taken off (é → e), so "cafe" finds "café"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# Words written joined, hyphenated or spaced alike: "Wi-Fi", "wifi" and "wi fi"; "e-mail".
_JOINERS = "\\-\u2010\u2011'\u2019/."
_COMPOUND = re.compile(rf"\w+(?:[{_JOINERS}]\w+)+")
_SHORT_PAIR = re.compile(rf"(?<![\w{_JOINERS}])([^\W\d_]{{1,2}}) ([^\W\d_]{{1,2}})(?!\w|[{_JOINERS}]\w)")


def _indexed(text: str) -> str:
    """The text indexed, with each compound also written as one word (searching "wifi" finds
    "Wi-Fi" and "wi fi"; searching those finds "wifi" through ``_expression``)."""
    folded = fold(text)
    joined = ["".join(_WORD.findall(m.group(0))).lower() for m in _COMPOUND.finditer(folded)]
    joined += [(a + b).lower() for a, b in _SHORT_PAIR.findall(folded)]  # "wi fi": two short words
    return folded + ("\n" + " ".join(joined) if joined else "")


REINDEX_BATCH = 2_000  # changes per statement: well inside every driver's parameter limit


def reindex(connection: Connection, *, refs: list[str] | None = None) -> int:
    """Index these changes (every change without ``refs``, a batch at a time: one list of
    every id overruns PostgreSQL's 65,535 parameters past that many changes) as they are now."""
    if refs is None:
        every = [int(i) for i in connection.execute(select(_CHANGES.c.id).order_by(_CHANGES.c.id)).scalars()]
        return sum(_reindex(connection, _documents(connection, ids=every[at:at + REINDEX_BATCH]))
                   for at in range(0, len(every), REINDEX_BATCH))
    return sum(_reindex(connection, _documents(connection, refs=refs[at:at + REINDEX_BATCH]))
               for at in range(0, len(refs), REINDEX_BATCH))


def _reindex(connection: Connection, found: list[tuple[int, str, str, str]]) -> int:
    documents = [(i, ref, _indexed(title), _indexed(body)) for i, ref, title, body in found]
    if not documents:
        return 0
    if connection.dialect.name == "postgresql":
        connection.execute(text(
            "INSERT INTO change_search (change_id, document) VALUES (:id, "
            # "CHG-2026-0002" would parse as chg, -2026, -0002: its parts are indexed as words
            "setweight(to_tsvector('english', translate(:ref, '-', ' ') || ' ' || :title), 'A') || "
            "setweight(to_tsvector('english', :body), 'B')) "
            "ON CONFLICT (change_id) DO UPDATE SET document = EXCLUDED.document"),
            [{"id": i, "ref": ref, "title": title, "body": body} for i, ref, title, body in documents])
    else:
        connection.execute(text("DELETE FROM change_search WHERE rowid = :id"),
                           [{"id": d[0]} for d in documents])
        connection.execute(
            text("INSERT INTO change_search (rowid, ref, title, body) VALUES (:id, :ref, :title, :body)"),
            [{"id": i, "ref": ref, "title": title, "body": body} for i, ref, title, body in documents])
    return len(documents)


def words(q: str) -> list[str]:
    """The words searched for: letters and digits only (no query syntax reaches the engine),
    accents taken off."""
    return _WORD.findall(fold(q).lower())[:MAX_WORDS]


_MERGES = 3  # adjacent short words tried joined: at most 2³ spellings of one search


def spellings(found: list[str]) -> list[list[str]]:
    """The ways the words may be written: as typed, and with each pair of adjacent words of
    which one has one or two letters also joined ("wi fi" and "Wi-Fi" → wi fi, wifi; "e mail"
    → email; "log in" → login)."""
    pairs = [i for i in range(len(found) - 1) if min(len(found[i]), len(found[i + 1])) <= 2][:_MERGES]
    out: list[list[str]] = []
    for mask in range(1 << len(pairs)):
        chosen = {pairs[b] for b in range(len(pairs)) if mask >> b & 1}
        if any(i + 1 in chosen for i in chosen):
            continue  # a word joins one neighbour at a time
        spelled, i = [], 0
        while i < len(found):
            if i in chosen:
                spelled.append(found[i] + found[i + 1])
                i += 2
            else:
                spelled.append(found[i])
                i += 1
        out.append(spelled)
    return out


def _expression(dialect: str, found: list[str], *, titled: bool = False) -> str:
    """Every word, as the start of a word, in any of its spellings (no query syntax reaches
    the engine: ``words``); ``titled``: every word in the reference or the title."""
    ways = spellings(found)
    if dialect == "postgresql":
        # the reference and title are indexed with weight A
        one = [" & ".join(f"{w}:*A" if titled else f"{w}:*" for w in way) for way in ways]
        return " | ".join(f"({e})" for e in one) if len(one) > 1 else one[0]
    one = [" ".join(f'"{w}"*' for w in way) for way in ways]
    every = " OR ".join(f"({e})" for e in one) if len(one) > 1 else one[0]
    return f"{{ref title}} : ({every})" if titled else every


def _hits(dialect: str) -> str:
    """The query of the ids matching :fts."""
    if dialect == "postgresql":
        return "SELECT change_id AS hit FROM change_search WHERE document @@ to_tsquery('english', :fts)"
    return "SELECT rowid AS hit FROM change_search WHERE change_search MATCH :fts"


# Relevance, the same in both databases and explainable in a sentence: the reference asked
# for, then changes with every word in their reference or title, then the others; newest
# first within each. (FTS5's bm25 took 150 ms to rank a word in 99,000 of 100,000 changes;
# these orders follow the index and stop at the page.)


def scored(dialect: str, q: str) -> Any:
    """The changes matching ``q`` as a subquery (hit: the change's id; score 0 when every
    word is in its reference or title, else 1), to order a page that other filters narrow.
    None when ``q`` has no words."""
    found = words(q)
    if not found:
        return None
    hits = text(f"SELECT m.hit AS hit, CASE WHEN m.hit IN ({_hits(dialect).replace(':fts', ':titled')}) "
                f"THEN 0 ELSE 1 END AS score FROM ({_hits(dialect)}) AS m"
                if dialect == "postgresql" else
                f"SELECT rowid AS hit, CASE WHEN rowid IN ({_hits(dialect).replace(':fts', ':titled')}) "
                "THEN 0 ELSE 1 END AS score FROM change_search WHERE change_search MATCH :fts")
    return (hits.bindparams(fts=_expression(dialect, found), titled=_expression(dialect, found, titled=True))
            .columns(column("hit", Integer), column("score", Integer)).subquery())


def matching(dialect: str, q: str) -> Any:
    """A condition on changes.id: every word of ``q`` (as a prefix) is in the change's text,
    or ``q`` is its reference. None when ``q`` has no words."""
    found = words(q)
    if not found:
        return None
    hits = text(_hits(dialect)).bindparams(fts=_expression(dialect, found)).columns(column("hit", Integer))
    # One list of ids (the words' hits and the reference's change), not "in the hits or has
    # the reference": with the OR, a school's view walked every change of the school to test
    # each; the list is read first, each of its ids then looked up.
    by_ref = select(_CHANGES.c.id).where(_CHANGES.c.ref == q.strip().upper()).correlate(None)
    return _CHANGES.c.id.in_(union_all(select(hits.subquery().c.hit), by_ref))


def ranked(connection: Connection, q: str, *, limit: int, offset: int) -> tuple[list[int], int]:
    """A page of the changes matching ``q`` in the order of relevance above, and how many
    match, read from the index alone: a search on words and nothing else need not touch the
    changes table, and each part stops at the page."""
    found = words(q)
    if not found:
        return [], 0
    dialect = connection.dialect.name
    exact = connection.execute(select(_CHANGES.c.id).where(_CHANGES.c.ref == q.strip().upper())).scalar() or 0
    key = "change_id" if dialect == "postgresql" else "rowid"
    every, titled = _expression(dialect, found), _expression(dialect, found, titled=True)

    def count(fts: str) -> int:
        query = f"SELECT count(*) FROM ({_hits(dialect)} AND {key} != :exact) AS c"
        return int(connection.execute(text(query), {"fts": fts, "exact": exact}).scalar_one())

    def part(fts: str, *, but: str = "", take: int, skip: int) -> list[int]:
        # ``but``: leave out those matching it too (the title group, from the rest)
        query = f"{_hits(dialect)} AND {key} != :exact"
        if but and dialect == "postgresql":
            query += " AND NOT document @@ to_tsquery('english', :but)"
        elif but:
            fts = f"({fts}) NOT {but}"
        rows = connection.execute(text(f"{query} ORDER BY {key} DESC LIMIT :take OFFSET :skip"),
                                  {"fts": fts, "exact": exact, "but": but, "take": take, "skip": skip})
        return [int(i) for i in rows.scalars()]

    in_title, total = count(titled), count(every)
    ids: list[int] = []
    position = offset
    if exact:
        total += 1
        if offset == 0 and limit > 0:
            ids.append(exact)
        position = max(offset - 1, 0)
    if position < in_title and len(ids) < limit:
        ids += part(titled, take=limit - len(ids), skip=position)
    if len(ids) < limit and total > in_title:
        ids += part(every, but=titled, take=limit - len(ids), skip=max(position - in_title, 0))
    return ids, total


def count(connection: Connection) -> int:
    return int(connection.execute(select(func.count()).select_from(text("change_search"))).scalar_one())
