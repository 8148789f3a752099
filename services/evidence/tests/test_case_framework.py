"""CASE import: every real package in ../shared/data/case read as it is, counted two ways."""

import copy
import itertools
import json
from collections import Counter
from pathlib import Path

import pytest

from mosaic_evidence.domain.framework import (
    FrameworkError,
    classify_item_type,
    diff_frameworks,
    parse_case_json,
    parse_case_package,
    to_published,
)

CASE_DIR = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "case"

# Verified by hand against each file: (items, {association type: count}).
EXPECTED = {
    "AdoptedTestFramework.json": (1, {"isChildOf": 1}),
    "EmptyExternalFramework.json": (0, {}),
    "ItemTypeTestFramework.json": (1, {"isChildOf": 1}),
    "MarkdownFramework.json": (2, {"isChildOf": 2}),
    "Ordering.json": (28, {"isChildOf": 28}),
    "SequenceNumberFramework.json": (2, {"isChildOf": 2}),
    "SmartLevelFramework.json": (14, {"isChildOf": 14}),
    "Utf8TestFramework.json": (1, {"isChildOf": 1}),
}


def load(name: str):
    return parse_case_json((CASE_DIR / name).read_bytes())


def test_every_case_file_in_shared_data_is_covered():
    assert sorted(p.name for p in CASE_DIR.glob("*.json")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_item_and_association_counts_match_the_raw_package(name):
    raw = json.loads((CASE_DIR / name).read_text(encoding="utf-8"))
    framework = load(name)
    items, by_type = EXPECTED[name]
    assert len(framework.competencies) == len(raw["CFItems"]) == items
    assert dict(framework.association_counts) == dict(Counter(a["associationType"] for a in raw["CFAssociations"]))
    assert dict(framework.association_counts) == by_type
    assert framework.framework_id == raw["CFDocument"]["identifier"]
    assert {c.id for c in framework.competencies} == {i["identifier"] for i in raw["CFItems"]}


def test_ordering_builds_the_act_math_tree_with_natural_sibling_order():
    framework = load("Ordering.json")
    assert framework.title == "ACT Holistic Framework, Math"
    chain = ["H.A.MATH.GM", "H.A.MATH.GM.PF", "H.A.MATH.GM.PF.2DFP", "H.A.MATH.GM.PF.2DFP.L1"]
    by_code = {c.code: c for c in framework.competencies}
    assert by_code[chain[0]].parent_id is None
    for parent, child in itertools.pairwise(chain):
        assert by_code[child].parent_id == by_code[parent].id
    level_one = framework.children_of(by_code[chain[-1]].id)
    assert [c.code for c in level_one] == [f"H.A.MATH.GM.PF.2DFP.L1.{n}" for n in range(1, 25)]
    assert [c.sequence for c in level_one] == list(range(1, 25))
    assert by_code["H.A.MATH.GM"].abbreviated_statement == "Geometry and Measurement"
    assert framework.links == ()  # every association is a parent edge (the root's points at the document)


def test_sequence_numbers_order_siblings_before_anything_else():
    framework = load("SequenceNumberFramework.json")
    assert [c.code for c in framework.competencies] == ["SNT.2", "SNT.1"]


def test_smart_levels_without_codes_keep_file_order_under_their_parents():
    framework = load("SmartLevelFramework.json")
    roots = framework.children_of(None)
    assert [r.statement for r in roots] == ["Item 1", "Item 2"]
    assert [c.statement for c in framework.children_of(roots[0].id)] == [f"Item 1.{n}" for n in range(1, 11)]
    assert [c.statement for c in framework.children_of(roots[1].id)] == ["Item 2.1", "Item 2.2"]


def test_markdown_utf8_item_types_adoption_and_empty_external_frameworks_read_as_they_are():
    markdown = load("MarkdownFramework.json")
    table = next(c for c in markdown.competencies if c.code == "MD.Table")
    assert "| Column 1 | Column 2 |" in table.statement and "\\sqrt{b^2-4ac}" in table.statement
    utf8 = load("Utf8TestFramework.json")
    assert utf8.title == "UTF8 𝑑 Test" and utf8.competencies[0].statement == "Item 𝑑 1"
    assert load("ItemTypeTestFramework.json").competencies[0].kind == "standard"
    assert load("AdoptedTestFramework.json").adoption_status == "Adopted"
    empty = load("EmptyExternalFramework.json")
    assert empty.external and empty.competencies == () and empty.title == "Test Framework External Empty"


def test_published_event_carries_the_whole_tree():
    framework = load("Ordering.json")
    event = to_published(framework)
    assert event.framework_id == framework.framework_id and len(event.competencies) == 28
    assert set(event.diff.added) == {c.id for c in framework.competencies}


def district_package() -> dict:
    """A small district framework: standards, a learning target, dispositions, progressions and a rubric."""
    doc = {"identifier": "doc-1", "title": "Northfield Competencies", "version": "2026.1"}

    def item(ident, code, text, item_type=None):
        raw = {"identifier": ident, "humanCodingScheme": code, "fullStatement": text}
        if item_type:
            raw["CFItemType"] = item_type
        return raw

    def assoc(ident, origin, kind, destination, seq=None):
        raw = {
            "identifier": ident,
            "originNodeURI": {"identifier": origin},
            "associationType": kind,
            "destinationNodeURI": {"identifier": destination},
        }
        if seq is not None:
            raw["sequenceNumber"] = seq
        return raw

    return {
        "CFDocument": doc,
        "CFItems": [
            item("m", "MATH", "Mathematics", "Domain"),
            item("r1", "6.RP.A.1", "Ratio language", "Standard"),
            item("r2", "6.RP.A.2", "Unit rates", "Standard"),
            item("t1", "6.RP.A.1.a", "I can describe a ratio", "Learning Target"),
            item("d", "SEL", "Dispositions", "Competency Area"),
            item("d1", "SEL.1", "Collaboration", "Disposition"),
            item("d2", "SEL.2", "Self-direction", "Habit of Work"),
        ],
        "CFAssociations": [
            assoc("a1", "m", "isChildOf", "doc-1", 1),
            assoc("a2", "r1", "isChildOf", "m", 1),
            assoc("a3", "r2", "isChildOf", "m", 2),
            assoc("a4", "t1", "isChildOf", "r1"),
            assoc("a5", "r1", "precedes", "r2"),
            assoc("a6", "r1", "isPrerequisiteOf", "r2"),
            assoc("a7", "d", "isChildOf", "doc-1", 2),
            assoc("a8", "d1", "isChildOf", "d"),
            assoc("a9", "d2", "isChildOf", "d"),
        ],
        "CFRubrics": [
            {
                "identifier": "rub",
                "title": "4-point",
                "CFRubricCriteria": [
                    {
                        "identifier": "crit",
                        "CFItemURI": {"identifier": "d1"},
                        "category": "Collaboration",
                        "CFRubricCriterionLevels": [
                            {"identifier": f"l{n}", "score": n, "quality": q}
                            for n, q in enumerate(["Beginning", "Developing", "Proficient", "Advanced"], start=1)
                        ],
                    }
                ],
            }
        ],
    }


def test_dispositions_progressions_and_rubrics_live_in_one_tree():
    framework = parse_case_package(district_package())
    kinds = {c.id: c.kind for c in framework.competencies}
    assert (kinds["r1"], kinds["t1"], kinds["d1"], kinds["d2"]) == (
        "standard",
        "learning target",
        "disposition",
        "disposition",
    )
    assert [(link.origin_id, link.association_type, link.destination_id) for link in framework.links] == [
        ("r1", "precedes", "r2"),
        ("r1", "isPrerequisiteOf", "r2"),
    ]
    assert [c.id for c in framework.competencies] == ["m", "r1", "t1", "r2", "d", "d1", "d2"]
    assert framework.by_id()["t1"].parent_id == "r1" and framework.version == "2026.1"
    levels = framework.rubrics[0].criteria[0].levels
    assert framework.rubrics[0].criteria[0].item_id == "d1" and [lv.score for lv in levels] == [1, 2, 3, 4]


def test_a_new_version_is_a_diff_of_added_changed_and_removed():
    old_package = district_package()
    new_package = copy.deepcopy(old_package)
    new_package["CFItems"][2]["fullStatement"] = "Unit rates and unit pricing"  # r2 changed
    new_package["CFItems"] = [i for i in new_package["CFItems"] if i["identifier"] != "t1"]  # t1 removed
    new_package["CFAssociations"] = [a for a in new_package["CFAssociations"] if a["identifier"] != "a4"]
    new_package["CFItems"].append({"identifier": "r3", "humanCodingScheme": "6.RP.A.3", "fullStatement": "Ratios"})
    new_package["CFAssociations"].append(
        {
            "identifier": "a10",
            "originNodeURI": {"identifier": "r3"},
            "associationType": "isChildOf",
            "destinationNodeURI": {"identifier": "m"},
            "sequenceNumber": 3,
        }
    )
    diff = diff_frameworks(parse_case_package(old_package), parse_case_package(new_package))
    assert (diff.added, diff.changed, diff.removed) == (("r3",), ("r2",), ("t1",))
    same = diff_frameworks(parse_case_package(old_package), parse_case_package(copy.deepcopy(old_package)))
    assert (same.added, same.changed, same.removed) == ((), (), ())


@pytest.mark.parametrize(
    ("package", "fragment"),
    [
        ("[]", "JSON object"),
        ("{not json", "not valid JSON"),
        ('{"CFItems": []}', "CFDocument is missing"),
        ('{"CFDocument": {"title": "x"}}', "neither an identifier nor a uri"),
        (
            '{"CFDocument": {"identifier": "d"}, "CFItems": [{"identifier": "i"}]}',
            "CFItems[0] (i) has no fullStatement",
        ),
        ('{"CFDocument": {"identifier": "d"}, "CFAssociations": [{"identifier": "a"}]}', "CFAssociations[0] lacks"),
    ],
)
def test_unreadable_packages_say_what_is_wrong(package, fragment):
    with pytest.raises(FrameworkError) as error:
        parse_case_json(package)
    assert fragment in str(error.value)


def test_a_byte_order_mark_is_tolerated():
    raw = "\ufeff" + (CASE_DIR / "Utf8TestFramework.json").read_text(encoding="utf-8")
    assert len(parse_case_json(raw.encode("utf-8")).competencies) == 1


def test_item_types_are_classified():
    assert [
        classify_item_type(t) for t in (None, "Standard", "Learning Target", "Social-Emotional Skill", "Cluster")
    ] == ["standard", "standard", "learning target", "disposition", "cluster"]
