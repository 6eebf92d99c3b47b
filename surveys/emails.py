"""The survey invitation email: HTML and plain-text alternatives with one link per score.

Rendered when the invitation is due and handed to the outbox (tickets/outbox/) as it will be sent.
"""

from django.template.loader import render_to_string

from surveys import scoring
from surveys.models import SCALE_LABELS, SurveyInvitation
from surveys.tokens import survey_message_id, survey_reply_address, survey_url
from tickets.outbox.services import EmailContent


def survey_email(invitation: SurveyInvitation) -> EmailContent:
    ticket = invitation.ticket
    kind = invitation.primary_kind
    low, high = scoring.SCALES[kind]
    labels = SCALE_LABELS[kind]
    choices = [
        {"score": score, "label": labels.get(score, ""), "url": survey_url(invitation, score)}
        for score in range(low, high + 1)
    ]
    context = {
        "invitation": invitation,
        "ticket": ticket,
        "customer": ticket.customer,
        "question": invitation.question(kind),
        "choices": choices,
        "low_label": labels[low],
        "high_label": labels[high],
        "survey_url": survey_url(invitation),
        "scale": f"{low}-{high}",
        "has_more_questions": len(invitation.kinds) > 1,
    }
    subject = render_to_string("surveys/email_subject.txt", context).strip()
    return EmailContent(
        subject=" ".join(subject.split()),
        body_text=render_to_string("surveys/email.txt", context),
        body_html=render_to_string("surveys/email.html", context),
        to=[ticket.customer.email],
        reply_to=[survey_reply_address(invitation)],
        headers={
            "Message-ID": survey_message_id(invitation),
            # RFC 3834: an automatic message; well-behaved autoresponders don't answer it.
            "Auto-Submitted": "auto-generated",
            "X-Auto-Response-Suppress": "OOF, AutoReply",
        },
    )
