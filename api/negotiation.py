"""Content negotiation on ``Accept`` (RFC 9110 §12.5.1): the offered media type the client
rates highest, the most specific matching range deciding each rating."""

from collections.abc import Sequence

from services.errors import DomainError

JSON, HTML, ZIP, CSV, PDF = "application/json", "text/html", "application/zip", "text/csv", "application/pdf"


class NotAcceptable(DomainError):
    status = 406
    title = "Not acceptable"


def _ranges(accept: str) -> list[tuple[str, str, float]]:
    parsed = []
    for part in accept.split(","):
        media, *parameters = (p.strip() for p in part.split(";"))
        if "/" not in media:
            continue
        kind, _, subtype = media.lower().partition("/")
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    quality = 0.0  # an unreadable rating counts as "not this"
        parsed.append((kind, subtype, quality))
    return parsed


def _quality(offer: str, ranges: list[tuple[str, str, float]]) -> float:
    kind, _, subtype = offer.partition("/")
    best: tuple[int, float] | None = None
    for range_kind, range_subtype, quality in ranges:
        if (range_kind, range_subtype) == (kind, subtype):
            specificity = 2
        elif (range_kind, range_subtype) == (kind, "*"):
            specificity = 1
        elif (range_kind, range_subtype) == ("*", "*"):
            specificity = 0
        else:
            continue
        if best is None or specificity > best[0]:
            best = (specificity, quality)
    return best[1] if best is not None else 0.0


def negotiate(accept: str | None, offers: Sequence[str]) -> str:
    """The offer to send; the first of ``offers`` when ``Accept`` is absent or empty, and on
    ties. Raises NotAcceptable when the client accepts none of them."""
    if not accept or not accept.strip():
        return offers[0]
    ranges = _ranges(accept)
    best_offer, best_quality = offers[0], 0.0
    for offer in offers:
        quality = _quality(offer, ranges)
        if quality > best_quality:
            best_offer, best_quality = offer, quality
    if best_quality == 0.0:
        raise NotAcceptable(
            "not-acceptable", f"This resource is available as {', '.join(offers)}; send one of them in Accept."
        )
    return best_offer
