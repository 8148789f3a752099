"""English and Spanish: a small catalog keyed by the English text, the person's language chosen per request."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request

from mosaic_portal.catalog_es import SPANISH

LANGUAGES = {"en": {}, "es": SPANISH}


def language_of(request: Request) -> str:
    """`?lang=` first, then the signed-in person's language, then the browser's Accept-Language."""
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        request.session["lang"] = asked
        return asked
    chosen = request.session.get("lang") or (request.session.get("person") or {}).get("language")
    if chosen and chosen[:2] in LANGUAGES:
        return chosen[:2]
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return "en"


def translator(language: str) -> Callable[..., str]:
    catalog = LANGUAGES.get(language, {})

    def translate(text: str, **values: object) -> str:
        found = catalog.get(text, text)
        return found.format(**values) if values else found

    return translate
