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
@pass_state
def check(state: State, files: tuple[Path, ...]) -> None:
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
