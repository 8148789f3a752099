"""A CASE 1.0 CFPackage for the generated district: one tree of standards, learning targets and dispositions."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from typing import Any

from mosaic_dev.district_generator.ids import stable_id
from mosaic_dev.district_generator.standards import (
    DISPOSITIONS,
    LEARNING_TARGETS,
    MATH_CLUSTERS,
    MATH_DOMAINS,
    MATH_STANDARDS,
    PREREQUISITES,
)

CASE_BASE = "https://case.mosaic.example/ims/case/v1p0"
LAST_CHANGE = "2026-07-01T00:00:00+00:00"
ITEM_TYPES = ("Domain", "Cluster", "Standard", "Learning Target", "Disposition", "Disposition Indicator")
DISPOSITION_DOMAIN = "HS"


@dataclass(frozen=True)
class FrameworkItem:
    """One CFItem as the generator and the evidence model see it."""

    id: str
    code: str
    statement: str
    item_type: str
    parent_id: str  # the CFDocument for top-level items
    domain: str  # e.g. "6.RP" or "HS"
    sequence: int

    @property
    def assessable(self) -> bool:
        """Evidence is recorded against standards and disposition indicators."""
        return self.item_type in ("Standard", "Disposition Indicator")

    @property
    def is_disposition(self) -> bool:
        return self.domain == DISPOSITION_DOMAIN


@dataclass(frozen=True)
class Framework:
    document_id: str
    title: str
    items: tuple[FrameworkItem, ...]
    links: tuple[tuple[str, str, str], ...]  # (origin_id, association_type, destination_id)

    @property
    def assessable(self) -> tuple[FrameworkItem, ...]:
        return tuple(item for item in self.items if item.assessable)

    def by_code(self, code: str) -> FrameworkItem:
        for item in self.items:
            if item.code == code:
                return item
        raise KeyError(f"no framework item with code {code!r}")


def build_framework(seed: int, district_name: str) -> Framework:
    """The framework tree, its progressions (precedes, isPrerequisiteOf) and its dispositions."""
    document_id = stable_id(seed, "case-document")
    items: list[FrameworkItem] = []

    def add(code: str, statement: str, item_type: str, parent_id: str, domain: str) -> str:
        item_id = stable_id(seed, "case-item", code)
        items.append(FrameworkItem(item_id, code, statement, item_type, parent_id, domain, len(items) + 1))
        return item_id

    ids: dict[str, str] = {}
    for code, title in MATH_DOMAINS:
        ids[code] = add(code, title, "Domain", document_id, code)
    for code, statement in MATH_CLUSTERS:
        domain = code.rsplit(".", 1)[0]
        ids[code] = add(code, statement, "Cluster", ids[domain], domain)
    for code, statement in MATH_STANDARDS:
        cluster = code.rsplit(".", 1)[0]
        ids[code] = add(code, statement, "Standard", ids[cluster], cluster.rsplit(".", 1)[0])
        for index, target in enumerate(LEARNING_TARGETS.get(code, ()), start=1):
            add(f"{code}.LT{index}", target, "Learning Target", ids[code], cluster.rsplit(".", 1)[0])
    ids[DISPOSITION_DOMAIN] = add(DISPOSITION_DOMAIN, "Habits of Success", "Domain", document_id, DISPOSITION_DOMAIN)
    for code, statement, indicators in DISPOSITIONS:
        ids[code] = add(code, statement, "Disposition", ids[DISPOSITION_DOMAIN], DISPOSITION_DOMAIN)
        for indicator_code, indicator in indicators:
            ids[indicator_code] = add(indicator_code, indicator, "Disposition Indicator", ids[code], DISPOSITION_DOMAIN)
    links = [(item.id, "isChildOf", item.parent_id) for item in items]
    links += _precedes_within_clusters(ids)
    links += [(ids[origin], "isPrerequisiteOf", ids[destination]) for origin, destination in PREREQUISITES]
    return Framework(
        document_id, f"{district_name} Grade 6 Mathematics and Habits of Success", tuple(items), tuple(links)
    )


def _precedes_within_clusters(ids: dict[str, str]) -> list[tuple[str, str, str]]:
    """Standards of a cluster are taught in order: each precedes the next."""
    links = []
    codes = [code for code, _ in MATH_STANDARDS]
    for current, following in itertools.pairwise(codes):
        if current.rsplit(".", 1)[0] == following.rsplit(".", 1)[0]:
            links.append((ids[current], "precedes", ids[following]))
    return links


def case_package(framework: Framework, *, creator: str) -> dict[str, Any]:
    """The framework as a CASE 1.0 CFPackage document (what a CASE server's /CFPackages returns)."""
    doc_ref = {
        "title": framework.title,
        "identifier": framework.document_id,
        "uri": f"{CASE_BASE}/CFDocuments/{framework.document_id}",
    }
    seed_key = framework.document_id
    type_ids = {name: str(_type_id(seed_key, name)) for name in ITEM_TYPES}
    codes = {item.id: item.code for item in framework.items}
    return {
        "CFDocument": {
            **{"uri": doc_ref["uri"], "identifier": framework.document_id},
            "lastChangeDateTime": LAST_CHANGE,
            "creator": creator,
            "title": framework.title,
            "adoptionStatus": "Adopted",
            "language": "en",
            "version": "2026.1",
            "CFPackageURI": {**doc_ref, "uri": f"{CASE_BASE}/CFPackages/{framework.document_id}"},
        },
        "CFItems": [_cf_item(item, doc_ref, type_ids[item.item_type]) for item in framework.items],
        "CFAssociations": [
            _cf_association(framework, origin, kind, destination, doc_ref, codes)
            for origin, kind, destination in framework.links
        ],
        "CFDefinitions": {
            "CFConcepts": [],
            "CFSubjects": [],
            "CFLicenses": [],
            "CFAssociationGroupings": [],
            "CFItemTypes": [
                {
                    "uri": f"{CASE_BASE}/CFItemTypes/{type_ids[name]}",
                    "identifier": type_ids[name],
                    "lastChangeDateTime": LAST_CHANGE,
                    "title": name,
                    "description": name,
                    "typeCode": name,
                    "hierarchyCode": str(index),
                }
                for index, name in enumerate(ITEM_TYPES, start=1)
            ],
        },
    }


def _type_id(document_id: str, name: str) -> str:
    return str(uuid.uuid5(uuid.UUID(document_id), f"item-type|{name}"))


def _cf_item(item: FrameworkItem, doc_ref: dict[str, str], type_id: str) -> dict[str, Any]:
    cf_item: dict[str, Any] = {
        "uri": f"{CASE_BASE}/CFItems/{item.id}",
        "identifier": item.id,
        "lastChangeDateTime": LAST_CHANGE,
        "CFDocumentURI": doc_ref,
        "humanCodingScheme": item.code,
        "fullStatement": item.statement,
        "CFItemType": item.item_type,
        "CFItemTypeURI": {"title": item.item_type, "identifier": type_id, "uri": f"{CASE_BASE}/CFItemTypes/{type_id}"},
        "educationLevel": ["06"],
        "language": "en",
        "listEnumeration": str(item.sequence),
    }
    if item.item_type in ("Domain", "Disposition"):
        cf_item["abbreviatedStatement"] = item.statement.split(":")[0]
    return cf_item


def _cf_association(
    framework: Framework, origin: str, kind: str, destination: str, doc_ref: dict[str, str], codes: dict[str, str]
) -> dict[str, Any]:
    association_id = str(uuid.uuid5(uuid.UUID(framework.document_id), f"association|{origin}|{kind}|{destination}"))
    if destination == framework.document_id:
        destination_ref = doc_ref
    else:
        destination_ref = {
            "title": codes[destination],
            "identifier": destination,
            "uri": f"{CASE_BASE}/CFItems/{destination}",
        }
    association: dict[str, Any] = {
        "uri": f"{CASE_BASE}/CFAssociations/{association_id}",
        "identifier": association_id,
        "lastChangeDateTime": LAST_CHANGE,
        "CFDocumentURI": doc_ref,
        "originNodeURI": {"title": codes[origin], "identifier": origin, "uri": f"{CASE_BASE}/CFItems/{origin}"},
        "associationType": kind,
        "destinationNodeURI": destination_ref,
    }
    if kind == "isChildOf":
        association["sequenceNumber"] = next(i.sequence for i in framework.items if i.id == origin)
    return association
