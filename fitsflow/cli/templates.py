"""``fitsflow template``: standard-change templates and their own small workflow."""

from __future__ import annotations

import click

from ..domain.errors import NotFound
from ..domain.templates import STATES, parse_ref
from ..services import templates
from .base import State, actor_id, as_option, echo, pass_state


@click.group("template")
def template_group() -> None:
    """Standard-change templates: propose, approve or return, revise, retire."""


def _id(ref: str) -> int:
    found = parse_ref(ref)
    if found is None:
        raise NotFound(f"no template {ref[:40]} (give its reference, e.g. STD-0003)")
    return found


@template_group.command("list")
@as_option
@click.option("--state", "state_name", type=click.Choice(STATES), default=None)
@click.option("--search", "q", default="", help="Words in the title or description.")
@pass_state
def list_(state: State, as_email: str, state_name: str | None, q: str) -> None:
    """Templates by title, with their state, limits and uses."""
    rt = state.runtime
    who = actor_id(rt, as_email)
    offset = 0
    while True:
        page = templates.browse(rt, actor_id=who, state=state_name or "", q=q, limit=500, offset=offset)
        for t in page.items:
            echo(
                f"{t.ref}  {t.state:<9} up to {rt.money(t.max_cost):>12}  uses {t.uses:<5} {t.title}"
                f"  [{', '.join(t.services)}]"
            )
        offset += len(page.items)
        if not page.items or offset >= page.total:
            break
    echo(f"({offset} templates)")


@template_group.command("propose")
@as_option
@click.option("--title", required=True)
@click.option("--description", default="")
@click.option(
    "--service", "services_", multiple=True, required=True, help="A service a use may touch; repeat."
)
@click.option("--max-cost", required=True, help="The most one use may cost.")
@click.option("--steps", required=True)
@click.option("--backout-plan", required=True)
@click.option("--used-by", multiple=True, help="A role that may use it; repeat (default: requester).")
@click.option("--screening", "screening", multiple=True, metavar="QUESTION=ANSWER",
              help="A screening answer, e.g. personal_data=none or safeguarding=no; repeat.")
@pass_state
def propose(
    state: State,
    as_email: str,
    title: str,
    description: str,
    services_: tuple[str, ...],
    max_cost: str,
    steps: str,
    backout_plan: str,
    used_by: tuple[str, ...],
    screening: tuple[str, ...],
) -> None:
    """Propose a template; the template approvers are asked to decide (and the DPO or the DSL
    where its screening answers call for them)."""
    rt = state.runtime
    view = templates.propose(
        rt,
        actor_id=actor_id(rt, as_email),
        data={
            "title": title,
            "description": description,
            "services": list(services_),
            "max_cost": max_cost,
            "steps": steps,
            "backout_plan": backout_plan,
            "used_by": list(used_by) or ["requester"],
            "screening": dict(item.partition("=")[::2] for item in screening),
        },
    )
    echo(f"{view.ref} proposed: {view.title}")


@template_group.command("decide")
@as_option
@click.argument("ref")
@click.argument("action", type=click.Choice(["approve", "reject", "retire"]))
@click.option("--reason", default="", help="Required to reject or retire.")
@pass_state
def decide(state: State, as_email: str, ref: str, action: str, reason: str) -> None:
    """Approve or reject a proposed template, or retire an active one."""
    rt = state.runtime
    view = templates.act(
        rt, actor_id=actor_id(rt, as_email), template_id=_id(ref), action=action, reason=reason
    )
    echo(f"{view.ref} is now {view.state_title.lower()}")
