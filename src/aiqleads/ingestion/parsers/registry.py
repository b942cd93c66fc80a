"""Which parser reads which source. A slug names a parser; the records it yields carry the site
they describe in `source` (the Craigslist CSV scrapes yield source "craigslist", so the same post
dedupes by post id whichever way it arrived).
"""

from __future__ import annotations

from types import MappingProxyType

from aiqleads.ingestion.mapping import builtin_mapping
from aiqleads.ingestion.parsers import craigslist, realtor, redfin, reso, zillow
from aiqleads.ingestion.records import Parser, StreamParser

_PARSERS: MappingProxyType[str, Parser] = MappingProxyType(
    {
        "craigslist": craigslist.parse,
        # CSV mappings (ingestion/mappings/*.toml), as any an operator brings with --mapping
        **{
            slug: builtin_mapping(slug).parser()
            for slug in ("craigslist_csv_asl7168", "craigslist_csv_irahorecka", "king_county_sales")
        },
        "realtor": realtor.parse,
        "redfin": redfin.parse,
        "reso": reso.parse,
        "zillow": zillow.parse,  # also the fsbo-tracker export (all Zillow FSBO listings)
    }
)


class UnknownSourceError(KeyError):
    """No parser is registered under this slug."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown source"


def get_parser(slug: str) -> Parser:
    try:
        return _PARSERS[slug]
    except KeyError:
        known = ", ".join(available_sources())
        raise UnknownSourceError(f"no parser for source {slug!r}; known sources: {known}") from None


def get_stream_parser(slug: str) -> StreamParser | None:
    """The parser's reader of binary streams, for sources read a buffer at a time (CSV)."""
    stream: StreamParser | None = getattr(get_parser(slug), "stream", None)
    return stream


def available_sources() -> list[str]:
    return sorted(_PARSERS)
