"""Names and home languages for generated people, drawn so families look like a real district's."""

from __future__ import annotations

import random

GIVEN_NAMES: tuple[str, ...] = (
    "Ana",
    "Luis",
    "Sofía",
    "Mateo",
    "Valentina",
    "Diego",
    "Camila",
    "José",
    "Lucía",
    "Andrés",
    "Emma",
    "Liam",
    "Olivia",
    "Noah",
    "Ava",
    "Ethan",
    "Mia",
    "Lucas",
    "Amelia",
    "Mason",
    "Aaliyah",
    "Jamal",
    "Imani",
    "Malik",
    "Zoe",
    "Kwame",
    "Amara",
    "Chidi",
    "Nia",
    "Tariq",
    "Minh",
    "Linh",
    "Bao",
    "Thảo",
    "Wei",
    "Mei",
    "Jun",
    "Hana",
    "Yuki",
    "Ji-woo",
    "Fatima",
    "Omar",
    "Layla",
    "Yusuf",
    "Hodan",
    "Abdi",
    "Amina",
    "Khadija",
    "João",
    "Beatriz",
    "Priya",
    "Arjun",
    "Ananya",
    "Rohan",
    "Chloé",
    "Renée",
    "Björn",
    "Zoë",
    "Noé",
    "Inés",
)
FAMILY_NAMES: tuple[str, ...] = (
    "García",
    "Martínez",
    "Hernández",
    "López",
    "González",
    "Rodríguez",
    "Pérez",
    "Sánchez",
    "Ramírez",
    "Núñez",
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Miller",
    "Davis",
    "Wilson",
    "Anderson",
    "Taylor",
    "Nguyen",
    "Tran",
    "Pham",
    "Le",
    "Chen",
    "Wang",
    "Li",
    "Kim",
    "Park",
    "Tanaka",
    "Okafor",
    "Mensah",
    "Adeyemi",
    "Diallo",
    "Hassan",
    "Ali",
    "Mohamed",
    "Abdullahi",
    "Silva",
    "Santos",
    "Patel",
    "Sharma",
    "O'Brien",
    "Müller",
    "Dubois",
    "Łukasz",
    "Jørgensen",
    "Fernández",
    "Ortiz",
    "Reyes",
)
# Home languages (BCP 47) with their share of families; Spanish-named families lean Spanish, and so on.
LANGUAGE_SHARES: tuple[tuple[str, float], ...] = (
    ("en", 0.62),
    ("es", 0.22),
    ("vi", 0.04),
    ("zh", 0.03),
    ("ar", 0.03),
    ("so", 0.02),
    ("pt", 0.02),
    ("ht", 0.02),
)
LANGUAGE_OF_FAMILY_NAME: dict[str, str] = {
    **dict.fromkeys((*FAMILY_NAMES[:10], "Fernández", "Ortiz", "Reyes"), "es"),
    **dict.fromkeys(("Nguyen", "Tran", "Pham", "Le"), "vi"),
    **dict.fromkeys(("Chen", "Wang", "Li"), "zh"),
    **dict.fromkeys(("Hassan", "Ali"), "ar"),
    **dict.fromkeys(("Mohamed", "Abdullahi"), "so"),
    **dict.fromkeys(("Silva", "Santos"), "pt"),
}
GUARDIAN_RELATIONS = ("parent", "parent", "parent", "guardian")


def person_name(rng: random.Random, family_name: str | None = None) -> tuple[str, str]:
    """(given name, family name)."""
    return rng.choice(GIVEN_NAMES), family_name or rng.choice(FAMILY_NAMES)


def home_language(rng: random.Random, family_name: str) -> str:
    """Mostly the language a family name suggests (when it suggests one), else the district's mix."""
    suggested = LANGUAGE_OF_FAMILY_NAME.get(family_name)
    if suggested and rng.random() < 0.6:
        return suggested
    draw = rng.random()
    for language, share in LANGUAGE_SHARES:
        draw -= share
        if draw < 0:
            return language
    return "en"


def username(given: str, family: str, number: int) -> str:
    """Plain ASCII login names, as SIS exports have them."""
    import unicodedata

    def ascii_letters(text: str) -> str:
        return "".join(c for c in unicodedata.normalize("NFKD", text) if c.isascii() and c.isalpha()).lower()

    return f"{ascii_letters(given)[:1]}{ascii_letters(family)}{number}"
