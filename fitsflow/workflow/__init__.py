"""Workflow definitions: loaded from TOML, validated, one shared state machine each."""

from .definition import Gate, State, Transition, WorkflowDefinition
from .loader import load_definition, load_directory, shipped_directory
from .registry import Workflow, WorkflowRegistry

__all__ = [
    "Gate",
    "State",
    "Transition",
    "Workflow",
    "WorkflowDefinition",
    "WorkflowRegistry",
    "load_definition",
    "load_directory",
    "shipped_directory",
]
