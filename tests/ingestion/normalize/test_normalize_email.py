"""E-mail normalization against email_validator's own syntax cases, plus scraped-data cases.

The upstream cases are read from tests/test_syntax.py with `ast` (never imported): valid inputs
must come back with the expected normalized form, invalid inputs must come back as reasons.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from tests.shared_data import SharedPath

from aiqleads.ingestion.normalize.email import Email, best_email, normalize_email
from aiqleads.ingestion.normalize.reasons import Reason

# Upstream functions whose cases are invalid under the options we use (no quoted local parts,
# no display names, no special-use domains). "strict" and "smtputf8_off" cases need options we
# do not use, so they say nothing about us.
_INVALID_FUNCTIONS = {
    "test_email_invalid_syntax",
    "test_email_invalid_reserved_domain",
    "test_email_invalid_syntax_display_name",
    "test_email_valid_only_if_quoted_local_part",
}
_VALID_FUNCTIONS = {"test_email_valid", "test_email_valid_intl_local_part"}
# (valid input, expected normalized form or None) pairs, and invalid inputs.
Cases = tuple[list[tuple[str, str | None]], list[str]]


def _cases(path: Path) -> Cases:
    """(valid input, expected normalized form or None) pairs and invalid inputs."""
    valid: list[tuple[str, str | None]] = []
    invalid: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            if not (isinstance(decorator, ast.Call) and len(decorator.args) == 2):
                continue
            if "parametrize" not in ast.unparse(decorator.func):
                continue
            for item in getattr(decorator.args[1], "elts", []):
                row = item.elts if isinstance(item, ast.Tuple | ast.List) else [item]
                email_input = ast.literal_eval(row[0])
                if node.name in _INVALID_FUNCTIONS:
                    invalid.append(email_input)
                elif node.name == "test_pyisemail_tests":
                    status = ast.literal_eval(row[1])
                    if status.startswith("ISEMAIL_ERR"):
                        invalid.append(email_input)
                    elif status == "ISEMAIL_VALID":
                        valid.append((email_input, None))
                elif node.name in _VALID_FUNCTIONS and isinstance(row[1], ast.Call):
                    keywords = {k.arg: k.value for k in row[1].keywords}
                    if "display_name" in keywords or '"' in email_input:
                        continue  # upstream allows display names and quoting here; we do not
                    expected = keywords.get("normalized") or keywords.get("email")
                    valid.append(
                        (email_input, ast.literal_eval(expected) if expected is not None else None)
                    )
    return valid, invalid


@pytest.fixture(scope="module")
def syntax_cases(shared_path: SharedPath) -> Cases:
    return _cases(shared_path("contacts", "email_validator", "tests", "test_syntax.py"))


def test_upstream_valid_addresses_are_accepted_in_their_normalized_form(
    syntax_cases: Cases,
) -> None:
    # given the valid addresses of email_validator's syntax tests
    valid, _ = syntax_cases
    assert len(valid) >= 30
    # when each is normalized
    results = {raw: normalize_email(raw) for raw, _ in valid}
    # then each is accepted with the normalized form upstream expects
    rejected = {raw: str(r) for raw, r in results.items() if isinstance(r, Reason)}
    assert rejected == {}
    wrong = {
        raw: (results[raw], expected)
        for raw, expected in valid
        if expected is not None and results[raw] != Email(expected, is_relay=False)
    }
    assert wrong == {}


def test_upstream_invalid_addresses_are_rejected_with_a_reason(syntax_cases: Cases) -> None:
    # given the invalid addresses, less those only invalid for surrounding whitespace, which
    # we strip because scraped text is full of it
    _, invalid = syntax_cases
    cases = [raw for raw in invalid if raw == raw.strip()]
    assert len(cases) >= 50
    # when each is normalized, then each is a reason with a stable code
    results = {raw: normalize_email(raw) for raw in cases}
    accepted = [raw for raw, r in results.items() if not isinstance(r, Reason)]
    assert accepted == []
    assert {r.code for r in results.values() if isinstance(r, Reason)} == {"email_invalid"}


def test_domain_is_lowercased_and_surrounding_junk_removed() -> None:
    assert normalize_email("  Tony.Smith@Example.COM ") == Email("Tony.Smith@example.com", False)
    assert normalize_email("mailto:ann@example.org?subject=House") == Email(
        "ann@example.org", False
    )


def test_craigslist_relay_is_valid_but_flagged() -> None:
    result = normalize_email("3a5f8c1e2b7d4a9f@hous.craigslist.org")
    assert isinstance(result, Email)
    assert result.is_relay is True
    assert normalize_email("owner@craigslist.org.example.com") == Email(
        "owner@craigslist.org.example.com", False
    )


def test_best_email_prefers_the_owners_own_address_over_a_relay() -> None:
    relay, own = "x1@hous.craigslist.org", "owner@example.com"
    assert best_email([relay, "not an email", own]) == Email(own, False)
    assert best_email([relay]) == Email(relay, True)
    assert best_email([]) is None
    bad = best_email(["nope", "@@"])
    assert isinstance(bad, Reason) and bad.code == "email_invalid"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (None, "email_missing"),
        ("", "email_missing"),
        ("   ", "email_missing"),
        (42, "email_invalid"),
        ("no-at-sign.example.com", "email_invalid"),
        ("a@b", "email_invalid"),
        ("x" * 5000 + "@example.com", "email_invalid"),
        ("me@localhost", "email_invalid"),
    ],
)
def test_bad_input_is_a_reason_never_an_exception(raw: object, code: str) -> None:
    result = normalize_email(raw)
    assert isinstance(result, Reason)
    assert result.code == code
