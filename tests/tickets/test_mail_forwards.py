"""tickets.mail.forwards: who forwarded what, and attached messages read as messages (no Django)."""

import pytest

from tickets.mail.forwards import attached_message, is_forward_subject, split_forward

FORWARDED_HEADERS = (
    "From: Bob Buyer <bob@example.com>\nDate: Mon, Apr 2, 2012 at 2:20 PM\nSubject: Order 42\n"
    "To: Shop <shop@example.com>\n\nMy order 42 never arrived.\n"
)


@pytest.mark.parametrize(
    "marker",
    [
        "---------- Forwarded message ---------",  # Gmail
        "-------- Forwarded Message --------",  # Thunderbird
        "Begin forwarded message:",  # Apple Mail
        "---------- Weitergeleitete Nachricht ----------",
        "-------- Message transféré --------",
        "---------- Mensaje reenviado ---------",
        "-------- Messaggio inoltrato --------",
        "-------- Doorgestuurd bericht --------",
    ],
)
def test_an_inline_forward_names_the_forwarded_sender_date_and_subject(marker):
    forward = split_forward(f"Please look at this.\n\n{marker}\n{FORWARDED_HEADERS}")

    assert forward.note == "Please look at this."
    assert forward.message.sender == "Bob Buyer <bob@example.com>"
    assert forward.message.date == "Mon, Apr 2, 2012 at 2:20 PM"
    assert forward.message.subject == "Order 42"
    assert forward.message.recipients == "Shop <shop@example.com>"
    assert forward.message.text == "My order 42 never arrived."


def test_localized_header_labels_of_the_forwarded_message_are_read():
    text = (
        "Zur Info\n\n---------- Weitergeleitete Nachricht ---------\nVon: Bob <bob@example.com>\n"
        "Datum: Mo., 2. Apr. 2012 um 14:20 Uhr\nBetreff: Bestellung 42\nAn: <shop@example.com>\n\n"
        "Wo bleibt sie?\n"
    )
    forward = split_forward(text)
    assert (forward.message.sender, forward.message.subject) == ("Bob <bob@example.com>", "Bestellung 42")


def test_an_outlook_block_is_a_forward_only_when_the_subject_says_so():
    text = (
        "Can you handle this?\n\n________________________________\nFrom: Bob <bob@example.com>\n"
        "Sent: Monday, April 2, 2012 2:20 PM\nTo: Sales\nSubject: Order 42\n\nIt never arrived.\n"
    )
    forward = split_forward(text, subject="FW: Order 42")
    assert forward.note == "Can you handle this?"
    assert forward.message.sender == "Bob <bob@example.com>"
    assert forward.message.text == "It never arrived."
    assert split_forward(text, subject="RE: Order 42") is None  # the same block under Re: is reply history


@pytest.mark.parametrize(
    "subject", ["Fwd: x", "FW: x", "WG: x", "TR: x", "RV: x", "I: x", "Doorst: x", "转发: x"]
)
def test_forward_subject_prefixes_in_several_languages(subject):
    assert is_forward_subject(subject)


@pytest.mark.parametrize("subject", ["Re: x", "Forward planning", "Fwiw this", "Invoice"])
def test_other_subjects_are_not_forwards(subject):
    assert not is_forward_subject(subject)


def test_text_without_a_forward_has_none():
    assert split_forward("Hello,\n\nmy printer is on fire.\n") is None
    assert split_forward("") is None
    # A marker with no header block naming a sender is not enough to say who wrote the forwarded part.
    assert split_forward("---------- Forwarded message ---------\nno headers here\n") is None


def test_an_attached_message_is_summarised_like_a_message():
    raw = (
        b"From: Bob Buyer <bob@example.com>\r\nTo: shop@example.com\r\nSubject: Order 42\r\n"
        b"Date: Mon, 02 Apr 2012 14:20:00 +0000\r\nMessage-ID: <o42@example.com>\r\n\r\nIt never arrived.\r\n"
    )
    summary = attached_message(raw)
    assert summary.sender == "Bob Buyer <bob@example.com>"
    assert summary.subject == "Order 42"
    assert summary.date == "Mon, 02 Apr 2012 14:20 +0000"
    assert summary.recipients == "shop@example.com"
    assert summary.text == "It never arrived."


def test_bytes_that_are_not_a_message_have_no_summary():
    assert attached_message(b"\x00\x01 binary junk") is None
