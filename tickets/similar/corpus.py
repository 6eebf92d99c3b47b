"""A generator of solved tickets in known duplicate groups, to measure similar-ticket ranking (pure).

Each group is one underlying problem written many ways: paraphrased subjects and descriptions, order
numbers, quoted history of other conversations and signatures (which the ranking must ignore), and
words shared with other groups (invoice, account, login...) so near-misses exist. Deterministic for a
seed. A quarter of the subjects are vague ("Question", "Help needed"). Used by the precision@5 test and by
bench/similar_bench.py.
"""

import random
from collections.abc import Iterator
from dataclasses import dataclass

GROUPS: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "double-charge": (
        ("Charged twice for invoice {n}", "Double payment on my card", "Invoice {n} billed two times"),
        (
            "My credit card shows two identical charges for invoice {n}. Please refund the duplicate.",
            "We were billed twice this month, the same amount appears two times on the card statement.",
            "Your system took the payment for invoice {n} twice. I need one of the charges reversed.",
        ),
        "Hi {first}, I have refunded the duplicate charge; it will be back on your card in 5 days.",
    ),
    "vat-missing": (
        ("VAT number missing on invoice {n}", "Invoice without our VAT ID", "Need VAT on the invoice"),
        (
            "Our accountant needs the VAT registration number printed on invoice {n}.",
            "The invoice does not show our company VAT ID, can you reissue it with the tax number?",
            "Please add our VAT identification to invoice {n}, the tax office requires it.",
        ),
        "Hi {first}, I reissued the invoice with your VAT number; the corrected PDF is attached.",
    ),
    "invoice-pdf": (
        ("Cannot download invoice PDF", "Invoice {n} PDF link broken", "Download of invoice fails"),
        (
            "When I click download on invoice {n} the PDF is empty or gives an error.",
            "The invoice PDF will not open, the download link shows a blank page.",
            "Downloading our invoices fails with an error since yesterday.",
        ),
        "Hi {first}, the PDF generator had a fault; it is fixed and the download works again.",
    ),
    "password-reset": (
        ("Password reset email not arriving", "No reset link received", "Forgot password mail missing"),
        (
            "I requested a password reset three times but the email never arrives, not even in spam.",
            "The forgot password link does not send me any email, I cannot log in.",
            "Reset password mail is not delivered to my inbox.",
        ),
        "Hi {first}, our mail provider blocked the reset emails; I sent you a new reset link just now.",
    ),
    "login-2fa": (
        ("Locked out after changing phone", "2FA codes not accepted", "Two-factor login fails"),
        (
            "I got a new phone and my authenticator codes are rejected, so I cannot sign in.",
            "The two factor authentication code is always invalid when I try to log in.",
            "Since I switched phones the 2FA login says the code is wrong.",
        ),
        "Hi {first}, I reset your two-factor setup; sign in with your password and enrol the new phone.",
    ),
    "export-csv": (
        ("CSV export is empty", "Report export has no rows", "Exported spreadsheet blank"),
        (
            "Exporting the monthly report to CSV gives a file with only the header line.",
            "The export button produces an empty spreadsheet even though the report shows data.",
            "When we export our data as CSV the file has no rows.",
        ),
        "Hi {first}, exports over the date filter limit came out empty; we fixed it, please export again.",
    ),
    "api-rate-limit": (
        ("API returns 429 too many requests", "Rate limit errors on the API", "Hitting API throttling"),
        (
            "Our integration gets HTTP 429 responses from the API after a few hundred calls.",
            "We keep hitting the rate limit on your REST API, requests fail with too many requests.",
            "The API throttles us with 429 errors during our nightly sync.",
        ),
        "Hi {first}, I raised your API rate limit to 20 requests per second; the 429s should stop.",
    ),
    "webhook-signature": (
        ("Webhook signature does not verify", "Invalid webhook HMAC", "Cannot validate webhook signature"),
        (
            "The HMAC signature header on your webhooks never matches what we compute with our secret.",
            "Our endpoint rejects the webhooks because the signature verification fails.",
            "Webhook signatures are invalid when we check them with the shared secret.",
        ),
        "Hi {first}, the signature covers the raw body; compute the HMAC before parsing the JSON.",
    ),
    "refund-status": (
        ("Refund for order {n} not received", "Where is my refund", "Still waiting on refund"),
        (
            "I returned order {n} two weeks ago and still have not received the refund.",
            "The refund you promised for my return has not reached my bank account yet.",
            "Can you check the status of the refund for order {n}? Nothing arrived so far.",
        ),
        "Hi {first}, the refund for your return was issued today and takes 3-5 business days.",
    ),
    "address-change": (
        ("Change billing address", "Update our invoice address", "New office address for billing"),
        (
            "We moved offices, please update the billing address on our account.",
            "Our invoices should go to our new address from now on.",
            "Please change the address printed on invoices to our new office.",
        ),
        "Hi {first}, your billing address is updated and the next invoice will use it.",
    ),
    "sso-setup": (
        ("SAML single sign-on setup", "Configure SSO with Okta", "SSO login not working"),
        (
            "We want to set up SAML single sign-on with Okta for our team; where is the metadata?",
            "Our SSO login through the identity provider fails with an assertion error.",
            "How do we configure single sign-on for our account with our identity provider?",
        ),
        "Hi {first}, SSO is enabled; use the metadata URL in Settings > Security and map the email claim.",
    ),
    "slow-dashboard": (
        ("Dashboard very slow", "Dashboard takes a minute to load", "Slow loading dashboard"),
        (
            "The dashboard takes more than a minute to load every morning.",
            "Loading the main dashboard is extremely slow for all our users.",
            "Our dashboard page hangs and loads very slowly since the update.",
        ),
        "Hi {first}, a slow query on large accounts caused it; the fix is deployed, loads are fast again.",
    ),
    "seat-upgrade": (
        ("Add more user seats", "Upgrade plan for more users", "Need additional licenses"),
        (
            "We need ten more user seats on our plan, how do we add them?",
            "Our team grew, please upgrade us so we can invite more users.",
            "How can we buy additional licenses for new colleagues?",
        ),
        "Hi {first}, I added the seats to your plan; invite your colleagues from the Users page.",
    ),
    "mobile-crash": (
        ("App crashes on startup", "Mobile app closes immediately", "iOS app crash when opening"),
        (
            "The mobile app crashes as soon as I open it on my iPhone.",
            "Since the last update the app closes immediately after the splash screen.",
            "Our phones crash when starting the app, we cannot use it anymore.",
        ),
        "Hi {first}, version 4.2.1 fixes the startup crash; please update the app from the store.",
    ),
    "email-notifications": (
        ("Not receiving notification emails", "Email alerts stopped", "No more notification mails"),
        (
            "We stopped getting email notifications when a task is assigned to us.",
            "Notification emails no longer arrive for any of our users.",
            "Our alerts by email have stopped completely since Monday.",
        ),
        "Hi {first}, your domain bounced our mails and notifications were paused; they are re-enabled.",
    ),
    "data-deletion": (
        ("Delete our account data", "GDPR deletion request", "Please erase my personal data"),
        (
            "Under GDPR I ask you to delete all personal data you hold about me.",
            "We are leaving and want our account and all data deleted.",
            "Please erase my personal information from your systems.",
        ),
        "Hi {first}, your data is deleted; the confirmation of erasure is attached for your records.",
    ),
}

QUOTES = (
    "On Tue, Support wrote:\n> Thanks for contacting us about your dashboard and login.\n> Best, the team",
    "-----Original Message-----\nFrom: billing@example.com\nSubject: Your invoice and payment\n\nPlease pay.",
)
SIGNATURES = (
    "-- \nKim Larsen\nHead of Finance, Northwind Traders\n+45 1234 5678",
    "Sent from my iPhone",
    "-- \nBest regards\nOmar\nIT department | refund policy: see website",
)
# Subjects that say nothing about the problem: the ranking must then rely on the customer's words.
VAGUE_SUBJECTS = ("Problem with my account", "Question", "Help needed", "Urgent issue", "Support request")
FIRST_NAMES = ("Ada", "Ben", "Carla", "Dana", "Emil", "Freya", "Hugo", "Ines", "Jonas", "Kai", "Lina", "Omar")


@dataclass(frozen=True)
class CorpusTicket:
    group: str
    subject: str
    body: str
    reply: str
    customer_first_name: str
    csat: int | None
    age_days: int


def generate(count: int, seed: int = 7) -> Iterator[CorpusTicket]:
    """`count` solved tickets drawn evenly from the groups, with noise."""
    rng = random.Random(seed)
    names = list(GROUPS)
    for index in range(count):
        group = names[index % len(names)]
        subjects, bodies, reply = GROUPS[group]
        number = rng.randint(1000, 99999)
        first = rng.choice(FIRST_NAMES)
        body = rng.choice(bodies).format(n=number)
        if rng.random() < 0.5:
            body = f"Hello,\n\n{body}\n\nThanks"
        if rng.random() < 0.4:
            body = f"{body}\n\n{rng.choice(SIGNATURES)}"
        if rng.random() < 0.3:
            body = f"{body}\n\n{rng.choice(QUOTES)}"
        subject = rng.choice(VAGUE_SUBJECTS) if rng.random() < 0.25 else rng.choice(subjects).format(n=number)
        yield CorpusTicket(
            group=group,
            subject=subject,
            body=body,
            reply=reply.format(first=first),
            customer_first_name=first,
            csat=rng.choice([None, None, 3, 4, 5, 5, 2]),
            age_days=rng.randint(1, 400),
        )


def precision_at_k(results: list[list[str]], expected: list[str], k: int = 5) -> float:
    """Mean share of each query's top k results that are in the query's own group."""
    if not expected:
        return 0.0
    total = 0.0
    for ranked, group in zip(results, expected, strict=True):
        top = ranked[:k]
        total += sum(1 for found in top if found == group) / k
    return total / len(expected)
