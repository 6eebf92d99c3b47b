"""tickets.mail.classify: auto-replies, bulk mail, bounces, own addresses (no Django)."""

from pathlib import Path

import pytest

from tickets.mail import classify, is_from_own_address, normalize_address, parse_email

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpora"


def _message(*headers: str, body: str = "Hello, my printer is broken.\n") -> bytes:
    lines = [
        "From: Customer <customer@example.org>",
        "To: support@example.com",
        "Subject: Help",
        "Message-ID: <m1@example.org>",
        *headers,
    ]
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def _classify(*headers: str, **kwargs):
    return classify(parse_email(_message(*headers, **kwargs)))


def test_mail_from_a_person_is_not_auto_generated():
    result = _classify()
    assert not result.auto_generated
    assert result.reason == ""
    assert result.reasons == ()
    assert not result.is_bulk
    assert not result.is_bounce
    assert result.delivery_status is None


@pytest.mark.parametrize(
    ("header", "reason", "bulk"),
    [
        ("Auto-Submitted: auto-replied", "Auto-Submitted: auto-replied", False),
        ("Auto-Submitted: auto-generated", "Auto-Submitted: auto-generated", False),
        ("Auto-Submitted: Auto-Replied; owner-email=x@example.org", "Auto-Submitted: auto-replied", False),
        ("X-Autoreply: yes", "X-Autoreply", False),
        ("X-Autorespond: Out of office", "X-Autorespond", False),
        ("Precedence: bulk", "Precedence: bulk", True),
        ("Precedence: junk", "Precedence: junk", True),
        ("Precedence: list", "Precedence: list", True),
        ("Precedence: auto_reply", "Precedence: auto_reply", False),
        ("X-Auto-Response-Suppress: All", "X-Auto-Response-Suppress", False),
        ("X-Auto-Response-Suppress: OOF, AutoReply", "X-Auto-Response-Suppress", False),
        ("X-Auto-Response-Suppress: DR", "X-Auto-Response-Suppress", False),
        ("Return-Path: <>", "empty Return-Path", False),
        ("List-Id: Riak Users <riak-users.lists.basho.com>", "List-Id", True),
        ("List-Unsubscribe: <mailto:leave@example.org>", "List-Unsubscribe", True),
    ],
)
def test_each_rule_marks_the_message_as_auto_generated_with_its_reason(header, reason, bulk):
    result = _classify(header)
    assert result.auto_generated
    assert result.reason == reason
    assert result.is_bulk is bulk
    assert not result.is_bounce


@pytest.mark.parametrize(
    "header",
    ["Auto-Submitted: no", "Auto-Submitted: No", "Precedence: first-class", "Return-Path: <c@example.org>"],
)
def test_headers_that_do_not_mean_automation_are_ignored(header):
    assert not _classify(header).auto_generated


def test_all_matching_rules_are_listed_in_order():
    result = _classify("Auto-Submitted: auto-replied", "Precedence: bulk", "Return-Path: <>")
    assert result.reasons == ("Auto-Submitted: auto-replied", "Precedence: bulk", "empty Return-Path")
    assert result.reason == "Auto-Submitted: auto-replied"


def test_read_receipt_report_is_auto_generated_but_not_a_bounce():
    raw = _message(
        "MIME-Version: 1.0",
        'Content-Type: multipart/report; report-type=disposition-notification; boundary="b"',
        body=(
            "--b\r\nContent-Type: text/plain\r\n\r\nYour message was displayed.\r\n"
            "--b\r\nContent-Type: message/disposition-notification\r\n\r\n"
            "Final-Recipient: rfc822; support@example.com\r\nDisposition: manual-action/MDN-sent-manually; "
            "displayed\r\n\r\n--b--\r\n"
        ),
    )
    result = classify(parse_email(raw))
    assert result.auto_generated
    assert result.reason == "multipart/report (disposition-notification)"
    assert not result.is_bounce


# -- corpus ---------------------------------------------------------------------------


def _corpus(name: str):
    return classify(parse_email((CORPUS / name).read_bytes()))


def test_newsletter_with_list_headers_is_classified_as_bulk():
    result = _corpus("mail-parser/mail_test_13.eml")
    assert result.auto_generated and result.is_bulk
    assert result.reasons == ("List-Id", "List-Unsubscribe")


def test_marketing_mail_with_precedence_bulk_is_classified_as_bulk():
    result = _corpus("mail-parser/mail_test_5.eml")
    assert result.is_bulk
    assert result.reason == "Precedence: bulk"


def test_gtube_spam_with_precedence_junk_is_classified_as_bulk():
    assert _corpus("mail-parser/mail_test_16.eml").reason == "Precedence: junk"


def test_forum_notification_with_list_id_is_classified_as_bulk():
    assert _corpus("mail-parser/mail_test_6.eml").is_bulk


def test_malformed_bounce_is_detected_with_the_original_message_id():
    result = _corpus("mail-parser/mail_malformed_2.eml")
    assert result.is_bounce and result.auto_generated
    assert result.reason == "multipart/report (delivery-status)"
    assert "empty Return-Path" in result.reasons
    status = result.delivery_status
    assert status is not None
    assert status.original_message_id == "004801d1fc84$01c934ac$b247f0b7$@infospacemail.com"
    assert status.failed_recipients == ("abh@netpar.com.br",)
    assert status.action == "failed"
    assert status.status == "4.2.2"
    assert status.reporting_mta == "apus.netpar.com.br"
    assert not status.permanent  # mailbox full: a 4.x.x (transient) status


@pytest.mark.parametrize(
    "name",
    [
        "django-helpdesk/quoted_printable.eml",
        "django-helpdesk/pgp.eml",
        "talon/standard_replies/gmail.eml",
        "talon/standard_replies/outlook.eml",
        "mail-parser/mail_test_3.eml",
    ],
)
def test_ordinary_replies_in_the_corpus_are_not_auto_generated(name):
    assert not _corpus(name).auto_generated


# -- standard DSNs ------------------------------------------------------------------------

DSN = (
    "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\n"
    "To: support@example.com\r\n"
    "Subject: Undelivered Mail Returned to Sender\r\n"
    "Auto-Submitted: auto-replied\r\n"
    "MIME-Version: 1.0\r\n"
    'Content-Type: multipart/report; report-type=delivery-status; boundary="DSN"\r\n'
    "\r\n"
    "--DSN\r\n"
    "Content-Type: text/plain\r\n\r\n"
    "I'm sorry to have to inform you that your message could not be delivered.\r\n"
    "--DSN\r\n"
    "Content-Type: message/delivery-status\r\n\r\n"
    "Reporting-MTA: dns; mx.example.org\r\n"
    "Arrival-Date: Mon, 2 Apr 2012 18:22:10 +0400\r\n\r\n"
    "Final-Recipient: rfc822; Gone@Example.net\r\n"
    "Original-Recipient: rfc822;gone@example.net\r\n"
    "Action: failed\r\n"
    "Status: 5.1.1\r\n"
    "Remote-MTA: dns; mx.example.net\r\n"
    "Diagnostic-Code: smtp; 550 5.1.1 <gone@example.net>: Recipient address\r\n"
    "    rejected: User unknown\r\n\r\n"
    "Final-Recipient: rfc822; late@example.net\r\n"
    "Action: delayed\r\n"
    "Status: 4.4.1\r\n\r\n"
    "--DSN\r\n"
    "{original}"
    "--DSN--\r\n"
)
ORIGINAL_RFC822 = (
    "Content-Type: message/rfc822\r\n\r\n"
    "From: support@example.com\r\nTo: gone@example.net\r\n"
    "Subject: [#HD-1042] Your ticket\r\nMessage-ID: <HD-1042.abc@example.com>\r\n\r\nBody\r\n"
)
ORIGINAL_HEADERS = (
    "Content-Type: text/rfc822-headers\r\n\r\n"
    "From: support@example.com\r\nMessage-ID: <HD-7.def@example.com>\r\nSubject: x\r\n\r\n"
)


def test_rfc3464_bounce_reports_failed_recipient_status_and_diagnostic():
    result = classify(parse_email(DSN.format(original=ORIGINAL_RFC822).encode()))
    assert result.is_bounce
    assert result.reason == "multipart/report (delivery-status)"
    status = result.delivery_status
    assert status.original_message_id == "HD-1042.abc@example.com"
    assert status.failed_recipients == ("gone@example.net",)
    assert status.action == "failed"
    assert status.status == "5.1.1"
    assert status.permanent
    assert status.diagnostic == "550 5.1.1 <gone@example.net>: Recipient address rejected: User unknown"
    assert status.reporting_mta == "mx.example.org"
    assert [r.action for r in status.recipients] == ["failed", "delayed"]
    assert status.recipients[0].original_address == "gone@example.net"
    assert status.recipients[0].remote_mta == "mx.example.net"
    assert status.recipients[1].status == "4.4.1"


def test_bounce_original_message_id_is_read_from_text_rfc822_headers():
    result = classify(parse_email(DSN.format(original=ORIGINAL_HEADERS).encode()))
    assert result.delivery_status.original_message_id == "HD-7.def@example.com"


def test_bounce_without_original_part_falls_back_to_in_reply_to():
    raw = DSN.format(original="Content-Type: text/plain\r\n\r\nno original\r\n")
    raw = raw.replace("Subject:", "In-Reply-To: <HD-9.zzz@example.com>\r\nSubject:", 1)
    result = classify(parse_email(raw.encode()))
    assert result.delivery_status.original_message_id == "HD-9.zzz@example.com"


def test_bounce_without_any_original_reference_has_no_original_message_id():
    raw = DSN.format(original="Content-Type: text/plain\r\n\r\nno original\r\n")
    assert classify(parse_email(raw.encode())).delivery_status.original_message_id is None


def test_legacy_bounce_without_dsn_is_detected_from_mailer_daemon_and_subject():
    raw = (
        b"Return-Path: <>\r\n"
        b"From: MAILER-DAEMON@mx.example.org\r\n"
        b"To: support@example.com\r\n"
        b"Subject: failure notice\r\n"
        b"X-Failed-Recipients: gone@example.net\r\n\r\n"
        b"Hi. This is the qmail-send program. I'm afraid I wasn't able to deliver your message.\r\n"
        b"<gone@example.net>:\r\nSorry, no mailbox here by that name.\r\n\r\n"
        b"--- Below this line is a copy of the message.\r\n\r\n"
        b"Message-ID: <HD-1042.abc@example.com>\r\nSubject: [#HD-1042] x\r\n"
    )
    result = classify(parse_email(raw))
    assert result.is_bounce
    assert result.reason == "bounce (mailer-daemon)"
    assert result.delivery_status.original_message_id == "HD-1042.abc@example.com"
    assert result.delivery_status.failed_recipients == ("gone@example.net",)


def test_out_of_office_from_a_person_is_not_a_bounce():
    result = _classify("Auto-Submitted: auto-replied", body="I am out of the office until Monday.\n")
    assert result.auto_generated and not result.is_bounce


# -- own addresses ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sender",
    [
        "support@example.com",
        "Support@Example.COM",
        "support+abc@example.com",
        "SUPPORT+HD-1042@example.com",
    ],
)
def test_mail_from_our_own_address_is_recognised(sender):
    raw = _message().replace(b"customer@example.org", sender.encode())
    assert is_from_own_address(parse_email(raw), ["support@example.com"])


def test_own_address_list_may_itself_use_plus_addressing_and_any_case():
    assert is_from_own_address("support@example.com", ["Support+Out@Example.com"])


@pytest.mark.parametrize(
    "sender", ["customer@example.org", "support@example.org", "supporter@example.com", ""]
)
def test_other_senders_are_not_our_own_address(sender):
    assert not is_from_own_address(sender, ["support@example.com", "help@example.com"])


def test_unparseable_from_is_never_our_own_address():
    raw = _message().replace(b"Customer <customer@example.org>", b"garbage")
    assert not is_from_own_address(parse_email(raw), ["support@example.com"])


def test_normalize_address_drops_plus_tag_brackets_and_case():
    assert normalize_address(" <Support+Tag@Example.COM> ") == "support@example.com"
