"""Values are built by keyword, except on the per-message path, where ``positional.by_position`` checks each
class's fields when the module loads (issue 14: a field added mid-list must not go to the wrong slot)."""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
from pathlib import Path

import attrs
import pytest

import threading_engine
from threading_engine.positional import by_position

PACKAGE = Path(threading_engine.__file__).parent
# The stores and the HubSpot documents are being reworked on their own; they join this check afterwards.
# Test helpers are left out: a value built wrong there fails the tests that use it.
NOT_YET = ("hubspot", "testing")


@attrs.frozen
class Sent:
    thread_id: str
    rule: str
    message_id: str | None = None


@attrs.frozen
class SentWithAFieldAddedMidList:
    thread_id: str
    channel_id: str
    rule: str
    message_id: str | None = None


def test_by_position_gives_back_the_class_whose_fields_it_names() -> None:
    assert by_position(Sent, "thread_id", "rule", "message_id") is Sent
    assert by_position(Sent, "thread_id", "rule") is Sent  # the rest have defaults


def test_a_field_added_mid_list_fails_at_import_instead_of_taking_the_next_argument() -> None:
    """Without the check, ``Sent("thread-1", "R4")`` on the grown class would put the rule in ``channel_id``."""
    with pytest.raises(TypeError, match=r"built by position as \(thread_id, rule\).*\(thread_id, channel_id, rule"):
        by_position(SentWithAFieldAddedMidList, "thread_id", "rule")


def test_fields_named_in_another_order_are_refused() -> None:
    with pytest.raises(TypeError, match="built by position as"):
        by_position(Sent, "rule", "thread_id")


def test_a_required_field_left_out_is_refused() -> None:
    with pytest.raises(TypeError, match="without rule, which it requires"):
        by_position(Sent, "thread_id")


def _library_modules() -> list[tuple[Path, str]]:
    modules = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[0] in NOT_YET or parts == ("__main__",):  # importing __main__ would confuse ``python -m``
            continue
        name = ".".join(("threading_engine", *parts)).removesuffix(".__init__")
        modules.append((path, name))
    return modules


@functools.cache
def _tree(module: str) -> ast.Module:
    return ast.parse(Path(importlib.import_module(module).__file__ or "").read_text(encoding="utf-8"))


def _bound_by_position(module: str) -> set[str]:
    """The module-level names ``module`` binds to ``by_position(...)``."""
    names: set[str] = set()
    for node in _tree(module).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            func = node.value.func
            if isinstance(func, ast.Name) and func.id == "by_position":
                names.update(target.id for target in node.targets if isinstance(target, ast.Name))
    return names


def _checked_names(module: str) -> set[str]:
    """The constructors ``module`` may call by position: the names it binds to ``by_position(...)``, and those
    it imports from the module that binds them."""
    names = _bound_by_position(module)
    package = importlib.import_module(module).__package__ or ""
    for node in _tree(module).body:
        if isinstance(node, ast.ImportFrom) and node.level:
            source = importlib.util.resolve_name("." * node.level + (node.module or ""), package)
            there = _bound_by_position(source)
            names.update(alias.asname or alias.name for alias in node.names if alias.name in there)
    return names


def test_the_library_builds_values_with_two_or_more_positional_arguments_only_through_by_position() -> None:
    """A value of an attrs class called with several arguments by position is an argument away from the wrong
    slot: the library does that only through a name :func:`by_position` checked."""
    unchecked = []
    for path, name in _library_modules():
        module = importlib.import_module(name)
        tree = _tree(name)
        checked = _checked_names(name)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            target = vars(module).get(node.func.id)
            if not (isinstance(target, type) and attrs.has(target)) or node.func.id in checked:
                continue
            if len(node.args) >= 2 or any(isinstance(argument, ast.Starred) for argument in node.args):
                unchecked.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.func.id}")
    assert unchecked == []
