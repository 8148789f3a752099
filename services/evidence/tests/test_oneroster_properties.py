"""Whatever a SIS puts in a name (commas, quotes, line breaks, accents, any script) reads back unchanged,
with or without a byte-order mark and CRLF line ends."""

from hypothesis import given, settings
from hypothesis import strategies as st

from mosaic_evidence.domain.oneroster import read_bundle
from mosaic_evidence.domain.roster import plan_roster

ORG = "org-1"
names = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x00")
    | st.sampled_from([",", '"', "\n", "\r", "é", "ñ", "ø", "𝑑", "李"]),
    min_size=1,
    max_size=30,
).filter(lambda s: s.strip() == s)


def rfc4180_field(value: str) -> str:
    """Quote a field holding a comma, quote, CR or LF (RFC 4180 2.6); Python's csv.writer leaves a bare CR unquoted
    when the line terminator is LF, which makes the file ambiguous to every reader."""
    if any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def bundle(given_name: str, family_name: str, *, bom: bool, crlf: bool) -> dict[str, bytes]:
    def write(header: list[str], rows: list[list[str]]) -> bytes:
        end = "\r\n" if crlf else "\n"
        text = "".join(",".join(rfc4180_field(f) for f in row) + end for row in [header, *rows])
        return (("\ufeff" if bom else "") + text).encode("utf-8")

    return {
        "orgs.csv": write(
            ["sourcedId", "status", "dateLastModified", "name", "type"],
            [[ORG, "active", "", 'Escuela Ñandú, "Norte"', "school"]],
        ),
        "users.csv": write(
            ["sourcedId", "status", "enabledUser", "orgSourcedIds", "role", "givenName", "familyName"],
            [["u1", "active", "true", ORG, "student", given_name, family_name]],
        ),
    }


@settings(max_examples=60, deadline=None)
@given(given_name=names, family_name=names, bom=st.booleans(), crlf=st.booleans())
def test_any_name_survives_the_csv_as_written(given_name, family_name, bom, crlf):
    parsed, problems = read_bundle(bundle(given_name, family_name, bom=bom, crlf=crlf))
    assert problems == []
    person = plan_roster(parsed, "i").all_people()["u1"]
    assert (person.given_name, person.family_name) == (given_name, family_name)
