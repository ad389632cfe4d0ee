"""Loading a YAML file into a pydantic model, reporting every problem at once with its line."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from mdm.errors import MdmError

M = TypeVar("M", bound=BaseModel)


class ConfigError(MdmError, ValueError):
    """One or more problems in a configuration file, each with file, line and a fix."""

    def __init__(self, path: Path | str, problems: Sequence[str]):
        self.path = Path(path)
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{self.path}: {len(self.problems)} problem(s):\n{lines}")


def _line_index(node: yaml.Node, loc: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], int]:
    """Map every key path in a composed YAML document to its 1-based line."""
    index = {loc: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*loc, key.value)
            index[child] = key.start_mark.line + 1
            for sub, line in _line_index(value, child).items():
                index.setdefault(sub, line)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            index.update(_line_index(item, (*loc, i)))
    return index


def read_yaml(path: Path) -> tuple[Any, dict[tuple[Any, ...], int]]:
    """Parse a YAML file; return its data and a key-path -> line index."""
    try:
        size = path.stat().st_size
        if size > MAX_YAML_BYTES:
            raise ConfigError(path, [f"{size} bytes; a configuration file holds at most {MAX_YAML_BYTES}"])
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, ["file not found"]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(path, [f"not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8"]) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        nodes = _expanded_nodes(node, {}) if node is not None else 0
        if nodes > MAX_YAML_NODES:
            raise ConfigError(
                path, [f"expands to {nodes} values through anchors and aliases (at most {MAX_YAML_NODES})"]
            )
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(path, [f"not valid YAML: {exc}"]) from None
    return data, (_line_index(node) if node is not None else {})


MAX_YAML_BYTES = 1 << 20
MAX_YAML_NODES = 100_000
"""A YAML alias bomb (anchors aliased within anchors) is a few lines that expand to billions of
values: the expanded size is counted on the node graph, each node once, before anything is built."""


def _expanded_nodes(node: yaml.Node, sizes: dict[int, int]) -> int:
    """How many values the node stands for once every alias is expanded (memoised per node)."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    sizes[id(node)] = 1  # a node that contains itself counts once
    total = 1
    if isinstance(node, yaml.SequenceNode):
        total += sum(_expanded_nodes(child, sizes) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        total += sum(_expanded_nodes(k, sizes) + _expanded_nodes(v, sizes) for k, v in node.value)
    sizes[id(node)] = total = min(total, MAX_YAML_NODES + 1)
    return total


def line_of(lines: dict[tuple[Any, ...], int], loc: tuple[Any, ...]) -> int | None:
    """The line of the deepest known prefix of loc."""
    for cut in range(len(loc), -1, -1):
        if loc[:cut] in lines:
            return lines[loc[:cut]]
    return None


def format_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def parse_model(model: type[M], path: Path, hints: dict[str, str] | None = None) -> M:
    """Load path into model; on failure raise ConfigError listing every problem.

    `hints` maps a field name to a literal example of the right spelling, shown as the fix.
    """
    data, lines = read_yaml(path)
    try:
        return model.model_validate(data if data is not None else {}, context={"lines": lines})
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
            line = line_of(lines, loc)
            where = f"line {line}: " if line else ""
            msg = err["msg"].removeprefix("Value error, ")
            fix = (hints or {}).get(str(loc[-1]) if loc else "")
            problems.append(f"{where}{format_loc(loc)}: {msg}" + (f" (fix: {fix})" if fix else ""))
        raise ConfigError(path, problems) from None
