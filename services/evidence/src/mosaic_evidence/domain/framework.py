"""CASE (1EdTech Competencies and Academic Standards Exchange) packages → one competency tree.

Reads CFPackage JSON as CASE servers really write it: fields missing, Markdown statements,
non-BMP UTF-8, sibling order given by association sequence numbers or only by coding scheme,
empty or external frameworks. Items hang under their `isChildOf` parent; every other
association (precedes, isPrerequisiteOf, exactMatchOf, ...) is kept as a link.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from mosaic_events.catalog import Competency, CompetencyLink, FrameworkDiff, FrameworkPublished

CHILD_OF = "isChildOf"
DISPOSITION_WORDS = (
    "disposition",
    "habit",
    "social-emotional",
    "social emotional",
    "sel ",
    "character",
    "collaboration",
    "self-direction",
    "self direction",
    "mindset",
    "work habit",
)
TARGET_WORDS = ("learning target", "learning objective", "target", "objective", "indicator")


class FrameworkError(ValueError):
    """A package that cannot be read as a framework; `problems` lists every reason."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class RubricLevel:
    score: float | None
    title: str
    description: str | None = None


@dataclass(frozen=True)
class RubricCriterion:
    """A CFRubricCriterion: how one competency is rated, with its levels."""

    id: str
    item_id: str | None
    title: str
    levels: tuple[RubricLevel, ...]


@dataclass(frozen=True)
class Rubric:
    id: str
    title: str
    criteria: tuple[RubricCriterion, ...]


@dataclass(frozen=True)
class Framework:
    """A CASE document as one ordered tree of competencies plus the links between them."""

    framework_id: str
    title: str
    version: str | None
    competencies: tuple[Competency, ...]
    links: tuple[CompetencyLink, ...]
    association_counts: Counter[str] = field(default_factory=Counter)
    rubrics: tuple[Rubric, ...] = ()
    creator: str | None = None
    adoption_status: str | None = None
    external: bool = False

    def by_id(self) -> dict[str, Competency]:
        return {c.id: c for c in self.competencies}

    def children_of(self, parent_id: str | None) -> list[Competency]:
        return [c for c in self.competencies if c.parent_id == parent_id]

    def kinds(self) -> Counter[str]:
        return Counter(c.kind for c in self.competencies)


def parse_case_json(raw: bytes | str) -> Framework:
    """Parse CFPackage JSON text (UTF-8, a byte-order mark tolerated)."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8-sig")
    try:
        package = json.loads(raw.lstrip("\ufeff"))
    except ValueError as exc:
        raise FrameworkError([f"not valid JSON: {exc}"]) from None
    return parse_case_package(package)


def parse_case_package(package: Any) -> Framework:
    """Turn a decoded CFPackage into a Framework; raise FrameworkError naming every unreadable part."""
    if not isinstance(package, dict):
        raise FrameworkError([f"a CFPackage is a JSON object, got {type(package).__name__}"])
    problems: list[str] = []
    document = package.get("CFDocument")
    if not isinstance(document, dict):
        raise FrameworkError(["CFDocument is missing: a CASE package must describe its document"])
    framework_id = _identifier(document)
    if not framework_id:
        problems.append("CFDocument has neither an identifier nor a uri")
    raw_items = _list(package, "CFItems", problems)
    raw_links = _list(package, "CFAssociations", problems)
    item_types = _item_type_titles(package.get("CFDefinitions"))
    items = _read_items(raw_items, item_types, problems)
    associations = _read_associations(raw_links, problems)
    if problems:
        raise FrameworkError(problems)
    parents, sequences, links = _tree_edges(associations, set(items), framework_id or "")
    ordered = _preorder(items, parents, sequences)
    return Framework(
        framework_id=framework_id or "",
        title=_text(document.get("title")) or framework_id or "untitled",
        version=_text(document.get("version")) or _text(document.get("lastChangeDateTime")),
        competencies=tuple(ordered),
        links=tuple(links),
        association_counts=Counter(a["type"] for a in associations),
        rubrics=tuple(_read_rubrics(package.get("CFRubrics"))),
        creator=_text(document.get("creator")),
        adoption_status=_text(document.get("adoptionStatus")),
        external=not raw_items,
    )


def classify_item_type(item_type: str | None) -> str:
    """A competency's kind from its CFItemType: disposition, learning target, standard or the type itself."""
    if not item_type:
        return "standard"
    text = f"{item_type.strip().lower()} "
    if any(word in text for word in DISPOSITION_WORDS):
        return "disposition"
    if any(word in text for word in TARGET_WORDS):
        return "learning target"
    return item_type.strip().lower()


def diff_frameworks(old: Framework | None, new: Framework) -> FrameworkDiff:
    """What a re-import changes: added, changed (any field, parent or order) and removed competencies."""
    before = old.by_id() if old else {}
    after = new.by_id()
    return FrameworkDiff(
        added=tuple(i for i in after if i not in before),
        changed=tuple(i for i in after if i in before and before[i] != after[i]),
        removed=tuple(i for i in before if i not in after),
    )


def to_published(framework: Framework, diff: FrameworkDiff | None = None) -> FrameworkPublished:
    return FrameworkPublished(
        framework_id=framework.framework_id,
        title=framework.title,
        framework_version=framework.version,
        competencies=framework.competencies,
        links=framework.links,
        diff=diff or FrameworkDiff(added=tuple(c.id for c in framework.competencies)),
    )


def _read_items(raw_items: list[Any], item_types: dict[str, str], problems: list[str]) -> dict[str, dict[str, Any]]:
    items: dict[str, dict[str, Any]] = {}
    for index, raw in enumerate(raw_items):
        where = f"CFItems[{index}]"
        if not isinstance(raw, dict):
            problems.append(f"{where} is not an object")
            continue
        identifier = _identifier(raw)
        if not identifier:
            problems.append(f"{where} has neither an identifier nor a uri")
            continue
        if identifier in items:
            problems.append(f"{where}: identifier {identifier} appears twice")
            continue
        statement = (
            _text(raw.get("fullStatement"))
            or _text(raw.get("abbreviatedStatement"))
            or _text(raw.get("humanCodingScheme"))
        )
        if not statement:
            problems.append(f"{where} ({identifier}) has no fullStatement")
            continue
        items[identifier] = {
            "id": identifier,
            "statement": statement,
            "code": _text(raw.get("humanCodingScheme")),
            "abbreviated_statement": _text(raw.get("abbreviatedStatement")),
            "kind": classify_item_type(_item_type_of(raw, item_types)),
            "education_levels": tuple(str(v) for v in raw.get("educationLevel") or () if str(v).strip()),
            "file_order": index,
        }
    return items


def _read_associations(raw_links: list[Any], problems: list[str]) -> list[dict[str, Any]]:
    associations = []
    for index, raw in enumerate(raw_links):
        where = f"CFAssociations[{index}]"
        if not isinstance(raw, dict):
            problems.append(f"{where} is not an object")
            continue
        origin = _node_id(raw.get("originNodeURI"))
        destination = _node_id(raw.get("destinationNodeURI"))
        kind = _text(raw.get("associationType"))
        missing = [
            n
            for n, v in (("originNodeURI", origin), ("destinationNodeURI", destination), ("associationType", kind))
            if not v
        ]
        if missing:
            problems.append(f"{where} lacks {', '.join(missing)}")
            continue
        associations.append(
            {
                "origin": origin,
                "destination": destination,
                "type": kind,
                "sequence": _number(raw.get("sequenceNumber")),
                "file_order": index,
            }
        )
    return associations


def _tree_edges(
    associations: list[dict[str, Any]], item_ids: set[str], document_id: str
) -> tuple[dict[str, str | None], dict[str, float | None], list[CompetencyLink]]:
    """Parents and sibling positions from isChildOf; every other association (and extra parents) as links."""
    parents: dict[str, str | None] = {}
    sequences: dict[str, float | None] = {}
    links: list[CompetencyLink] = []
    for assoc in associations:
        origin, destination = assoc["origin"], assoc["destination"]
        if assoc["type"] == CHILD_OF and origin in item_ids and origin not in parents:
            parents[origin] = destination if destination in item_ids and destination != origin else None
            sequences[origin] = assoc["sequence"]
            continue
        if assoc["type"] == CHILD_OF and destination == document_id:
            continue
        links.append(CompetencyLink(origin_id=origin, destination_id=destination, association_type=assoc["type"]))
    return parents, sequences, links


def _preorder(
    items: dict[str, dict[str, Any]], parents: dict[str, str | None], sequences: dict[str, float | None]
) -> list[Competency]:
    """Depth-first order; siblings by sequence number, then natural coding-scheme order, then file order."""
    children: dict[str | None, list[str]] = defaultdict(list)
    for item_id in items:
        parent = parents.get(item_id)
        children[parent].append(item_id)

    def sibling_key(item_id: str) -> tuple[bool, float, tuple[Any, ...], int]:
        seq = sequences.get(item_id)
        return (seq is None, seq or 0, _natural(items[item_id]["code"]), items[item_id]["file_order"])

    ordered: list[Competency] = []
    seen: set[str] = set()

    def visit(parent: str | None) -> None:
        for position, item_id in enumerate(sorted(children.get(parent, ()), key=sibling_key), start=1):
            if item_id in seen:
                continue
            seen.add(item_id)
            fields = {k: v for k, v in items[item_id].items() if k != "file_order"}
            ordered.append(Competency(**fields, parent_id=parent, sequence=position))
            visit(item_id)

    visit(None)
    for item_id in items:  # items caught in a parent cycle: keep them, as roots
        if item_id not in seen:
            parents[item_id] = None
            children[None] = [item_id]
            visit(None)
    return ordered


def _natural(code: str | None) -> tuple[Any, ...]:
    if not code:
        return (1,)
    return (0, *((0, int(p), "") if p.isdigit() else (1, 0, p.lower()) for p in re.split(r"(\d+)", code) if p))


def _read_rubrics(raw_rubrics: Any) -> list[Rubric]:
    rubrics = []
    for raw in raw_rubrics if isinstance(raw_rubrics, list) else ():
        if not isinstance(raw, dict) or not _identifier(raw):
            continue
        criteria = []
        for crit in raw.get("CFRubricCriteria") or ():
            levels = tuple(
                RubricLevel(
                    score=_number(level.get("score")),
                    title=_text(level.get("quality")) or _text(level.get("description")) or "",
                    description=_text(level.get("description")),
                )
                for level in crit.get("CFRubricCriterionLevels") or ()
                if isinstance(level, dict)
            )
            criteria.append(
                RubricCriterion(
                    id=_identifier(crit) or "",
                    item_id=_node_id(crit.get("CFItemURI")),
                    title=_text(crit.get("category")) or _text(crit.get("description")) or "",
                    levels=levels,
                )
            )
        rubrics.append(Rubric(id=_identifier(raw) or "", title=_text(raw.get("title")) or "", criteria=tuple(criteria)))
    return rubrics


def _item_type_titles(definitions: Any) -> dict[str, str]:
    titles = {}
    for raw in (definitions or {}).get("CFItemTypes") or () if isinstance(definitions, dict) else ():
        identifier = _identifier(raw) if isinstance(raw, dict) else None
        if identifier:
            titles[identifier] = _text(raw.get("title")) or _text(raw.get("typeCode")) or ""
    return titles


def _item_type_of(raw: dict[str, Any], item_types: dict[str, str]) -> str | None:
    if _text(raw.get("CFItemType")):
        return _text(raw.get("CFItemType"))
    ref = raw.get("CFItemTypeURI")
    if isinstance(ref, dict):
        return _text(ref.get("title")) or item_types.get(_node_id(ref) or "")
    return None


def _list(package: dict[str, Any], key: str, problems: list[str]) -> list[Any]:
    value = package.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append(f"{key} must be a list, got {type(value).__name__}")
        return []
    return value


def _identifier(raw: dict[str, Any]) -> str | None:
    identifier = _text(raw.get("identifier"))
    if identifier:
        return identifier
    uri = _text(raw.get("uri"))
    return uri.rstrip("/").rsplit("/", 1)[-1] if uri else None


def _node_id(ref: Any) -> str | None:
    """A LinkURI's target: its identifier, else the last segment of its uri (or a bare uri string)."""
    if isinstance(ref, str):
        return ref.rstrip("/").rsplit("/", 1)[-1] or None
    if isinstance(ref, dict):
        return _identifier(ref)
    return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _number(value: Any) -> float | None:
    try:
        return float(value) if value is not None and str(value).strip() != "" else None
    except (TypeError, ValueError):
        return None
