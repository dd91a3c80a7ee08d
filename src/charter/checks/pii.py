"""Personal data detectors: PII kinds recognised by column name and by value pattern.

Names are matched on tokens (``customerEmail`` → ``customer_email``) against a small vocabulary
per kind. Values are matched in bulk with Arrow's RE2 string kernels (``pyarrow.compute``) and
checked with numpy where a format carries a check digit — no Python loop over rows:

=============  ==============================================================================
pattern        what matches
=============  ==============================================================================
``email``      ``local@domain.tld``
``phone``      international (``+``/``00``) or national (leading ``0``) numbers, or digit groups
               separated by spaces, dots, dashes or a bracketed area code; 8–15 digits
               (E.164's limit); dates, decimals and values matched by another pattern excluded
``us_ssn``     US Social Security number ``AAA-GG-SSSS`` (dashes or spaces), without the
               never-issued areas 000, 666, 900–999, group 00 or serial 0000 (SSA rules)
``uk_nino``    UK National Insurance number ``QQ 12 34 56 C`` with HMRC's prefix-letter rules
``es_dni``     Spanish DNI ``12345678Z`` and NIE ``X1234567L`` with their mod-23 check letter
``fr_nir``     French social security number (NIR/INSEE, 15 digits, Corsica ``2A``/``2B``)
               with its mod-97 key
``credit_card`` 13–19 digits (optionally grouped) with a card network's leading digits
               (Visa, Mastercard, Amex, Discover, JCB, Diners) that pass the Luhn checksum
``ipv4``       dotted quad, each part 0–255 without leading zeros
``ipv6``       full and ``::``-compressed forms (no zone id, no embedded IPv4)
=============  ==============================================================================

A value counts when the whole (trimmed) value matches: free-text columns that merely mention an
address are not flagged by value, only by name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


class PiiKind(StrEnum):
    """Kinds of personal data the scan recognises."""

    EMAIL = "email"
    PHONE = "phone"
    NATIONAL_ID = "national_id"
    CREDIT_CARD = "credit_card"
    BANK_ACCOUNT = "bank_account"
    IP_ADDRESS = "ip_address"
    NAME = "name"
    ADDRESS = "address"
    DATE_OF_BIRTH = "date_of_birth"


#: Column-name vocabulary per kind, matched on ``_``-delimited tokens in this order (so
#: ``email_address`` is an e-mail, not an address).
NAME_PATTERNS: tuple[tuple[PiiKind, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern))
    for kind, pattern in (
        (PiiKind.EMAIL, r"_e_?mail(_?addr(ess)?)?_"),
        (PiiKind.IP_ADDRESS, r"_(ip|ip_?addr(ess)?|ipv4|ipv6|client_ip|remote_addr)_"),
        (
            PiiKind.DATE_OF_BIRTH,
            r"_(dob|date_of_birth|birth_?date|birth_?day|born_on|geburtsdatum)_",
        ),
        (
            PiiKind.NATIONAL_ID,
            r"_(ssn|social_security(_number|_no)?|national_id(entifier|_number)?|nin|nino"
            r"|national_insurance(_number|_no)?|passport(_number|_no)?|tax_?id|tin|nif|nie"
            r"|dni|nir|insee|bsn|personnummer|steuer_?id|codice_fiscale"
            r"|driver_?s?_licen[cs]e(_number|_no)?)_",
        ),
        (
            PiiKind.CREDIT_CARD,
            r"_(credit_?card(_number|_no|_num)?|card_?(number|num|no)|cc_?(number|num|no)|ccn"
            r"|pan)_",
        ),
        (PiiKind.BANK_ACCOUNT, r"_(iban|bank_account(_number|_no)?|account_?(number|no))_"),
        (
            PiiKind.PHONE,
            r"_(phone(_?number|_no)?|tele?phone|tel|mobile(_?number|_no)?|cell_?phone|fax)_",
        ),
        (
            PiiKind.NAME,
            r"(^_name_$|_(first|last|full|given|family|middle|maiden|sur|fore|nick|user"
            r"|customer|client|patient|applicant|person|contact|holder|employee|f|l)_?name_"
            r"|_(surnames?|forenames?|nachname|vorname|prenom|apellidos?)_)",
        ),
        (
            PiiKind.ADDRESS,
            r"_(address|addr|street(_?address|_?name)?|home_address|post_?code|postal_?code"
            r"|zip(_?code)?)_",
        ),
    )
)


#: Column names that hold names only sometimes (``first`` may be a first name or a first
#: purchase): flagged when their values look like names (:func:`name_likeness`).
AMBIGUOUS_NAME = re.compile(r"^_(first|last|given|family|middle|nom|nombre|initials?)_$")
#: A name: capitalised words of letters (apostrophes, hyphens and particles allowed).
_PARTICLE = r"((de|da|van|von|del|della|la|le|di|du|der|den|ter|bin|al) )"
_WORD = r"\p{Lu}[\p{L}'’]*\p{Ll}"
_NAME_VALUE = rf"^{_PARTICLE}{{0,2}}{_WORD}([ \-]{_PARTICLE}{{0,2}}{_WORD}){{0,3}}$"
#: Distinct values a column needs before its values can be judged name-like.
MIN_DISTINCT_NAMES = 10


def ambiguous_name(column: str) -> bool:
    """Whether the column's name is one that sometimes holds a person's name (``first``)."""
    return bool(AMBIGUOUS_NAME.search(_tokens(column)))


def name_likeness(values: Any) -> float:
    """Share of the distinct non-empty values that look like a person's name.

    A value looks like a name when it is one to four capitalised words of letters (``Ann``,
    ``O'Neil``, ``McDonald``, ``Jean-Luc``, ``de la Cruz``). Columns with fewer than
    :data:`MIN_DISTINCT_NAMES` distinct values (``Y``/``N``, regions, grades) score 0:
    a handful of capitalised categories is not a list of people.
    """
    distinct = pc.unique(_strings(values).drop_null())
    distinct = distinct.filter(pc.greater(pc.utf8_length(pc.utf8_trim_whitespace(distinct)), 0))
    if len(distinct) < MIN_DISTINCT_NAMES:
        return 0.0
    matched = pc.match_substring_regex(pc.utf8_trim_whitespace(distinct), _NAME_VALUE)
    return float(pc.sum(matched).as_py() or 0) / len(distinct)


def _tokens(column: str) -> str:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", column)
    return "_" + re.sub(r"[^a-z0-9]+", "_", spaced.lower()).strip("_") + "_"


def name_kind(column: str) -> PiiKind | None:
    """The PII kind a column's name suggests, or ``None``.

    Examples
    --------
    >>> name_kind("customerEmail"), name_kind("DateOfBirth"), name_kind("model_name")
    (<PiiKind.EMAIL: 'email'>, <PiiKind.DATE_OF_BIRTH: 'date_of_birth'>, None)
    """
    tokens = _tokens(column)
    for kind, pattern in NAME_PATTERNS:
        if pattern.search(tokens):
            return kind
    return None


# -- value patterns ------------------------------------------------------------------------------
_OCTET = r"(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_HEX = r"[0-9a-fA-F]{1,4}"
_IPV4 = rf"^({_OCTET}\.){{3}}{_OCTET}$"
_IPV6 = (
    rf"^(({_HEX}:){{7}}{_HEX}|({_HEX}:){{1,7}}:|({_HEX}:){{1,6}}:{_HEX}"
    rf"|({_HEX}:){{1,5}}(:{_HEX}){{1,2}}|({_HEX}:){{1,4}}(:{_HEX}){{1,3}}"
    rf"|({_HEX}:){{1,3}}(:{_HEX}){{1,4}}|({_HEX}:){{1,2}}(:{_HEX}){{1,5}}"
    rf"|{_HEX}:(:{_HEX}){{1,6}}|:((:{_HEX}){{1,7}}|:))$"
)
_EMAIL = r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}$"
_SSN = r"^\d{3}([- ])\d{2}([- ])\d{4}$"
_SSN_NEVER_ISSUED = r"^(000|666|9\d\d)|^\d{3}[- ]00[- ]|[- ]0000$"
_NINO = r"^[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]$"
_NINO_NOT_ALLOCATED = r"^(BG|GB|NK|KN|TN|NT|ZZ)"
_DNI = r"^\d{8}[A-Z]$"
_DNI_LETTERS = np.array(list("TRWAGMYFPDXBNJZSQVHLCKE"))
_NIR = r"^[12]\d{2}(0[1-9]|1[0-2]|[2-9]\d)(\d{2}|2[AB])\d{6}\d{2}$"
_CARD_SHAPE = r"^\d{4}([ -]?\d{2,7}){2,4}$"
_CARD_NETWORK = r"^(4|5[1-5]|2[2-7]|3[47]|3[0689]|35|6)"
_PHONE_GROUPED = r"^(\+\d{1,3}[ .\-]?)?(\(\d{1,5}\)[ .\-]?)?\d{1,5}([ .\-]\d{1,5}){1,5}$"
_PHONE_INTERNATIONAL = r"^(\+|00)[1-9]\d{7,13}$"
_PHONE_NATIONAL = r"^0\d{9,10}$"
_PHONE_DIGITS = r"^\D*(\d\D*){8,15}$"  # E.164: at most 15 digits
_DATE_LIKE = r"^(\d{4}[./\-]\d{1,2}[./\-]\d{1,2}|\d{1,2}[./\-]\d{1,2}[./\-]\d{2,4})$"
_DECIMAL = r"^\d+\.\d+$"

#: Value patterns and the kind each one reveals.
VALUE_PATTERNS: dict[str, PiiKind] = {
    "email": PiiKind.EMAIL,
    "us_ssn": PiiKind.NATIONAL_ID,
    "uk_nino": PiiKind.NATIONAL_ID,
    "es_dni": PiiKind.NATIONAL_ID,
    "fr_nir": PiiKind.NATIONAL_ID,
    "credit_card": PiiKind.CREDIT_CARD,
    "ipv4": PiiKind.IP_ADDRESS,
    "ipv6": PiiKind.IP_ADDRESS,
    "phone": PiiKind.PHONE,
}


def _strings(values: Any) -> pa.Array:
    """Values as one Arrow string array (nulls kept)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not isinstance(values, pa.Array):
        values = pa.array(list(values) if not isinstance(values, np.ndarray) else values)
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        values = pc.cast(values, pa.string())
    return values


def _matches(values: pa.Array, pattern: str) -> np.ndarray:
    hit = pc.match_substring_regex(values, pattern)
    return np.asarray(pc.fill_null(hit, False).to_numpy(zero_copy_only=False), dtype=bool)


def _digit_matrix(values: pa.Array, width: int) -> np.ndarray:
    """Strings of at most ``width`` ASCII digits as an ``(n, width)`` matrix, left-padded with 0."""
    padded = pc.utf8_lpad(values, width=width, padding="0").cast(pa.binary(width))
    raw = np.frombuffer(padded.buffers()[1], dtype=np.uint8)
    start = padded.offset * width
    return raw[start : start + len(padded) * width].reshape(len(padded), width) - ord("0")


def luhn_valid(numbers: Sequence[str] | pa.Array | pa.ChunkedArray | np.ndarray) -> np.ndarray:
    """Whether each string of digits passes the Luhn (mod 10) checksum, vectorised.

    Parameters
    ----------
    numbers
        Strings of 1–19 ASCII digits. Anything else (separators, letters, empty, null) is
        ``False``: strip separators first.

    Returns
    -------
    numpy.ndarray of bool

    Examples
    --------
    >>> luhn_valid(["4111111111111111", "4111111111111112", "79927398713"]).tolist()
    [True, False, True]
    """
    values = _strings(numbers)
    result = np.zeros(len(values), dtype=bool)
    shaped = _matches(values, r"^\d{1,19}$")
    if not shaped.any():
        return result
    digits = _digit_matrix(values.filter(pa.array(shaped)), 19).astype(np.int64)
    # Double every second digit counting from the rightmost (index 18 is the check digit).
    doubled = digits[:, 17::-2] * 2
    digits[:, 17::-2] = np.where(doubled > 9, doubled - 9, doubled)
    result[shaped] = digits.sum(axis=1) % 10 == 0
    return result


def _dni_valid(values: pa.Array) -> np.ndarray:
    """Spanish DNI/NIE: 8 digits (NIE: X/Y/Z → 0/1/2 then 7 digits) and the mod-23 letter."""
    normal = pc.replace_substring(pc.utf8_upper(values), "-", "")
    for letter, digit in (("X", "0"), ("Y", "1"), ("Z", "2")):
        normal = pc.replace_substring_regex(normal, f"^{letter}(\\d{{7}}[A-Z])$", f"{digit}\\1")
    result = np.zeros(len(values), dtype=bool)
    shaped = _matches(normal, _DNI)
    if shaped.any():
        subset = normal.filter(pa.array(shaped))
        number = pc.cast(pc.utf8_slice_codeunits(subset, 0, 8), pa.int64()).to_numpy()
        letter = pc.utf8_slice_codeunits(subset, 8, 9).to_numpy(zero_copy_only=False)
        result[shaped] = _DNI_LETTERS[number % 23] == letter.astype(str)
    return result


def _nir_valid(values: pa.Array) -> np.ndarray:
    """French NIR: 13 characters (Corsica 2A/2B counted as 19/18) and key = 97 - n mod 97."""
    normal = pc.replace_substring_regex(pc.utf8_upper(values), r"[ .\-]", "")
    result = np.zeros(len(values), dtype=bool)
    shaped = _matches(normal, _NIR)
    if shaped.any():
        subset = normal.filter(pa.array(shaped))
        body = pc.utf8_slice_codeunits(subset, 0, 13)
        corsica_a = _matches(body, r"^.{5}2A")
        corsica_b = _matches(body, r"^.{5}2B")
        body = pc.replace_substring_regex(body, r"^(.{5})2[AB]", r"\120")
        number = pc.cast(body, pa.int64()).to_numpy().copy()
        # INSEE: 2A → 19 and 2B → 18 in the department digits, i.e. subtract 1e6 / 2e6.
        number[corsica_a] -= 1_000_000
        number[corsica_b] -= 2_000_000
        key = pc.cast(pc.utf8_slice_codeunits(subset, 13, 15), pa.int64()).to_numpy()
        result[shaped] = (97 - number % 97) == key
    return result


def _card_valid(values: pa.Array) -> np.ndarray:
    shaped = _matches(values, _CARD_SHAPE)
    digits = pc.replace_substring_regex(values, r"[ -]", "")
    length = pc.utf8_length(digits).to_numpy(zero_copy_only=False)
    candidate = shaped & (length >= 13) & (length <= 19) & _matches(digits, _CARD_NETWORK)
    return candidate & luhn_valid(pc.if_else(pa.array(candidate), digits, ""))


#: Cheap whole-value shapes: only values of the shape go through a detector's full checks.
_SHAPES = {
    "us_ssn": _SSN,
    "uk_nino": r"^[A-Za-z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-Da-d]$",
    "es_dni": r"^[0-9XYZxyz]\d{7}-?[A-Za-z]$",
    "fr_nir": r"^[12][ .\-]?\d{2}[ .\-]?\d{2}[ .\-]?(\d{2}|2[ABab])[ .\-]?\d{3}[ .\-]?\d{3}"
    r"[ .\-]?\d{2}$",
    "credit_card": _CARD_SHAPE,
    "phone": r"^[+(0-9][0-9 ().\-]{6,23}$",
}


def _compact(values: pa.Array) -> pa.Array:
    return pc.replace_substring(pc.utf8_upper(values), " ", "")


def _full_checks(name: str, shaped: pa.Array) -> np.ndarray:
    """A detector's full checks on values already of its shape."""
    if name == "us_ssn":
        return ~_matches(shaped, _SSN_NEVER_ISSUED)
    if name == "uk_nino":
        compact = _compact(shaped)
        return _matches(compact, _NINO) & ~_matches(compact, _NINO_NOT_ALLOCATED)
    if name == "es_dni":
        return _dni_valid(_compact(shaped))
    if name == "fr_nir":
        return _nir_valid(_compact(shaped))
    if name == "credit_card":
        return _card_valid(shaped)
    raise ValueError(f"no full checks for pattern {name!r}")


def _phone(values: pa.Array, exclude: np.ndarray) -> np.ndarray:
    """Phone numbers among ``values``, leaving out those ``exclude`` marks as more specific."""
    shaped = _matches(values, _SHAPES["phone"]) & ~exclude
    if not shaped.any():
        return shaped
    subset = values.filter(pa.array(shaped))
    phone = (
        _matches(subset, _PHONE_GROUPED)
        | _matches(subset, _PHONE_INTERNATIONAL)
        | _matches(subset, _PHONE_NATIONAL)
    )
    phone &= _matches(subset, _PHONE_DIGITS)
    # Dates, decimals and SSN-shaped values (even unissued ones) are not phone numbers.
    phone &= ~_matches(subset, _DATE_LIKE) & ~_matches(subset, _DECIMAL)
    phone &= ~_matches(subset, _SSN)
    shaped[shaped] = phone
    return shaped


def _detect(name: str, values: pa.Array) -> np.ndarray:
    """Mask of ``values`` matching pattern ``name`` (shape on all values, checks on the few)."""
    if name == "email":
        return _matches(values, _EMAIL)
    if name == "ipv4":
        return _matches(values, _IPV4)
    if name == "ipv6":
        return _matches(values, _IPV6)
    shaped = _matches(values, _SHAPES[name])
    if not shaped.any():
        return shaped
    shaped[shaped] = _full_checks(name, values.filter(pa.array(shaped)))
    return shaped


def match_patterns(values: Any, patterns: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Which values match each value pattern (whole value, after trimming whitespace).

    Each distinct value is examined once (Arrow dictionary encoding); each pattern first
    tests a cheap shape on every distinct value and runs its full checks (check digits,
    exclusions) only on values of that shape.

    Parameters
    ----------
    values
        Strings: an Arrow array, a numpy array or a sequence. Nulls match nothing.
    patterns
        Pattern names from :data:`VALUE_PATTERNS`; default all.

    Returns
    -------
    dict of str to numpy.ndarray of bool
        One mask per pattern, aligned with ``values``. ``phone`` excludes values matched by
        any more specific pattern.
    """
    wanted = list(patterns) if patterns is not None else list(VALUE_PATTERNS)
    unknown = [p for p in wanted if p not in VALUE_PATTERNS]
    if unknown:
        raise ValueError(f"unknown PII pattern(s) {unknown}; known: {list(VALUE_PATTERNS)}")
    strings = pc.utf8_trim_whitespace(_strings(values))
    encoded = pc.dictionary_encode(strings)
    distinct = encoded.dictionary
    indices = encoded.indices
    valid = np.asarray(indices.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    codes = np.asarray(pc.fill_null(indices, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
    per_value = {name: _detect(name, distinct) for name in wanted if name != "phone"}
    if "phone" in wanted:
        exclude = np.zeros(len(distinct), dtype=bool)
        for other in ("credit_card", "fr_nir", "es_dni", "ipv4"):
            exclude |= per_value[other] if other in per_value else _detect(other, distinct)
        per_value["phone"] = _phone(distinct, exclude)
    if not len(distinct):
        return {name: np.zeros(len(codes), dtype=bool) for name in wanted}
    return {name: per_value[name][codes] & valid for name in wanted}
