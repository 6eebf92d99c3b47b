"""tickets.mail.classify: auto-replies, bulk mail, bounces, own addresses (no Django)."""

import json
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


# -- real automated mail that used to look human (sisimai/set-of-emails, BSD-2-Clause) --------------

AUTOMATED = Path(__file__).resolve().parents[1] / "data" / "automated-mail" / "sisimai" / "automated"


def _sisimai(name: str):
    return classify(parse_email((AUTOMATED / name).read_bytes()))


def test_dsn_from_a_daemon_without_an_address_is_a_bounce():
    # "From: MAILER-DAEMON <>" (DragonFly Mail Agent): no usable From address, no DSN part.
    result = _sisimai("lhost-dragonfly-01.eml")
    assert result.is_bounce
    assert result.reason == "bounce (mailer-daemon)"


def test_dsn_whose_mime_headers_were_lost_is_read_from_its_text():
    # "From: Mail Delivery Subsystem <MAILER-DAEMON>" and no Content-Type: the report is plain text.
    result = _sisimai("lhost-sendmail-53.eml")
    assert result.is_bounce
    assert result.delivery_status.failed_recipients == ("sironeko@example.com",)
    assert result.delivery_status.status == "5.0.0"
    assert result.delivery_status.permanent


def test_return_path_of_a_mail_system_alone_marks_a_bounce():
    raw = _message(
        "Return-Path: <MAILER-DAEMON@mx.example.net>",
        body="Your message could not be delivered.\n550 5.1.1 <bob@example.net>: user unknown\n",
    ).replace(b"From: Customer <customer@example.org>\r\n", b"")
    result = classify(parse_email(raw))
    assert result.is_bounce


@pytest.mark.parametrize("name", ["lhost-kddi-01.eml", "lhost-trendmicro-01.eml", "lhost-verizon-02.eml"])
def test_carrier_and_gateway_bounces_without_dsn_are_bounces(name):
    assert _sisimai(name).is_bounce


@pytest.mark.parametrize(
    ("name", "subject"),
    [
        ("arf-22.eml", "complaint about message from 192.0.2.222"),  # Hotmail JMRP, multipart/mixed
        ("arf-15.eml", "Abuse Report"),  # ARF multipart/report
        ("arf-18.eml", "DMARC Forensic report for example.net Mail-From:sironeko@exa"),
    ],
)
def test_feedback_reports_are_automated_whatever_their_subject_says(name, subject):
    result = _sisimai(name)
    assert result.auto_generated
    assert result.is_feedback_report
    assert not result.is_bounce
    assert result.reason.startswith("feedback report")


def test_amazon_ses_json_bounce_notification_is_a_bounce_with_its_recipient():
    result = _sisimai("lhost-amazonses-09.eml")  # its JSON line was broken by sendmail ("!\n ")
    assert result.is_bounce
    assert result.reason == "provider notification (Amazon SES: Bounce)"
    assert result.delivery_status.failed_recipients == ("bounce@simulator.amazonses.com",)
    assert result.delivery_status.status == "5.1.1"
    assert result.delivery_status.diagnostic == "550 5.1.1 user unknown"


@pytest.mark.parametrize(
    ("name", "kind"), [("lhost-amazonses-11.eml", "Complaint"), ("lhost-amazonses-12.eml", "Delivery")]
)
def test_amazon_ses_json_complaint_and_delivery_notifications_are_automated(name, kind):
    result = _sisimai(name)
    assert result.auto_generated
    assert not result.is_bounce
    assert result.reason == f"provider notification (Amazon SES: {kind})"
    assert result.is_feedback_report == (kind == "Complaint")


def test_ses_json_bounce_names_the_message_id_we_sent():
    event = {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bouncedRecipients": [{"emailAddress": "Alice@Example.com", "diagnosticCode": "smtp; 550 no"}],
        },
        "mail": {"headers": [{"name": "Message-ID", "value": "<HD-7.abc@helpdesk.example>"}]},
    }
    sns = {"Type": "Notification", "Message": json.dumps(event)}
    result = classify(parse_email(_message(body=json.dumps(sns) + "\n\n--\nunsubscribe: https://x\n")))
    assert result.is_bounce
    assert result.delivery_status.original_message_id == "HD-7.abc@helpdesk.example"
    assert result.delivery_status.failed_recipients == ("alice@example.com",)
    assert result.delivery_status.permanent


def test_a_customer_pasting_json_is_not_a_provider_notification():
    assert not _classify(body='{"order": 42, "status": "lost"}\n').auto_generated


@pytest.mark.parametrize("name", ["lhost-fml-02.eml", "lhost-fml-03.eml"])
def test_mailing_list_manager_notices_are_automated(name):
    # "You ... are not member (neko-nyaan ML)" and "Loop Alert: Duplicated Message-ID"
    result = _sisimai(name)
    assert result.auto_generated
    assert "mailing-list manager notice" in result.reasons


def test_an_admin_address_without_list_server_headers_is_a_person():
    raw = _message().replace(b"customer@example.org", b"it-admin@example.org")
    assert not classify(parse_email(raw)).auto_generated


def test_a_person_forwarding_a_bounce_is_not_automated():
    assert not _sisimai("lhost-sendmail-14.eml").auto_generated


@pytest.mark.parametrize(
    "subject",
    [
        "Auto reply: Nyaan",
        "Automatic reply: Your order",
        "Autoreply: Help",
        "Out of Office: Help",
        "Abwesenheitsnotiz: Ihre Anfrage",
        "Automatische Antwort: Ihre Anfrage",
        "Réponse automatique : votre demande",
        "Risposta automatica: richiesta",
        "Respuesta automática: solicitud",
        "Resposta automática: pedido",
        "Automatisch antwoord: vraag",
        "Automatisk svar: fråga",
        "Automaattinen vastaus: kysymys",
        "Automatyczna odpowiedź: pytanie",
        "Автоответ: вопрос",
        "自動応答: お問い合わせ",
        "自动回复：咨询",  # noqa: RUF001 (the full-width colon is the point)
        "[EXTERNAL] Automatic reply: Help",
    ],
)
def test_localized_auto_reply_subject_prefix_marks_an_auto_reply(subject):
    raw = _message().replace(b"Subject: Help", f"Subject: {subject}".encode())
    result = classify(parse_email(raw))
    assert result.auto_generated
    assert result.reason == "auto-reply subject"


@pytest.mark.parametrize(
    "subject", ["Re: auto reply is not working", "Automatic replies to my tickets?", "Outgoing mail"]
)
def test_subjects_about_auto_replies_are_not_auto_replies(subject):
    raw = _message().replace(b"Subject: Help", f"Subject: {subject}".encode())
    assert not classify(parse_email(raw)).auto_generated


def test_amazon_ses_bounce_wrapped_in_a_raw_sns_envelope_is_a_bounce():
    result = _sisimai("lhost-amazonses-10.eml")
    assert result.is_bounce
    assert result.delivery_status.failed_recipients


@pytest.mark.parametrize("subject", ["Re: Undelivered Mail Returned to Sender", "Payment rejected"])
def test_a_person_replying_about_a_bounce_with_a_message_attached_is_not_a_bounce(subject):
    original = b"From: shop@example.com\r\nSubject: Order\r\n\r\nYour order.\r\n"
    raw = (
        (
            "From: Customer <customer@example.org>\r\nTo: support@example.com\r\n"
            f"Subject: {subject}\r\nMessage-ID: <m2@example.org>\r\nMIME-Version: 1.0\r\n"
            'Content-Type: multipart/mixed; boundary="B"\r\n\r\n'
            "--B\r\nContent-Type: text/plain\r\n\r\nWhy did this happen?\r\n"
            "--B\r\nContent-Type: message/rfc822\r\n\r\n"
        ).encode()
        + original
        + b"--B--\r\n"
    )
    assert not classify(parse_email(raw)).auto_generated


def test_a_subject_that_merely_mentions_absence_is_not_an_auto_reply():
    raw = _message().replace(b"Subject: Help", b"Subject: Absence: my sick note")
    assert not classify(parse_email(raw)).auto_generated
