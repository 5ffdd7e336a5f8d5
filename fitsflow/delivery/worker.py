"""The delivery worker: claims due outbox rows, delivers each through its channel, and
records the outcome — delivered, retry later with exponential backoff, or parked."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from .. import process, security_log
from ..domain.links import LINK_EVENTS
from ..domain.vocabulary import REVIEW_PENDING_KINDS
from ..persistence import inbox_store, outbox_store
from ..persistence.outbox_store import Claimed
from ..services.runtime import Runtime
from .channels import DeliveryError, EmailChannel, Permanent, Temporary, WebhookChannel

log = logging.getLogger("fitsflow.delivery")


class Worker:
    def __init__(self, rt: Runtime, *, email: EmailChannel | None, webhook: WebhookChannel | None,
                 clock: Callable[[], datetime] | None = None):
        self.rt = rt
        self.email = email
        self.webhook = webhook
        self.clock = clock or rt.now  # leases and retries run on business time too
        d = rt.settings.delivery
        self.batch = d.batch_size
        self.lease = timedelta(seconds=d.lease_seconds)
        self.max_attempts = d.max_attempts
        self.backoff = d.backoff_seconds
        self.backoff_max = d.backoff_max_seconds
        self.poll = float(d.poll_seconds)
        # The slot is held by a heartbeat much shorter than a row's lease: a holder that
        # stops beating (killed, its machine gone) frees it within seconds, not a lease.
        self.heartbeat = min(self.lease, timedelta(seconds=max(10.0, 3 * self.poll)))
        self._beat: datetime | None = None
        self._reminded: datetime | None = None  # reminders are looked for once a minute at most
        self.slots = d.workers
        # The process, not the object, holds the slot: a forked server worker is another
        # holder (its pid), a second Worker in the same process the same one.
        self.holder = process.identity()
        # In a server worker (start_in_background), the whole chain is walked in a child
        # process: the walk would hold the interpreter lock the requests need.
        self.chain_apart = False

    @classmethod
    def from_runtime(cls, rt: Runtime) -> Worker:
        """Channels as configured: email when [smtp] is enabled, the webhook when it has a URL."""
        base_url = rt.settings.delivery.base_url
        smtp = rt.settings.smtp
        hook = rt.settings.webhook
        return cls(rt, email=EmailChannel(smtp, base_url) if smtp.enabled else None,
                   webhook=WebhookChannel(hook.url, float(hook.timeout_seconds), base_url, hook.secret)
                   if hook.url else None)

    def _deliver(self, row: Claimed) -> None:
        if row.event in LINK_EVENTS and self.email is None:
            raise Permanent("email is off: a one-time link (an invitation, a password reset) goes by email "
                            "only; turn [smtp] on, then retry it here")
        if row.channel == "webhook":
            if self.webhook is None:
                raise Permanent("no webhook is configured")
            self.webhook.send(row)
            return
        if self.email is not None:
            self.email.send(row)  # already in the person's in-app inbox (_deliver_batch)

    def _to_inbox(self, row: Claimed, session: Session) -> None:
        if row.recipient_id is None or row.event in LINK_EVENTS:
            return  # a one-time link is never kept in an inbox (the person cannot sign in yet)
        inbox_store.deliver(session, outbox_id=row.id, user_id=row.recipient_id, event=row.event,
                            change_ref=row.change_ref, subject=row.subject, body=row.body,
                            payload=row.payload, now=self.clock())

    def backoff_for(self, attempts: int) -> timedelta:
        return timedelta(seconds=min(self.backoff * 2 ** max(attempts - 1, 0), self.backoff_max))

    def run_once(self) -> int:
        """If this process holds a delivery slot: publish the release notices now due, send
        reminders, then claim one batch of the outbox and deliver it; return how many
        notices and rows were handled (0 when another process holds every slot)."""
        from ..services import feedback, recurrences, reminders, renewals, usage
        from ..services.notices import publish_due

        if not self._hold_slot():
            return 0
        published = publish_due(self.rt, now=self.clock())
        now = self.clock()
        if self._reminded is None or now - self._reminded >= timedelta(minutes=1):
            published += reminders.run_due(self.rt, now=now)
            published += feedback.remind_due(self.rt, now=now)
            published += usage.remind_due(self.rt, now=now)
            published += recurrences.raise_due(self.rt, now=now)  # routine work's next occurrences
            published += renewals.raise_renewals(self.rt, now=now)  # warranties, licences, refreshes due
            self._check_chain(now)
            self._reminded = now
        with self.rt.db.transaction() as session:
            claimed = outbox_store.claim(session, now=self.clock(), lease=self.lease, limit=self.batch)
        try:
            self._deliver_batch(claimed)
        finally:
            if self.email is not None:
                self.email.close()
        return published + len(claimed)

    def _hold_slot(self) -> bool:
        """Take or renew a delivery slot (``delivery.workers`` of them): however many server
        processes run, only that many deliver. A holder that stopped is replaced at once
        when it was a process on this machine, else once its heartbeat is missed."""
        now = self.clock()
        with self.rt.db.transaction() as session:
            for holder in outbox_store.slot_holders(session):
                if holder != self.holder and not process.alive(holder):
                    outbox_store.release_slot(session, holder=holder)
                    log.info("delivery slot of %s freed: that process is gone", holder)
            slot = outbox_store.take_slot(session, holder=self.holder, slots=self.slots, now=now,
                                          until=now + self.heartbeat)
        self._beat = now
        return slot is not None

    def _keep_beating(self) -> None:
        """During a long batch: renew the slot before its heartbeat runs out."""
        if self._beat is None or self.clock() - self._beat >= self.heartbeat / 3:
            self._hold_slot()

    def release(self) -> None:
        """Give the slot up (on a clean stop) so another process may take it at once."""
        with self.rt.db.transaction() as session:
            outbox_store.release_slot(session, holder=self.holder)

    def _deliver_batch(self, claimed: list[Claimed]) -> None:
        """Deliver a claimed batch. A person's notices go into their in-app inbox first (one
        transaction); outcomes are committed together — at the end, and whenever half the
        lease has gone, when the rest of the batch's leases are renewed — so a slow mail
        server never lets another worker take rows still being sent."""
        if self.email is not None:
            people = [row for row in claimed if row.channel == "person" and row.recipient_id is not None]
            if people:
                with self.rt.db.transaction() as session:
                    for row in people:
                        self._to_inbox(row, session)
        outcomes: list[tuple[Claimed, DeliveryError | None]] = []
        since = self.clock()
        try:
            for index, row in enumerate(claimed):
                # A review reminder for a change already reviewed is cancelled, not sent.
                if row.event != "review_due" or self._review_still_due(row):
                    outcomes.append((row, self._handle(row)))
                if self.clock() - since >= self.lease / 2:
                    self._commit(outcomes, renew=[r.id for r in claimed[index + 1:]])
                    outcomes, since = [], self.clock()
                self._keep_beating()
        finally:
            self._commit(outcomes)

    def _commit(self, outcomes: list[tuple[Claimed, DeliveryError | None]],
                renew: list[int] | None = None) -> None:
        if not outcomes and not renew:
            return
        now = self.clock()
        with self.rt.db.transaction() as session:
            for row, error in outcomes:
                if error is None:
                    if row.channel == "person" and self.email is None:
                        self._to_inbox(row, session)  # with email off, the inbox is the delivery
                    outbox_store.delivered(session, row.id, now=now)
                    if row.event in LINK_EVENTS:  # sent: the link is not kept where a backup copies it
                        outbox_store.forget_text(session, row.id, body="(a one-time link, sent by email)")
                else:
                    self._failed(session, row, error)
            outbox_store.renew(session, renew or [], until=now + self.lease)

    def _check_chain(self, now: datetime) -> None:
        """Walk the whole audit chain when the last full walk is older than the setting: the
        audit page checks only what came after its checkpoint, so an edit before it is found
        here (and logged for the administrators' monitoring)."""
        from ..services import audit

        if not audit.full_check_due(self.rt, now=now,
                                    every=timedelta(hours=self.rt.settings.audit.full_check_hours)):
            return
        result = audit.verify(self.rt, apart=self.chain_apart)
        security_log.event("audit.full_check", ok=result.ok, events=result.count,
                           detail=result.describe())

    def _handle(self, row: Claimed) -> DeliveryError | None:
        """Send one row: None when it went (or, email being off, goes to the inbox at
        commit), the error when it did not."""
        if row.channel == "person" and self.email is None and row.event not in LINK_EVENTS:
            return None
        try:
            self._deliver(row)
        except DeliveryError as err:
            return err
        except Exception as err:  # noqa: BLE001 — an unexpected fault is retried, never lost
            log.exception("delivery of outbox row %s failed unexpectedly", row.id)
            return Temporary(f"{type(err).__name__}: {err}")
        return None

    def _review_still_due(self, row: Claimed) -> bool:
        with self.rt.db.transaction() as session:
            found = outbox_store.change_state(session, row.change_ref)
            if found is None:
                outbox_store.cancel(session, row.id, reason="not needed: the change no longer exists")
                return False
            workflow, version, state = found
            definition = self.rt.workflows.of(workflow, version).definition
            if definition.kind_of(state) in REVIEW_PENDING_KINDS:
                return True
            title = definition.state_title(state)
            outbox_store.cancel(session, row.id, reason=f"not needed: the change is now at “{title}”")
            return False

    def _failed(self, session: Session, row: Claimed, err: DeliveryError) -> None:
        if not err.temporary:
            outbox_store.park(session, row.id, error=f"permanent failure: {err}")
            log.warning("outbox row %s parked: %s", row.id, err)
        elif row.attempts >= self.max_attempts:
            outbox_store.park(session, row.id, error=f"gave up after {row.attempts} attempts: {err}")
            log.warning("outbox row %s parked after %s attempts: %s", row.id, row.attempts, err)
        else:
            at = self.clock() + self.backoff_for(row.attempts)
            outbox_store.retry_later(session, row.id, at=at, error=str(err))

    def run(self, stop: threading.Event) -> None:
        """Deliver until ``stop`` is set, resting ``poll_seconds`` when there is nothing to do."""
        while not stop.is_set():
            try:
                busy = self.run_once()
            except Exception:  # noqa: BLE001 — the database may be briefly unavailable
                log.exception("delivery worker cycle failed; trying again shortly")
                busy = 0
            if not busy:
                stop.wait(self.poll)
        try:
            self.release()
        except Exception:  # noqa: BLE001 — the slot frees itself after a missed heartbeat anyway
            log.warning("could not release the delivery slot; it frees after %s", self.heartbeat)


@dataclass
class Background:
    """The delivery thread of a server process, to stop with the process."""

    worker: Worker
    thread: threading.Thread
    stop: threading.Event

    def close(self, timeout: float = 5.0) -> None:
        """Stop delivering and give the slot up, so another process takes it at once (on a
        reload, a graceful stop, or the worker process exiting for any other reason)."""
        self.stop.set()
        self.thread.join(timeout)
        if not self.thread.is_alive():
            return  # it gave the slot up as it stopped
        try:  # still in a batch (its rows stay leased): the slot goes now all the same
            self.worker.release()
        except Exception:  # noqa: BLE001 — the slot frees itself after a missed heartbeat anyway
            log.warning("could not release the delivery slot; it frees after %s", self.worker.heartbeat)


def start_in_background(rt: Runtime) -> Background:
    """A daemon thread running a worker (used by ``fitsflow serve``)."""
    stop = threading.Event()
    worker = Worker.from_runtime(rt)
    worker.chain_apart = True
    thread = threading.Thread(target=worker.run, args=(stop,), name="fitsflow-delivery", daemon=True)
    thread.start()
    return Background(worker, thread, stop)


__all__ = ["Background", "Worker", "start_in_background"]
