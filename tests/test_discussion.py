"""Issue 23.6: a discussion on each change (its people told; Markdown sanitised) and the
files it carries — configured types and sizes, kept in the database, served only to those
who may see the change as a download with nosniff, each upload and removal an audit event
with the file's SHA-256, carried by a backup and its restore."""

from __future__ import annotations

import hashlib
import io
import json

import pytest
from sqlalchemy import select

from fitsflow.domain.errors import InvalidInput, NotFound, NotPermitted
from fitsflow.persistence.models import AuditEvent, OutboxMessage
from fitsflow.services import auth, discussion

from . import factories as f
from .web_support import WebSchool, csrf_token, login, make_app, post

PDF = b"%PDF-1.4\n% a supplier quote\n" + b"0" * 2048


def _events(rt, ref: str, kind: str) -> list[dict]:  # type: ignore[no-untyped-def]
    with rt.db.read() as session:
        rows = (
            session.execute(
                select(AuditEvent.payload).where(AuditEvent.change_ref == ref, AuditEvent.event_type == kind)
            )
            .scalars()
            .all()
        )
    return [json.loads(p) for p in rows]


def test_a_comment_tells_the_changes_people_and_is_paged(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "release_planning")  # decided at approval to proceed
    with pytest.raises(InvalidInput):
        discussion.add_comment(rt, actor_id=school.cab[0], ref=ref, body="  ")
    first = discussion.add_comment(rt, actor_id=school.cab[0], ref=ref, body="Is the **switch** in stock?")
    discussion.add_comment(rt, actor_id=school.requester, ref=ref, body="Yes: two spares")
    with rt.db.read() as session:
        told = session.execute(
            select(OutboxMessage.recipient_id, OutboxMessage.payload).where(
                OutboxMessage.change_ref == ref, OutboxMessage.event == "commented"
            )
        ).all()
    by_comment: dict[str, set[int]] = {}
    for uid, payload in told:
        by_comment.setdefault(json.loads(payload)["link"], set()).add(uid)
    assert school.requester in by_comment[f"/changes/{ref}#comment-{first.id}"]
    assert school.cab[0] not in by_comment[f"/changes/{ref}#comment-{first.id}"]  # not the author
    second_link = next(link for link in by_comment if link != f"/changes/{ref}#comment-{first.id}")
    assert school.cab[0] in by_comment[second_link] and school.requester not in by_comment[second_link]
    page = discussion.comments(rt, actor_id=school.auditor, ref=ref, limit=1)
    assert [c.body for c in page.items] == ["Is the **switch** in stock?"] and page.has_next
    with pytest.raises(NotFound):
        discussion.comments(rt, actor_id=school.staff, ref=ref)  # audiences do not see changes
    assert [e["comment"] for e in _events(rt, ref, "comment.added")] == [first.id, first.id + 1]


def test_files_are_checked_kept_and_removed_with_their_sha256(rt):
    school = f.School(rt)
    ref = f.change_in(rt, school, "minor", "financial_planning")
    for name, content, said in (
        ("quote.exe", PDF, "is not a kind of file"),
        ("quote.pdf", b"", "is empty"),
        ("", PDF, "choose a file"),
        ("big.pdf", b"0" * (rt.settings.attachments.max_kb * 1024 + 1), "the largest is"),
    ):
        with pytest.raises(InvalidInput) as bad:
            discussion.add_file(rt, actor_id=school.requester, ref=ref, name=name, content=content)
        assert said in bad.value.problems["file"]
    kept = discussion.add_file(
        rt, actor_id=school.cab[0], ref=ref, name="C:\\Users\\tia\\Quote <v2>.pdf", content=PDF
    )
    assert kept.name == "Quote _v2_.pdf" and kept.sha256 == hashlib.sha256(PDF).hexdigest()
    assert kept.content_type == "application/pdf"
    name, kind, content = discussion.download(rt, actor_id=school.auditor, ref=ref, file_id=kept.id)
    assert (name, kind, content) == ("Quote _v2_.pdf", "application/pdf", PDF)
    with pytest.raises(NotFound):
        discussion.download(rt, actor_id=school.staff, ref=ref, file_id=kept.id)
    other = f.change_in(rt, school, "minor", "financial_planning")
    with pytest.raises(NotFound):  # a file is reached only through its own change
        discussion.download(rt, actor_id=school.requester, ref=other, file_id=kept.id)
    with pytest.raises(NotPermitted):
        discussion.remove_file(rt, actor_id=school.finance, ref=ref, file_id=kept.id)
    discussion.remove_file(rt, actor_id=school.requester, ref=ref, file_id=kept.id)  # the change's owner
    with pytest.raises(NotFound):
        discussion.download(rt, actor_id=school.requester, ref=ref, file_id=kept.id)
    assert [a.removed for a in discussion.files(rt, actor_id=school.requester, ref=ref)] == [True]
    digest = hashlib.sha256(PDF).hexdigest()
    assert _events(rt, ref, "attachment.added") == [
        {"attachment": kept.id, "name": "Quote _v2_.pdf", "size": len(PDF), "sha256": digest}
    ]
    assert _events(rt, ref, "attachment.removed") == [
        {"attachment": kept.id, "name": "Quote _v2_.pdf", "sha256": digest}
    ]


def test_a_change_carries_no_more_files_than_the_setting(rt):
    import dataclasses

    few = dataclasses.replace(rt, settings=rt.settings.replace(attachments={"per_change": 2}))
    school = f.School(few)
    ref = f.change_in(few, school, "minor", "financial_planning")
    for i in range(2):
        discussion.add_file(few, actor_id=school.requester, ref=ref, name=f"photo{i}.jpg", content=b"jpeg")
    with pytest.raises(InvalidInput, match="carries 2 files already"):
        discussion.add_file(few, actor_id=school.requester, ref=ref, name="photo2.jpg", content=b"jpeg")


def test_the_page_uploads_and_serves_a_download_only(rt, tmp_path):
    school = WebSchool(rt)
    ref = f.change_in(rt, school, "minor", "financial_planning")
    app = make_app(rt, tmp_path)
    me = app.test_client()
    assert login(me, school.emails[school.requester]).status_code == 302
    token = csrf_token(me, f"/changes/{ref}")
    r = me.post(
        f"/changes/{ref}/attachments",
        data={"csrf_token": token, "file": (io.BytesIO(b"MZ"), "x.exe")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 400 and "is not a kind of file" in r.get_data(as_text=True)
    r = me.post(
        f"/changes/{ref}/attachments",
        data={"csrf_token": token, "file": (io.BytesIO(b"<html><script>alert(1)</script>"), "notes.txt")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 302
    page = me.get(f"/changes/{ref}").get_data(as_text=True)
    assert "notes.txt" in page
    file_id = discussion.files(rt, actor_id=school.requester, ref=ref)[0].id
    got = me.get(f"/changes/{ref}/attachments/{file_id}")
    assert got.status_code == 200 and got.data.startswith(b"<html>")
    assert got.headers["Content-Disposition"].startswith("attachment;")
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in got.headers["Content-Security-Policy"]
    teacher = app.test_client()
    assert login(teacher, school.emails[school.staff]).status_code == 302
    assert teacher.get(f"/changes/{ref}/attachments/{file_id}").status_code == 404
    r = post(
        me,
        f"/changes/{ref}/comments",
        {"body": "See the <script>x</script> **quote**"},
        page=f"/changes/{ref}",
    )
    assert r.status_code == 302
    page = me.get(f"/changes/{ref}").get_data(as_text=True)
    assert "<strong>quote</strong>" in page and "<script>x</script>" not in page
    assert me.get(f"/changes/{ref}/comments").status_code == 200
    api_token = auth.create_token(rt, user_id=school.requester, name="t")
    headers = {"Authorization": f"Bearer {api_token}"}
    listed = me.get(f"/api/v1/changes/{ref}/attachments", headers=headers).get_json()
    assert [a["name"] for a in listed["items"]] == ["notes.txt"]
    made = me.post(f"/api/v1/changes/{ref}/comments", json={"body": "From the API"}, headers=headers)
    assert made.status_code == 201
    assert me.get(f"/api/v1/changes/{ref}/comments", headers=headers).get_json()["total"] == 2
    assert me.delete(f"/api/v1/changes/{ref}/attachments/{file_id}", headers=headers).status_code == 200
    assert me.get(f"/changes/{ref}/attachments/{file_id}").status_code == 404
    staff_token = auth.create_token(rt, user_id=school.staff, name="s")
    assert me.get(
        f"/api/v1/changes/{ref}/attachments", headers={"Authorization": f"Bearer {staff_token}"}
    ).status_code in (403, 404)


def test_a_backup_and_its_restore_carry_the_files(tmp_path):
    from fitsflow.services import backups

    from .test_backup import _migrated

    rt = _migrated(tmp_path / "school.db")
    try:
        school = f.School(rt)
        ref = f.change_in(rt, school, "minor", "financial_planning")
        kept = discussion.add_file(rt, actor_id=school.requester, ref=ref, name="dpia.pdf", content=PDF)
        made = backups.backup(rt, target=tmp_path / "copy.db")
        discussion.remove_file(rt, actor_id=school.requester, ref=ref, file_id=kept.id)
        backups.restore(rt, source=made.path, force=True)
        assert discussion.download(rt, actor_id=school.requester, ref=ref, file_id=kept.id)[2] == PDF
    finally:
        rt.db.dispose()
