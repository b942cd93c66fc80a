"""Craigslist: search result pages (2009–2023 layouts), the legacy `jsonsearch` JSON, python-
craigslist result records and posting pages. `parse` tells them apart from the bytes alone.

Fields stay as the page shows them ("$1149000", "2000ft²"); only the markup is taken away.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from aiqleads.ingestion.parsers._common import (
    decode_text,
    find_emails,
    find_phones,
    load_json,
    looks_like_json,
    scalar,
    squash,
    text_or_none,
)
from aiqleads.ingestion.records import ParsedItem, ParseError, RawRecord, Rejected

SOURCE = "craigslist"

# Craigslist category codes under "housing" (hhh), with the kind of listing each one holds.
_HOUSING_KIND: dict[str, str] = {
    "hhh": "other",
    "apa": "for_rent",
    "aap": "for_rent",
    "abo": "for_rent",
    "aiv": "for_rent",
    "roo": "for_rent",
    "sub": "for_rent",
    "vac": "for_rent",
    "prk": "for_rent",
    "hou": "for_rent",
    "sha": "for_rent",
    "rea": "for_sale",
    "reb": "for_sale",
    "reo": "fsbo",
    "rfs": "for_sale",
    "off": "other",
    "swp": "other",
    "hsw": "other",
    "rew": "other",
}

_POST_URL_RE = re.compile(r"/([a-z]{3})/(?:d/[^/]+/)?(\d{6,})\.html")
_CATEGORY_PATH_RE = re.compile(r"/(?:search/)?(?:[a-z]{3}/)?([a-z]{3})/?(?:[?#]|$)")
_PRICE_RE = re.compile(r"^\s*(\$\s?[\d,]+(?:\.\d+)?)")
_BEDROOMS_RE = re.compile(r"(\d+(?:\.\d+)?)\s*br\b", re.IGNORECASE)
_BATHROOMS_RE = re.compile(r"(\d+(?:\.\d+)?)\s*ba\b", re.IGNORECASE)
_AREA_RE = re.compile(r"(\d[\d,]*\s*(?:ft|m)(?:²|2|\^2))", re.IGNORECASE)
_TRAILING_PLACE_RE = re.compile(r"\(([^()]+)\)\s*(?:\(map\)\s*)?$")
_POSTING_ID_RE = re.compile(r"(?:PostingID|post id)\s*:\s*(\d+)", re.IGNORECASE)
_JS_VAR_RE = r"var\s+{name}\s*=\s*\"([^\"]*)\""
_OLD_DATE_RE = re.compile(r"Date:\s*(\d{4}-\d{2}-\d{2},\s*\d{1,2}:\d{2}\s*[AP]M\s*[A-Z]{2,4})")
_YEAR_RE = re.compile(r"Copyright\s*(?:©|&copy;)?\s*(\d{4})")
# A one-line US address in free text: "9163 N.W. 26th Street, Sunrise, FL 33322".
_ADDRESS_RE = re.compile(
    r"(?<![\w,])(\d{1,6}\s+[A-Za-z0-9.#'\- ]{2,60}?,\s*[A-Za-z.'\- ]{2,40},\s*[A-Z]{2}\.?,?\s+"
    r"\d{5}(?:-\d{4})?)\b"
)
# Craigslist's Canadian sites (their subdomains of craigslist.org, also served as
# craigslist.ca): their prices are Canadian dollars and their homes are not US leads.
_CANADIAN_SITES = frozenset(
    (
        "abbotsford", "barrie", "belleville", "brantford", "calgary", "cariboo", "chatham",
        "comoxvalley", "cornwall", "cranbrook", "edmonton", "ftmcmurray", "fortmcmurray",
        "fredericton", "guelph", "halifax", "hamilton", "kamloops", "kelowna", "kingston",
        "kitchener", "lethbridge", "londonon", "montreal", "moosejaw", "nanaimo", "newbrunswick",
        "newfoundland", "niagara", "novascotia", "ottawa", "owensound", "peace", "pei",
        "peterborough", "princegeorge", "quebec", "reddeer", "regina", "saguenay", "sarnia",
        "saskatoon", "sault", "sherbrooke", "skeena", "soo", "stjohns", "sudbury", "sunshine",
        "swiftcurrent", "territories", "thunderbay", "toronto", "troisrivieres", "vancouver",
        "victoria", "whistler", "whitehorse", "windsor", "winnipeg", "yellowknife",
    )
)  # fmt: skip
# What each layout is recognised by, for the quarantine when a page matches none of them.
_LAYOUT_MARKERS = (
    "li.cl-static-search-result (2023+ static search)",
    "[data-pid].cl-search-result (2023+ rendered search)",
    "li.result-row (2016-2022 search)",
    "p.row (2009-2015 search)",
    "body.posting / h2.postingtitle / #postingbody (posting page)",
)
_GONE_MESSAGES = {
    "this posting has expired": "posting expired",
    "this posting has been deleted by its author": "posting deleted by its author",
    "this posting has been flagged for removal": "posting flagged for removal",
}


def parse(data: bytes) -> Iterator[ParsedItem]:
    """Parse one Craigslist document (HTML page, HTML fragment or JSON)."""
    text = decode_text(data)
    if looks_like_json(text):
        return _parse_json(load_json(data))
    html = _unwrap_js_string(text)
    _require_complete_html(html)
    # Imported here: parsel and lxml (~5 MB) are for the crawler and the ingestion worker; the
    # web process imports this module (through the quarantine routes) without parsing pages.
    from parsel import Selector

    return _parse_html(Selector(text=html))


# ---------------------------------------------------------------------------------------- JSON


def _parse_json(doc: Any) -> Iterator[ParsedItem]:
    if (
        isinstance(doc, list)
        and len(doc) == 2
        and isinstance(doc[0], list)
        and isinstance(doc[1], dict)
        and ("baseurl" in doc[1] or "clustered" in doc[1])
    ):
        return _parse_jsonsearch(doc[0], doc[1])
    if isinstance(doc, dict) and _is_python_craigslist(doc):
        return _parse_python_craigslist([doc])
    if isinstance(doc, list) and doc and all(_is_python_craigslist(d) for d in doc):
        return _parse_python_craigslist(doc)
    raise ParseError("JSON is neither a Craigslist jsonsearch response nor search result records")


def _parse_jsonsearch(items: list[Any], meta: dict[str, Any]) -> Iterator[ParsedItem]:
    base = meta.get("baseurl")
    base_url = f"https:{base}" if isinstance(base, str) and base.startswith("//") else base
    for item in items:
        if not isinstance(item, dict):
            yield Rejected(SOURCE, "jsonsearch item is not an object", {"item": item})
            continue
        if "GeoCluster" in item:
            continue  # a map cluster of several posts, not a listing itself
        post_id = text_or_none(item.get("PostingID"))
        if post_id is None:
            yield Rejected(SOURCE, "jsonsearch posting without PostingID", item)
            continue
        href = text_or_none(item.get("PostingURL"))
        category = _category_from_url(href)
        yield RawRecord(
            source=SOURCE,
            source_ref=post_id,
            payload=item,
            kind=_HOUSING_KIND.get(category or ""),
            title=text_or_none(item.get("PostingTitle")),
            url=urljoin(base_url, href) if href and isinstance(base_url, str) else href,
            price=scalar(item.get("Ask")),
            bedrooms=scalar(item.get("Bedrooms")),
            latitude=scalar(item.get("Latitude")),
            longitude=scalar(item.get("Longitude")),
            listed_at=_epoch(item.get("PostedDate")),
            is_fsbo=_fsbo_from_category(category),
            poster_role=_poster_role(category),
            country=_site(base_url if isinstance(base_url, str) else href)["country"],
            currency=_site(base_url if isinstance(base_url, str) else href)["currency"],
        )


def _is_python_craigslist(doc: Any) -> bool:
    return isinstance(doc, dict) and "id" in doc and "craigslist" in str(doc.get("url", ""))


def _parse_python_craigslist(rows: list[dict[str, Any]]) -> Iterator[ParsedItem]:
    for row in rows:
        post_id = text_or_none(row.get("id"))
        if post_id is None:
            yield Rejected(SOURCE, "search result without id", row)
            continue
        geotag = row.get("geotag")
        lat, lon = (
            (geotag[0], geotag[1])
            if isinstance(geotag, list) and len(geotag) == 2
            else (None, None)
        )
        category = text_or_none(row.get("category")) or _category_from_url(row.get("url"))
        if category and category not in _HOUSING_KIND:
            yield _not_housing(category, None, row, post_id)
            continue
        where = text_or_none(row.get("where"))
        yield RawRecord(
            source=SOURCE,
            source_ref=post_id,
            payload=row,
            kind=_HOUSING_KIND.get(category or ""),
            title=text_or_none(row.get("name")),
            url=text_or_none(row.get("url")),
            price=scalar(row.get("price")),
            bedrooms=scalar(row.get("bedrooms")),
            location_text=where,
            address=_find_address(where),
            latitude=scalar(lat),
            longitude=scalar(lon),
            living_area=scalar(row.get("area")),
            listed_at=text_or_none(row.get("datetime")),
            is_fsbo=_fsbo_from_category(category),
            poster_role=_poster_role(category),
            repost_of=text_or_none(row.get("repost_of")),
            country=_site(row.get("url"))["country"],
            currency=_site(row.get("url"))["currency"],
        )


# ---------------------------------------------------------------------------------------- HTML


def _unwrap_js_string(text: str) -> str:
    """Saved fragments are sometimes a JS string: module.exports = (`<li class="result-row"…`);"""
    stripped = text.strip()
    if stripped.startswith("<"):
        return text
    match = re.search(r"([`'\"])\s*<", stripped)
    if match is None:
        raise ParseError("not HTML, JSON or a JS-wrapped HTML fragment")
    quote = match.group(1)
    end = stripped.rfind(quote)
    if end <= match.start():
        raise ParseError("truncated JS string: no closing quote")
    return stripped[match.start() + 1 : end]


def _require_complete_html(html: str) -> None:
    head = html.lstrip()[:200].lower()
    if (head.startswith(("<!doctype", "<html"))) and "</html>" not in html[-4096:].lower():
        raise ParseError("truncated HTML: the document has no closing </html>")


def _parse_html(sel: Any) -> Iterator[ParsedItem]:
    gone = _gone_reason(sel)
    if gone is not None:
        return iter([_gone_item(sel, gone)])
    if sel.css("li.cl-static-search-result"):
        return _search_page(sel, sel.css("li.cl-static-search-result"), _row_2023)
    rendered = sel.css(".cl-search-result[data-pid]")
    if rendered:
        return _search_page(sel, rendered, _row_rendered)
    if sel.css("li.result-row"):
        return _search_page(sel, sel.css("li.result-row"), _row_2021)
    rows = sel.css("p.row")
    if rows and rows[0].css("span.pl"):
        return _search_page(sel, rows, _row_2014)
    if rows:
        return _search_page(sel, rows, _row_2012)
    if _is_posting(sel):
        return iter([_posting(sel)])
    if sel.css(
        "body.toc, body.search, #searchform, ol.cl-static-search-results, div.cl-results-page"
    ):
        return iter(())  # a recognised search page that found nothing
    title = squash(sel.css("title::text").get())
    raise ParseError(
        "not a recognised Craigslist search or posting page: none of the layout markers "
        f"{'; '.join(_LAYOUT_MARKERS)} was found"
        + (f" (page title {title[:80]!r})" if title else "")
    )


def _gone_reason(sel: Any) -> str | None:
    for heading in sel.css("h2::text").getall():
        reason = _GONE_MESSAGES.get(heading.strip().rstrip(".").lower())
        if reason:
            return reason
    return None


def _gone_item(sel: Any, reason: str) -> Rejected:
    html = sel.get()
    post_id = _first_match(r"initFlag\((\d+)\)", html) or _first_match(r"pID\s*=\s*\"?(\d+)", html)
    category = _page_category(sel)
    payload = {"post_id": post_id, "category": category, "breadcrumb": _breadcrumb_texts(sel)}
    return Rejected(SOURCE, reason, payload, source_ref=post_id)


def _is_posting(sel: Any) -> bool:
    return bool(
        sel.css("body.posting, h2.postingtitle, #postingbody, #userbody")
        or _POSTING_ID_RE.search(" ".join(sel.xpath("//body//text()").getall()))
    )


# ---------------------------------------------------------------------------------- categories


def _category_from_url(url: Any) -> str | None:
    if not isinstance(url, str):
        return None
    match = _POST_URL_RE.search(url)
    return match.group(1) if match else None


def _page_category(sel: Any) -> str | None:
    """The page's category code: the JS `catAbb`, else the last breadcrumb link that names one."""
    html = sel.get()
    cat = _first_match(_JS_VAR_RE.format(name="catAbb"), html)
    if cat:
        return cat
    hrefs = sel.css(
        ".bchead a::attr(href), ul.breadcrumbs a::attr(href), .cl-breadcrumbs a::attr(href)"
    ).getall()
    for raw in sel.css("script#ld_breadcrumb_data::text").getall():
        hrefs.extend(re.findall(r"\"@id\"\s*:\s*\"([^\"]+)\"", raw))
    codes = [m.group(1) for h in hrefs if (m := _CATEGORY_PATH_RE.search(urlsplit(h).path + "?"))]
    return codes[-1] if codes else None


def _breadcrumb_texts(sel: Any) -> list[str]:
    texts = sel.css(".bchead a:not(#ef)::text, ul.breadcrumbs a::text").getall()
    return [t for t in (squash(x) for x in texts) if t]


def _category_name(sel: Any, code: str) -> str | None:
    for link in sel.css(".bchead a, ul.breadcrumbs a"):
        href = link.attrib.get("href", "")
        if re.search(rf"/{code}/?(?:[?#]|$)", href):
            return squash(" ".join(link.css("::text").getall()))
    return None


def _not_housing(code: str, name: str | None, payload: dict[str, Any], ref: str | None) -> Rejected:
    label = f"'{code}' ({name})" if name else f"'{code}'"
    return Rejected(SOURCE, f"not housing: category {label}", payload, source_ref=ref)


def _poster_role(category: str | None) -> str:
    """Whose contact a post's text gives: a broker's ("by broker" categories), else the
    poster's own, the owner or landlord (by-owner sales, rentals, rooms)."""
    if category in ("reb", "rfs", "rea"):
        return "listing_agent" if category == "reb" else "unknown"
    return "owner" if category in _HOUSING_KIND else "unknown"


def _site(url: Any) -> dict[str, str | None]:
    """Country and currency of the Craigslist site a post is on (None for US sites)."""
    host = urlsplit(url).hostname if isinstance(url, str) else None
    if host and (host.endswith(".craigslist.ca") or host.split(".")[0] in _CANADIAN_SITES):
        return {"country": "CA", "currency": "CAD"}
    return {"country": None, "currency": None}


def _fsbo_from_category(category: str | None) -> bool | None:
    if category == "reo":
        return True
    if category in ("reb", "apa", "roo", "sub"):
        return False
    return None


# ------------------------------------------------------------------------------- search pages


def _search_page(sel: Any, rows: Any, read_row: Any) -> Iterator[ParsedItem]:
    category = _page_category(sel)
    if category and category not in _HOUSING_KIND:
        name = _category_name(sel, category)
        payload = {
            "category": category,
            "rows": len(rows),
            "title": squash(sel.css("title::text").get()),
        }
        yield _not_housing(category, name, payload, None)
        return
    context = {"base": _page_base_url(sel), "year": _first_match(_YEAR_RE.pattern, sel.get())}
    for row in rows:
        fields: dict[str, Any] = read_row(row, context)
        post_id = fields.get("post_id")
        row_category = fields.get("category") or category
        payload = {k: v for k, v in fields.items() if v is not None}
        if not post_id:
            yield Rejected(SOURCE, "search row without a post id", payload)
            continue
        if row_category and row_category not in _HOUSING_KIND:
            yield _not_housing(row_category, None, payload, post_id)
            continue
        yield _record_from_fields(post_id, row_category, fields, payload)


def _record_from_fields(
    post_id: str, category: str | None, fields: dict[str, Any], payload: dict[str, Any]
) -> RawRecord:
    housing = fields.get("housing") or ""
    return RawRecord(
        source=SOURCE,
        source_ref=post_id,
        payload=payload,
        kind=_HOUSING_KIND.get(category or ""),
        title=fields.get("title"),
        url=fields.get("url"),
        price=fields.get("price"),
        bedrooms=_match_group(_BEDROOMS_RE, housing),
        bathrooms=_match_group(_BATHROOMS_RE, housing),
        living_area=_match_group(_AREA_RE, housing),
        location_text=fields.get("location"),
        latitude=fields.get("latitude"),
        longitude=fields.get("longitude"),
        listed_at=fields.get("date"),
        is_fsbo=_fsbo_from_category(category),
        poster_role=_poster_role(category),
        repost_of=fields.get("repost_of"),
        country=_site(fields.get("url"))["country"],
        currency=_site(fields.get("url"))["currency"],
    )


def _page_base_url(sel: Any) -> str | None:
    for href in sel.css(
        "link[rel=alternate]::attr(href), link[rel=canonical]::attr(href)"
    ).getall():
        parts = urlsplit(href)
        if parts.netloc:
            return f"{parts.scheme or 'https'}://{parts.netloc}/"
    return None


def _row_2012(row: Any, context: dict[str, Any]) -> dict[str, Any]:
    """2009–2012: <p class="row"> with itemdate / itemph ("$249000 / 3br - 2345ft² - ") / itempn."""
    href = row.xpath("./a/@href").get()
    housing = squash(" ".join(row.css("span.itemph ::text").getall())) or ""
    price = _match_group(_PRICE_RE, housing) or squash(row.css("span.itempp::text").get())
    date = squash(row.css("span.itemdate::text").get())
    if not date:
        date = squash(row.xpath("preceding::h4[contains(@class,'ban')][1]//text()").get())
    if date and context.get("year") and not re.search(r"\d{4}", date):
        date = f"{date} {context['year']}"  # the banner has no year; the page footer does
    return {
        "post_id": _post_id_from_url(href),
        "url": href,
        "title": squash(" ".join(row.xpath("./a//text()").getall())),
        "price": price,
        "housing": housing,
        "location": _strip_parens(" ".join(row.css("span.itempn ::text").getall())),
        "date": date,
        "category": row.css("span.itemcg::attr(title)").get() or _category_from_url(href),
        **_row_geo(row),
    }


def _row_2014(row: Any, context: dict[str, Any]) -> dict[str, Any]:
    """2013–2015: <p class="row" data-pid> with span.pl (date, title link) and span.l2."""
    href = row.css("span.pl a::attr(href)").get()
    l2 = squash(" ".join(row.css("span.l2 ::text").getall())) or ""
    nearby = bool(row.xpath("preceding-sibling::h4[contains(@class,'nearby')]"))
    return {
        "post_id": row.attrib.get("data-pid") or _post_id_from_url(href),
        "url": _absolute(href, context.get("base")),
        "title": squash(" ".join(row.css("span.pl a::text").getall())),
        "price": squash(row.css("span.price::text").get()),
        "housing": l2,
        "location": _strip_parens(" ".join(row.css("span.pnr small::text").getall())),
        "date": squash(row.css("span.date::text").get()),
        "category": _category_from_url(href),
        "nearby": nearby or None,
        **_row_geo(row),
    }


def _row_2021(row: Any, context: dict[str, Any]) -> dict[str, Any]:
    """2016–2022: <li class="result-row" data-pid data-repost-of> with result-meta."""
    href = row.css("a.result-title::attr(href)").get()
    price = (
        row.css(".result-meta .result-price::text").get() or row.css(".result-price::text").get()
    )
    return {
        "post_id": row.attrib.get("data-pid") or _post_id_from_url(href),
        "repost_of": row.attrib.get("data-repost-of"),
        "url": _absolute(href, context.get("base")),
        "title": squash(" ".join(row.css("a.result-title::text").getall())),
        "price": squash(price),
        "housing": squash("".join(row.css(".housing ::text").getall())),
        "location": _strip_parens(" ".join(row.css(".result-hood::text").getall())),
        "date": row.css("time.result-date::attr(datetime)").get(),
        "distance": squash(row.css(".maptag::text").get()),
        "category": _category_from_url(href),
        **_row_geo(row),
    }


def _row_2023(row: Any, context: dict[str, Any]) -> dict[str, Any]:
    """2023+ no-JS page: li.cl-static-search-result > a > div.title / div.price / div.location."""
    href = row.css("a::attr(href)").get()
    return {
        "post_id": _post_id_from_url(href),
        "url": _absolute(href, context.get("base")),
        "title": squash(row.css("div.title::text").get()) or squash(row.attrib.get("title")),
        "price": squash(row.css("div.price::text").get()),
        "location": squash(row.css("div.location::text").get()),
        "category": _category_from_url(href),
    }


def _row_rendered(row: Any, context: dict[str, Any]) -> dict[str, Any]:
    """2023+ page as saved after its scripts ran (list, gallery or thumb view): a
    `.cl-search-result[data-pid]` card with `a.posting-title` (or `a.main`), `.priceinfo`,
    `.post-bedrooms` ("2br", "studio"), `.post-sqft` ("950ft²") and a `.meta` line whose last
    part is the neighbourhood."""
    href = row.css("a.posting-title::attr(href), a.main::attr(href), a::attr(href)").get()
    title = squash(" ".join(row.css("a.posting-title .label::text").getall())) or squash(
        row.attrib.get("title")
    )
    bedrooms = squash(row.css(".post-bedrooms::text").get())
    sqft = squash("".join(row.css(".post-sqft ::text").getall()))
    meta_texts = row.css(".meta::text, .meta > span:not(.housing-meta)::text").getall()
    meta = [squash(t) for t in meta_texts]
    meta_parts = [m for m in meta if m and m != "·"]
    location = squash(row.css(".meta .location::text, .supertitle::text").get()) or (
        meta_parts[-1] if len(meta_parts) > 1 else None
    )
    housing = " ".join(p for p in (bedrooms, sqft) if p)
    return {
        "post_id": row.attrib.get("data-pid") or _post_id_from_url(href),
        "url": _absolute(href, context.get("base")),
        "title": title,
        "price": squash(row.css(".priceinfo::text, .price::text").get()),
        "housing": housing.replace("studio", "0br") if housing else None,
        "location": location,
        "category": _category_from_url(href),
        **_row_geo(row),
    }


def _row_geo(row: Any) -> dict[str, Any]:
    lat, lon = row.attrib.get("data-latitude"), row.attrib.get("data-longitude")
    return {"latitude": lat, "longitude": lon} if _real_geotag(lat, lon) else {}


def _real_geotag(lat: str | None, lon: str | None) -> bool:
    """Craigslist writes "" or 0.000000 for a post without a map pin."""
    try:
        return bool(lat and lon) and (float(lat or 0), float(lon or 0)) != (0.0, 0.0)
    except ValueError:
        return False


# ------------------------------------------------------------------------------- posting page


def _posting(sel: Any) -> ParsedItem:
    html = sel.get()
    header = _posting_header(sel)
    post_url = _posting_url(sel, html)
    post_id = (
        _first_match(_POSTING_ID_RE.pattern, " ".join(sel.xpath("//body//text()").getall()))
        or _first_match(_JS_VAR_RE.format(name="buttonPostingID"), html)
        or _first_match(r"initFlag\((\d+)\)", html)
        or _post_id_from_url(post_url)
    )
    category = _category_from_url(post_url) or _page_category(sel)
    body = _body_text(sel)
    reply = _reply_email(sel, html)
    location = _posting_location(sel, header)
    first_group = sel.xpath("(//p[contains(@class,'attrgroup')])[1]")
    attrs = squash(
        " ".join("".join(s.xpath(".//text()").getall()) for s in first_group.xpath("./span"))
    )
    payload: dict[str, Any] = {
        "post_id": post_id,
        "url": post_url,
        "category": category,
        "breadcrumb": _breadcrumb_texts(sel),
        "header": header,
        "attributes": attrs,
        "tags": _posting_tags(sel),
        "reply_to": reply,
        "body": body,
    }
    payload = {k: v for k, v in payload.items() if v not in (None, [], "")}
    if not post_id:
        return Rejected(SOURCE, "posting page without a post id", payload)
    if category and category not in _HOUSING_KIND:
        return _not_housing(category, _category_name(sel, category), payload, post_id)
    lat = sel.css("#map::attr(data-latitude), #leaflet::attr(data-latitude)").get()
    lon = sel.css("#map::attr(data-longitude), #leaflet::attr(data-longitude)").get()
    geo = _real_geotag(lat, lon)
    emails = [e for e in [reply, *find_emails(body)] if e]
    housing = header or ""
    return RawRecord(
        source=SOURCE,
        source_ref=post_id,
        payload=payload,
        kind=_HOUSING_KIND.get(category or ""),
        title=squash(sel.css("title::text").get()) or squash(sel.css("#titletextonly::text").get()),
        description=body,
        url=post_url,
        price=squash(sel.css("h2.postingtitle span.price::text").get())
        or _match_group(_PRICE_RE, housing),
        bedrooms=_match_group(_BEDROOMS_RE, attrs or housing),
        bathrooms=_match_group(_BATHROOMS_RE, attrs or housing),
        living_area=_match_group(_AREA_RE, attrs) or _match_group(_AREA_RE, housing),
        address=_find_address(body),
        location_text=location,
        latitude=lat if geo else None,
        longitude=lon if geo else None,
        listed_at=_posting_time(sel, html),
        phones=find_phones(body),
        emails=list(dict.fromkeys(emails)),
        is_fsbo=_fsbo_from_category(category),
        poster_role=_poster_role(category),
        country=_site(post_url)["country"],
        currency=_site(post_url)["currency"],
    )


def _posting_tags(sel: Any) -> list[str]:
    """The attribute groups after the first one: "cats are OK - purrr", "apartment", …"""
    spans = sel.xpath("(//p[contains(@class,'attrgroup')])[position() > 1]/span")
    return [t for t in (squash("".join(s.xpath(".//text()").getall())) for s in spans) if t]


def _posting_header(sel: Any) -> str | None:
    node = sel.css("h2.postingtitle")
    if not node:
        node = sel.xpath("//body//h2[1]")
    text = "".join(
        node.xpath(".//text()[not(ancestor::*[contains(@class,'screen-reader-text')])]").getall()
    )
    text = text.replace("hide this posting", "").replace("unhide", "")
    return squash(text)


def _posting_url(sel: Any, html: str) -> str | None:
    encoded = _first_match(_JS_VAR_RE.format(name="postingURL"), html)
    if encoded:
        return unquote(encoded)
    qr = _str(sel.css(".print-qrcode::attr(data-location)").get())
    if qr:
        return f"https:{qr}" if qr.startswith("//") else qr
    return _str(sel.css("input.lastLink::attr(value)").get()) or _str(
        sel.css("link[rel=canonical]::attr(href)").get()
    )


def _body_text(sel: Any) -> str | None:
    body = sel.css("#postingbody") or sel.css("#userbody") or sel.css("section.userbody")
    if not body:
        return None
    parts = (
        body[0]
        .xpath(
            ".//text()[not(ancestor::script) and not(ancestor::style)"
            " and not(ancestor::*[contains(@class,'print-information')])]"
        )
        .getall()
    )
    lines = [squash(p) for p in parts]
    return "\n".join(line for line in lines if line) or None


def _reply_email(sel: Any, html: str) -> str | None:
    shown = _first_match(_JS_VAR_RE.format(name="displayEmail"), html)
    if shown:
        return shown
    for href in sel.css("a[href^='mailto:']::attr(href)").getall():
        address = str(href)[len("mailto:") :].split("?", 1)[0]
        if "@" in address:
            return address
    return None


def _posting_location(sel: Any, header: str | None) -> str | None:
    for item in sel.css("ul.blurbs li, #userbody ul li, ul.notices li").xpath("string()").getall():
        text = squash(item) or ""
        if text.lower().startswith("location:"):
            return squash(text.split(":", 1)[1])
    small = squash(sel.css("span.postingtitletext small::text").get())
    if small:
        return _strip_parens(small)
    if header:
        match = _TRAILING_PLACE_RE.search(header)
        if match:
            return squash(match.group(1))
    return None


def _posting_time(sel: Any, html: str) -> str | None:
    stamp = sel.css("#display-date time::attr(datetime), p.postinginfo time::attr(datetime)").get()
    if stamp:
        return str(stamp)
    shown = squash(sel.css("div.postingdate time::text").get())
    if shown:
        return shown
    match = _OLD_DATE_RE.search(" ".join(sel.xpath("//body//text()").getall()))
    return squash(match.group(1)) if match else None


# ------------------------------------------------------------------------------------- helpers


# A word glued to a ZIP or a street number ("NV 89129Call me", "Address:7421 …").
_GLUED_ZIP_RE = re.compile(r"(?<=\d)(?=[A-Z][a-z])")
_GLUED_COLON_RE = re.compile(r"(?<=[A-Za-z]:)(?=\d)")


def _find_address(text: str | None) -> str | None:
    if not text:
        return None
    text = _GLUED_COLON_RE.sub(" ", _GLUED_ZIP_RE.sub(" ", text))
    match = _ADDRESS_RE.search(text)
    return squash(match.group(1)) if match else None


def _post_id_from_url(url: str | None) -> str | None:
    if not url:
        return None
    match = _POST_URL_RE.search(url) or re.search(r"/(\d{6,})\.html", url)
    return match.group(match.lastindex or 1) if match else None


def _absolute(href: str | None, base: str | None) -> str | None:
    if href and base and href.startswith("/"):
        return urljoin(base, href)
    return href


def _strip_parens(text: str | None) -> str | None:
    value = squash(text)
    if value and value.startswith("(") and value.endswith(")"):
        value = squash(value[1:-1])
    return value


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _first_match(pattern: str, text: str) -> str | None:
    match = re.search(pattern, text)
    return match.group(1) if match else None


def _match_group(regex: re.Pattern[str], text: str | None) -> str | None:
    if not text:
        return None
    match = regex.search(text)
    return squash(match.group(1)) if match else None


def _epoch(value: Any) -> datetime | None:
    """jsonsearch gives epoch seconds as a string: an unambiguous instant, so keep it as one."""
    text = value
    if isinstance(text, str) and text.isdigit():
        return datetime.fromtimestamp(int(text), tz=UTC)
    if isinstance(text, int) and not isinstance(text, bool):
        return datetime.fromtimestamp(text, tz=UTC)
    return None
