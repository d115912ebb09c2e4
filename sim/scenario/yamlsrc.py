"""Safe YAML reading that remembers where every key came from.

The document is composed into nodes with PyYAML's safe loader, then walked
here to build plain Python data and a map ``key path -> (line, col)``
(1-based). The walk also rejects what the safe loader would accept silently
or crash on: duplicate keys, non-string keys, alias expansion bombs, and
tags outside the YAML core schema.
"""

from __future__ import annotations

import os
import re
import stat
import unicodedata
from pathlib import Path
from typing import Any

import yaml

from sim.errors import Problem, ScenarioError, show_value

Key = tuple[str | int, ...]
EXPONENT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$")
MAX_NODES = 100_000  # nodes that aliases add by repeating others: beyond this is refused (billion-laughs guard)
MAX_BYTES = 5_000_000
CORE_TAGS = {
    "tag:yaml.org,2002:" + t
    for t in ("str", "int", "float", "bool", "null", "map", "seq")
}


class Located:
    """Plain data of one YAML file plus the position of every key path."""

    def __init__(self, file: str, data: Any, positions: dict[Key, tuple[int, int]], text: str = ""):
        self.file = file
        self.data = data
        self.positions = positions
        self.text = text

    def where(self, path: Key) -> tuple[int, int]:
        """Position of ``path``, or of its nearest ancestor that has one."""
        path = tuple(path)
        while path and path not in self.positions:
            path = path[:-1]
        return self.positions.get(path, (1, 1))


def read_yaml(path: str | Path) -> Located:
    """Read ``path`` as YAML; raise ScenarioError with file:line:col on any problem."""
    return parse_yaml(read_bounded(path, MAX_BYTES, "a scenario"), str(path))


KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
         (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def read_bounded(path: str | Path, limit: int, what: str) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; special files are refused before they are opened.

    Raises ScenarioError naming the file.
    """
    name = str(path)

    def fail(message: str) -> ScenarioError:
        return ScenarioError([Problem(name, 1, 1, "", message)])

    try:
        _check_regular(os.stat(path).st_mode, fail)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)  # a FIFO swapped in meanwhile never blocks
    except OSError as exc:
        raise fail(f"cannot read file: {exc.strerror}") from None
    try:
        _check_regular(os.fstat(fd).st_mode, fail)
        chunks, size = [], 0
        while size <= limit and (chunk := os.read(fd, min(1 << 20, limit + 1 - size))):
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise fail(f"cannot read file: {exc.strerror}") from None
    finally:
        os.close(fd)
    if size > limit:
        raise fail(f"file too large for {what} (more than {limit:,} bytes)")
    return b"".join(chunks)


def _check_regular(mode: int, fail: Any) -> None:
    for test, kind in KINDS:
        if test(mode):
            raise fail(f"is {kind}, not a regular file")
    if not stat.S_ISREG(mode):
        raise fail("not a regular file")


def parse_yaml(raw: bytes | str, name: str) -> Located:
    """Parse YAML text (bytes or str) named ``name`` into a Located document."""
    text = _decode(raw, name)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        raise ScenarioError([_syntax_problem(name, exc)]) from None
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        col = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise ScenarioError([Problem(name, line, col, "", f"malformed YAML: control character {exc.character if isinstance(exc.character, str) else chr(exc.character)!r} is not allowed in YAML text")]) from None
    except RecursionError:
        raise ScenarioError([Problem(name, 1, 1, "", "malformed YAML: nesting too deep")]) from None
    except yaml.YAMLError as exc:
        raise ScenarioError([Problem(name, 1, 1, "", f"malformed YAML: {str(exc).splitlines()[0]}")]) from None
    if node is None:
        raise ScenarioError([Problem(name, 1, 1, "", "empty file: expected a scenario mapping")])
    walker = _Walker(name)
    try:
        data = walker.build(node, ())
    except RecursionError:
        raise ScenarioError([Problem(name, 1, 1, "", "malformed YAML: nesting too deep")]) from None
    if walker.problems:
        raise ScenarioError(walker.problems)
    if not isinstance(data, dict):
        line, col = node.start_mark.line + 1, node.start_mark.column + 1
        kind = type(data).__name__
        raise ScenarioError([Problem(name, line, col, "", f"expected a mapping of scenario keys at the top level (got a {kind}: {show_value(data)})")])
    return Located(name, data, walker.positions, text)


def _syntax_problem(name: str, exc: yaml.MarkedYAMLError) -> Problem:
    """One line for a YAML syntax error, at the construct that was left open when there is one."""
    problem = str(exc.problem or "")
    mark = exc.problem_mark
    msg = f"malformed YAML: {problem or exc.context}"
    if exc.context and exc.context_mark is not None and "scanning" in exc.context:
        mark = exc.context_mark  # e.g. an unclosed quote: point at where it opened
        msg = f"malformed YAML: {problem} ({exc.context} that starts here)"
    if "\t" in problem or "'\\t'" in problem:
        msg += " (tabs cannot indent YAML; use spaces)"
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    return Problem(name, line, col, "", msg)


def _decode(raw: bytes | str, name: str) -> str:
    if isinstance(raw, str):
        return raw
    if len(raw) > MAX_BYTES:
        raise ScenarioError([Problem(name, 1, 1, "", f"file too large for a scenario ({len(raw)} bytes, limit {MAX_BYTES})")])
    if b"\x00" in raw:
        raise ScenarioError([Problem(name, 1, 1, "", "binary file: expected YAML text (found NUL bytes)")])
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ScenarioError([Problem(name, line, 1, "", f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})")]) from None


class _Walker:
    def __init__(self, name: str):
        self.name = name
        self.nodes = 0  # nodes visited again through an alias (a node written once counts once, however large)
        self.seen: set[int] = set()
        self.problems: list[Problem] = []
        self.positions: dict[Key, tuple[int, int]] = {}
        self.constructor = yaml.SafeLoader("")
        self.merged: dict[int, int] = {}
        self.stack: set[int] = set()

    def fail(self, node: yaml.Node, path: Key, message: str) -> None:
        self.problems.append(Problem(self.name, node.start_mark.line + 1, node.start_mark.column + 1, dotted(path), message))

    def build(self, node: yaml.Node, path: Key) -> Any:
        if id(node) in self.stack:
            self.fail(node, path, "recursive alias: a node contains itself")
            return None
        self.stack.add(id(node))
        try:
            return self._build(node, path)
        finally:
            self.stack.discard(id(node))

    def _construct(self, node: yaml.Node, path: Key) -> Any:
        try:
            return self.constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, KeyError, TypeError, OverflowError) as exc:
            self.fail(node, path, f"bad value for {node.tag.rsplit(':', 1)[-1]}: {str(exc).splitlines()[0][:80]} (got {show_value(node.value)})")
            return None

    def _build(self, node: yaml.Node, path: Key) -> Any:
        if id(node) in self.seen:
            self.nodes += 1
            if self.nodes > MAX_NODES:
                if self.nodes == MAX_NODES + 1:
                    self.fail(node, path, f"aliases expand the document by more than {MAX_NODES} nodes (alias bomb?)")
                return None
        else:
            self.seen.add(id(node))
        self.positions.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if node.tag not in CORE_TAGS:
            self.fail(node, path, f"tag {node.tag} is not allowed in a scenario (only plain YAML values)")
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(child, (*path, i)) for i, child in enumerate(node.value)]
        if node.tag == "tag:yaml.org,2002:str" and node.style is None and EXPONENT.match(node.value):
            return float(node.value)  # YAML 1.1 reads 1e3 as text; a scenario means the number
        if node.tag == "tag:yaml.org,2002:bool" and node.value.lower() not in ("true", "false"):
            self.fail(node, path, f"write true or false (got {node.value}: YAML 1.1 reads it as a switch)")
            return None
        value = self._construct(node, path)
        if isinstance(value, str) and (bad := _control(value)):
            self.fail(node, path, f"control character U+{ord(bad):04X} is not allowed in text (got {show_value(value)})")
            return None
        return value

    def _mapping(self, node: yaml.MappingNode, path: Key) -> dict:
        out: dict = {}
        if id(node) not in self.merged:  # an aliased node is flattened once, on its first visit
            merges = [k for k, _ in node.value if k.tag == "tag:yaml.org,2002:merge"]
            if len(merges) > 1:
                self.fail(merges[1], path, "duplicate merge key `<<` (merge several mappings with one: `<<: [*a, *b]`)")
                return {}
            own = len(node.value) - len(merges)
            try:
                self.constructor.flatten_mapping(node)
            except yaml.YAMLError as exc:
                self.fail(node, path, f"bad merge key: {getattr(exc, 'problem', None) or exc}")
                return {}
            self.merged[id(node)] = len(node.value) - own
        merged = self.merged[id(node)]  # `<<:` entries come first; the mapping's own keys override them
        own_keys = {k.value for k, _ in node.value[merged:] if isinstance(k, yaml.ScalarNode)}
        for i, (key_node, value_node) in enumerate(node.value):
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag not in CORE_TAGS:
                self.fail(key_node, path, "mapping keys must be plain strings")
                continue
            if i < merged and (key_node.value in own_keys or key_node.value in out):
                continue  # overridden by the mapping's own key, or by an earlier merged mapping
            key = self._construct(key_node, path)
            if key is None and key_node.tag != "tag:yaml.org,2002:null":
                continue
            if not isinstance(key, str):
                key = str(key).lower() if isinstance(key, bool) else str(key)
            if bad := _control(key):
                self.fail(key_node, path, f"control character U+{ord(bad):04X} is not allowed in a key (got {key!r})")
                continue
            if key in out:
                first = self.positions.get((*path, key), (0, 0))
                self.fail(key_node, (*path, key), f"duplicate key (first given at line {first[0]})")
                continue
            self.positions[(*path, key)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            out[key] = self.build(value_node, (*path, key))
        return out


BIDI = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}


def _control(text: str) -> str | None:
    """The first control character of ``text`` (other than tab and line breaks), or a bidirectional override."""
    for c in text:
        if c in BIDI or (unicodedata.category(c) == "Cc" and c not in "\t\n\r"):
            return c
    return None


def dotted(path: Key) -> str:
    """``('actors', 'kyiv', 'red_lines', 0)`` -> ``actors.kyiv.red_lines[0]``."""
    out = ""
    for part in path:
        if isinstance(part, str) and not part.isprintable():
            part = repr(part)  # a key with a line break must not break the one-line error format
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
