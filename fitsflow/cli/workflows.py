"""``fitsflow workflow``: list, check and diagram workflow definitions."""

from __future__ import annotations

from pathlib import Path

import click

from ..bootstrap import workflow_folders
from ..domain.errors import WorkflowError
from ..workflow import load_definition, load_directory
from ..workflow.diagram import mermaid
from ..workflow.loader import check_set
from .base import State, fail, pass_state


@click.group()
def workflow() -> None:
    """Workflow definitions (TOML files)."""


@workflow.command("check")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--database", "against_database", is_flag=True,
              help="Also check the files against the changes in the database, as start-up does "
                   "(a state that live changes are in must still be there).")
@pass_state
def check(state: State, files: tuple[Path, ...], against_database: bool) -> None:
    """Validate workflow files (default: the configured workflow folder)."""
    problems: list[str] = []
    definitions = []
    paths = list(files)
    if not paths:
        for folder in workflow_folders(state.settings):
            found = sorted(folder.glob("*.toml"))
            if not found:
                problems.append(f"{folder}: no workflow files (*.toml) found")
            paths.extend(found)
    for path in paths:
        try:
            definition = load_definition(path, state.settings.role_book())
        except WorkflowError as err:
            problems.extend(err.problems)
            continue
        definitions.append(definition)
        click.echo(f"ok: {path} ({definition.name}: {len(definition.states)} states, "
                   f"{len(definition.transitions)} transitions, {len(definition.gates)} gates)")
    problems.extend(check_set(definitions))
    if against_database and not problems:
        from ..services import workflow_versions

        problems.extend(workflow_versions.problems_with(state.runtime, definitions))
        if not problems:
            click.echo(f"ok: the changes in {state.runtime.db.display_url} can run on these files")
    if problems:
        for problem in problems:
            click.secho(f"error: {problem}", fg="red", err=True)
        raise SystemExit(1)


@workflow.command("list")
@pass_state
def list_(state: State) -> None:
    """List the loaded workflows and the categories each serves."""
    for wf in state.runtime.workflows:
        d = wf.definition
        click.echo(f"{d.name:<20} {', '.join(d.categories):<28} {d.title}  ({d.source})")


@workflow.command("diagram")
@click.argument("name")
@click.option("--current", help="Highlight this state.")
@pass_state
def diagram(state: State, name: str, current: str | None) -> None:
    """Print a workflow as a Mermaid state diagram."""
    definitions = {d.name: d for d in load_directory(*workflow_folders(state.settings),
                                                     roles=state.settings.role_book())}
    if name not in definitions:
        fail(f"no workflow named '{name}' (known: {', '.join(sorted(definitions))})")
    if current and current not in definitions[name].states:
        fail(f"workflow '{name}' has no state '{current}'")
    click.echo(mermaid(definitions[name], current), nl=False)


@workflow.command("versions")
@pass_state
def versions(state: State) -> None:
    """List the versions changes run on: the current one of each workflow and any earlier
    one live changes are still finishing on."""
    from ..services import workflow_versions

    rt = state.runtime
    for row in workflow_versions.versions_in_use(rt):
        mark = "current" if row.current else "earlier"
        click.echo(f"{row.workflow:<20} {row.version}  {mark:<8} {row.live:>6} live  {row.total:>7} in all"
                   f"  ({row.source})")


@workflow.command("migrate")
@click.argument("old")
@click.argument("new")
@click.option("--map", "maps", multiple=True, metavar="OLD_STATE=NEW_STATE",
              help="Where changes in a state NEW does not have go (repeat for each such state).")
@click.option("--dry-run", is_flag=True, help="Say what would move, change nothing.")
@pass_state
def migrate(state: State, old: str, new: str, maps: tuple[str, ...], dry_run: bool) -> None:
    """Move the live changes on workflow version OLD to version NEW (a hash, its first
    characters, or a workflow's name for its current version). Each move is audited."""
    from ..services import workflow_versions

    rt = state.runtime
    result = workflow_versions.migrate(rt, old=old, new=new, mapping=workflow_versions.parse_map(maps),
                                       dry_run=dry_run)
    moves: dict[tuple[str, str], int] = {}
    for m in result.moved:
        moves[(m.from_state, m.to_state)] = moves.get((m.from_state, m.to_state), 0) + 1
    verb = "would move" if dry_run else "moved"
    click.echo(f"{result.workflow}: {verb} {len(result.moved)} live change(s) from version {result.old} "
               f"to {result.new}")
    for (before, after), count in sorted(moves.items()):
        click.echo(f"  {count:>6}  {before} → {after}" if before != after else f"  {count:>6}  {before}")
