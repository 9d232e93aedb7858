"""Reading the Dockerfile and .dockerignore without Docker: stages, instructions, copied paths."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Copy", "Instruction", "Stage", "ignored", "parse_dockerfile", "read_dockerignore"]


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: FROM, COPY, CMD...
    arguments: str  # the rest of the (joined) line, as written

    def exec_form(self) -> list[str] | None:
        """The JSON array form (``CMD ["python", ...]``), or None for the shell form."""
        text = self.arguments.strip()
        if not text.startswith("["):
            return None
        value = json.loads(text)
        return [str(item) for item in value]


@dataclass(frozen=True)
class Copy:
    sources: list[str]
    destination: str
    flags: dict[str, str]


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [item for item in self.instructions if item.keyword == keyword]

    def last(self, keyword: str) -> Instruction | None:
        found = self.all(keyword)
        return found[-1] if found else None

    def copies(self) -> list[Copy]:
        result = []
        for item in self.all("COPY"):
            words = item.exec_form() or shlex.split(item.arguments)
            flags = {}
            while words and words[0].startswith("--"):
                key, _, value = words.pop(0)[2:].partition("=")
                flags[key] = value
            result.append(Copy(sources=words[:-1], destination=words[-1], flags=flags))
        return result

    def env(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for item in self.all("ENV"):
            for word in shlex.split(item.arguments):
                key, _, value = word.partition("=")
                values[key] = value
        return values


def _logical_lines(text: str) -> list[str]:
    lines: list[str] = []
    current = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):  # a comment inside a continued instruction
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        lines.append(current + stripped)
        current = ""
    if current:
        lines.append(current)
    return lines


def parse_dockerfile(path: Path) -> list[Stage]:
    """The stages of ``path``, in order; the last one is the image."""
    stages: list[Stage] = []
    for line in _logical_lines(path.read_text()):
        keyword, _, arguments = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            words = arguments.split()
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base=words[0], name=name))
        elif not stages:
            raise ValueError(f"{path}: {keyword} before the first FROM")
        else:
            stages[-1].instructions.append(Instruction(keyword, arguments.strip()))
    return stages


def _pattern(text: str) -> re.Pattern[str]:
    """A .dockerignore pattern as a regex: ``*`` stays within a folder, ``**`` spans folders."""
    out = ""
    index = 0
    while index < len(text):
        char = text[index]
        if text.startswith("**/", index):
            out += "(?:.*/)?"
            index += 3
            continue
        if text.startswith("**", index):
            out += ".*"
            index += 2
            continue
        if char == "*":
            out += "[^/]*"
        elif char == "?":
            out += "[^/]"
        elif char == "[":
            end = text.index("]", index)
            out += text[index : end + 1]
            index = end + 1
            continue
        else:
            out += re.escape(char)
        index += 1
    return re.compile(out + r"\Z")


def read_dockerignore(path: Path) -> list[tuple[bool, re.Pattern[str]]]:
    """(negated, pattern) pairs in file order."""
    rules = []
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        line = line.removeprefix("!").strip().strip("/")
        rules.append((negated, _pattern(line)))
    return rules


def ignored(relative: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Whether Docker leaves ``relative`` out of the build context (the last matching rule wins;
    a rule matches a path when it matches the path or one of its parent folders)."""
    parts = relative.strip("/").split("/")
    candidates = ["/".join(parts[: end + 1]) for end in range(len(parts))]
    result = False
    for negated, pattern in rules:
        if any(pattern.match(candidate) for candidate in candidates):
            result = not negated
    return result
