# ruff: noqa: RUF001  (multilingual subject prefixes: CJK full-width colon is intended)
"""tickets.mail.threading: Message-IDs, subject tags and plus addresses (no Django)."""

import pytest

from tickets.mail.threading import (
    make_message_id,
    normalize_subject,
    reference_from_message_id,
    reference_from_subject,
    reply_address,
    reply_token_from_address,
    split_sub_address,
    subject_with_reference,
    with_sub_address,
)

# -- Message-IDs -----------------------------------------------------------------


def test_message_id_embeds_the_reference_and_unique_part_in_angle_brackets():
    assert make_message_id("HD-1042", "example.com", "a1b2c3") == "<HD-1042.a1b2c3@example.com>"


def test_message_id_domain_is_lower_cased_and_reference_canonicalised():
    assert make_message_id("hd-01042", "Mail.Example.COM", "x.y") == "<HD-1042.x.y@mail.example.com>"


@pytest.mark.parametrize(
    ("reference", "domain", "unique"),
    [
        ("1042", "example.com", "abc"),
        ("HD-", "example.com", "abc"),
        ("HD-1042", "example.com", ""),
        ("HD-1042", "example.com", "a@b"),
        ("HD-1042", "example.com", "has space"),
        ("HD-1042", "example.com", "a<b>"),
        ("HD-1042", "exa mple.com", "abc"),
        ("HD-1042", "", "abc"),
    ],
)
def test_message_id_rejects_invalid_parts(reference, domain, unique):
    with pytest.raises(ValueError):
        make_message_id(reference, domain, unique)


def test_reference_is_recovered_from_our_own_message_id():
    message_id = make_message_id("HD-1042", "example.com", "f00d.beef")
    assert reference_from_message_id(message_id, "example.com") == "HD-1042"


def test_reference_is_recovered_without_angle_brackets_and_with_other_domain_case():
    assert reference_from_message_id("HD-7.abc@EXAMPLE.com", "example.com") == "HD-7"


@pytest.mark.parametrize(
    "message_id",
    [
        "<HD-1042.abc@evil.example>",  # foreign domain
        "<HD-1042.abc@sub.example.com>",  # a subdomain is not our domain
        "<HD-1042@example.com>",  # no unique part
        "<XY-1042.abc@example.com>",  # another prefix
        "<CAKsfaBW4hj0Gek6TwbR3erng4P1y0CZzJ0d=pXtCNnYnbe7PLg@mail.gmail.com>",
        "",
        "garbage",
    ],
)
def test_reference_is_not_taken_from_foreign_or_malformed_message_ids(message_id):
    assert reference_from_message_id(message_id, "example.com") is None


def test_reference_from_message_id_supports_another_prefix():
    assert reference_from_message_id("<SUP-5.x@example.com>", "example.com", prefix="SUP") == "SUP-5"


# -- subjects ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "subject",
    [
        "[#HD-1042] Printer on fire",
        "Re: [#HD-1042] Printer on fire",
        "AW: WG: [#HD-1042] Drucker brennt",
        "Fwd: Printer on fire [#HD-1042]",
        "RE: printer [# hd-1042 ]",
        "Re: [#HD-01042] leading zeros are ignored",
    ],
)
def test_reference_is_found_anywhere_in_the_subject(subject):
    assert reference_from_subject(subject) == "HD-1042"


@pytest.mark.parametrize(
    "subject",
    ["HD-1042 without brackets", "[HD-1042] without hash", "[#XY-1042] other prefix", "", "Re: nothing"],
)
def test_subject_without_our_bracketed_tag_has_no_reference(subject):
    assert reference_from_subject(subject) is None


def test_first_tag_wins_when_a_subject_carries_two_references():
    assert reference_from_subject("Re: [#HD-2] merged into [#HD-1]") == "HD-2"


def test_reference_prefix_is_configurable():
    assert reference_from_subject("Re: [#SUP-9] x", prefix="SUP") == "SUP-9"
    assert reference_from_subject("Re: [#SUP-9] x") is None


def test_subject_tag_is_added_in_front_of_a_new_subject():
    assert subject_with_reference("Printer on fire", "HD-1042") == "[#HD-1042] Printer on fire"


def test_subject_tag_is_added_after_reply_prefixes():
    assert subject_with_reference("Re: Printer on fire", "HD-1042") == "Re: [#HD-1042] Printer on fire"
    assert subject_with_reference("AW: WG: Drucker", "HD-7") == "AW: WG: [#HD-7] Drucker"


def test_subject_tag_is_never_added_twice():
    once = subject_with_reference("Printer on fire", "HD-1042")
    assert subject_with_reference(once, "HD-1042") == once
    assert subject_with_reference(f"Re: {once}", "HD-1042") == f"Re: {once}"
    assert subject_with_reference("Re: [#hd-01042] x", "HD-1042") == "Re: [#hd-01042] x"


def test_subject_tag_is_added_when_another_ticket_is_referenced():
    assert subject_with_reference("[#HD-1] old", "HD-2") == "[#HD-2] [#HD-1] old"


def test_empty_subject_becomes_just_the_tag():
    assert subject_with_reference("", "HD-1042") == "[#HD-1042]"
    assert subject_with_reference("Re:", "HD-1042") == "Re: [#HD-1042]"


def test_subject_with_reference_rejects_a_malformed_reference():
    with pytest.raises(ValueError):
        subject_with_reference("x", "1042")


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Re: Printer", "Printer"),
        ("RE: Printer", "Printer"),
        ("Fwd: Printer", "Printer"),
        ("FW: Printer", "Printer"),
        ("AW: Drucker", "Drucker"),
        ("WG: Drucker", "Drucker"),
        ("SV: Skrivare", "Skrivare"),
        ("VS: Tulostin", "Tulostin"),
        ("RE[2]: Printer", "Printer"),
        ("Re(3): Printer", "Printer"),
        ("Re: Re: Fwd: AW: Printer", "Printer"),
        ("TR: Imprimante", "Imprimante"),
        ("RV: Impresora", "Impresora"),
        ("I: Ordine", "Ordine"),
        ("Odp: Drukarka", "Drukarka"),
        ("回复：打印机", "打印机"),
        ("  Re:   spaced    out  ", "spaced out"),
        ("Re: [#HD-1042] Printer", "[#HD-1042] Printer"),
        ("Report: Re is not a prefix here", "Report: Re is not a prefix here"),
        ("Printer", "Printer"),
        ("", ""),
    ],
)
def test_normalize_subject_strips_reply_and_forward_prefixes(subject, expected):
    assert normalize_subject(subject) == expected


# -- plus addressing ------------------------------------------------------------------


def test_reply_address_uses_plus_addressing():
    assert reply_address("support@example.com", "abc123") == "support+abc123@example.com"


def test_reply_address_replaces_an_existing_tag_and_lower_cases():
    assert reply_address("Support+old@Example.com", "new") == "support+new@example.com"


@pytest.mark.parametrize("token", ["", "a+b", "a@b", "has space", "x" * 65, "ünï"])
def test_reply_address_rejects_unsafe_tokens(token):
    with pytest.raises(ValueError):
        reply_address("support@example.com", token)


def test_reply_address_rejects_a_non_address():
    with pytest.raises(ValueError):
        reply_address("support", "abc")


def test_reply_token_is_read_back_from_our_plus_address():
    address = reply_address("support@example.com", "abc123")
    assert reply_token_from_address(address, ["support@example.com"]) == "abc123"


def test_reply_token_lookup_is_case_insensitive_and_accepts_display_names():
    token = reply_token_from_address('"Support" <SUPPORT+abc123@Example.COM>', ["support@example.com"])
    assert token == "abc123"


@pytest.mark.parametrize(
    "address",
    [
        "support@example.com",  # no token
        "support+@example.com",  # empty token
        "sales+abc@example.com",  # not one of ours
        "support+abc@evil.example",  # foreign domain
        "not an address",
        "",
    ],
)
def test_reply_token_is_none_for_other_addresses(address):
    assert reply_token_from_address(address, ["support@example.com", "help@example.com"]) is None


def test_reply_token_matches_any_of_several_support_addresses():
    assert (
        reply_token_from_address("help+t1@example.com", ["support@example.com", "help@example.com"]) == "t1"
    )


# -- sub-addressing (one helper for ticket replies and survey replies) ---------------


@pytest.mark.parametrize(
    ("address", "parts"),
    [
        ("support+eu@Example.com", ("support", "eu", "Example.com")),
        ("support@example.com", ("support", "", "example.com")),
        ('"Support" <help+a+b@example.com>', ("help", "a+b", "example.com")),
        ("support", None),
        ("a@b@c", None),
        ("two words@example.com", None),
        ("", None),
    ],
)
def test_split_sub_address(address, parts):
    assert split_sub_address(address) == parts


def test_with_sub_address_replaces_an_existing_tag_and_keeps_case():
    assert with_sub_address("Help+eu@Acme.example", "survey-1") == "Help+survey-1@Acme.example"
    with pytest.raises(ValueError, match="not an email address"):
        with_sub_address("help", "x")
