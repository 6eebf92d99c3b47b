"""Webhook subscriptions cannot reach internal addresses (SSRF), at configuration and at delivery."""

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ValidationError

from helpdesk.outbound_http import OutboundURLRefused, outbound_url_check
from tests import factories
from tests.http_receiver import Receiver
from tickets.models import WebhookDelivery, WebhookSubscription
from tickets.webhooks import services as webhooks

pytestmark = pytest.mark.django_db
State = WebhookDelivery.State

INTERNAL_URLS = [
    "http://127.0.0.1/hook",
    "http://localhost:8000/hook",
    "http://[::1]/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.5/hook",
    "http://192.168.1.1/hook",
    "http://172.16.0.1/hook",
    "http://0.0.0.0/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://100.64.0.1/hook",
    "http://2130706433/hook",  # 127.0.0.1 as one decimal number
]


@pytest.fixture(autouse=True)
def nothing_allowed(settings):
    settings.HELPDESK_OUTBOUND_HTTP_ALLOWED_HOSTS = []


@pytest.fixture
def no_enqueue(monkeypatch):
    monkeypatch.setattr(webhooks, "_enqueue", lambda pk: None)


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_a_subscription_to_an_internal_address_is_refused(url):
    subscription = WebhookSubscription(name="CRM", url=url, secret="s")

    with pytest.raises(ValidationError) as error:
        subscription.full_clean()

    assert "url" in error.value.message_dict


@pytest.mark.parametrize("url", ["ftp://example.com/hook", "file:///etc/passwd", "gopher://127.0.0.1:6379/_"])
def test_only_http_and_https_are_allowed(url):
    with pytest.raises(OutboundURLRefused, match="Only http and https"):
        outbound_url_check(url)


def test_an_allowed_internal_host_may_be_subscribed(settings):
    settings.HELPDESK_OUTBOUND_HTTP_ALLOWED_HOSTS = ["127.0.0.1"]
    WebhookSubscription(name="CRM", url="http://127.0.0.1:9/hook", secret="s").full_clean()


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/hook", "http://169.254.169.254/latest/meta-data/"])
def test_delivery_to_an_internal_address_is_refused_for_good_without_a_connection(no_enqueue, team, url):
    # Stored directly, as a row written before this protection (or through the ORM) would be.
    WebhookSubscription.objects.create(name="CRM", url=url, secret="s")
    factories.ticket(team=team)

    delivery = webhooks.webhook_deliver(delivery_id=WebhookDelivery.objects.get().pk)

    assert delivery.status == State.FAILED
    assert "loopback, private, link-local or reserved" in delivery.error


def test_a_host_that_resolves_to_an_internal_address_at_delivery_time_is_refused(
    no_enqueue, team, monkeypatch
):
    WebhookSubscription.objects.create(name="CRM", url="https://hooks.example.com/in", secret="s")
    factories.ticket(team=team)
    # DNS rebinding: the name was public when subscribed and points inside now.
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda *args, **kwargs: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", 443))],
    )

    delivery = webhooks.webhook_deliver(delivery_id=WebhookDelivery.objects.get().pk)

    assert delivery.status == State.FAILED
    assert "private" in delivery.error


class Redirector:
    """Answers every POST with a redirect to an internal address, and counts any GET that follows."""

    def __init__(self):
        self.gets = 0
        redirector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                self.send_response(302)
                self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self):
                redirector.gets += 1
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_redirects_are_not_followed(no_enqueue, team, settings):
    settings.HELPDESK_OUTBOUND_HTTP_ALLOWED_HOSTS = ["127.0.0.1"]
    redirector = Redirector()
    try:
        WebhookSubscription.objects.create(name="CRM", url=redirector.url, secret="s")
        factories.ticket(team=team)

        delivery = webhooks.webhook_deliver(delivery_id=WebhookDelivery.objects.get().pk)
    finally:
        redirector.close()

    assert (delivery.status, delivery.response_code) == (State.FAILED, 302)
    assert "redirects are not followed" in delivery.error
    assert redirector.gets == 0


def test_an_allowed_loopback_receiver_gets_the_post(no_enqueue, team, settings):
    settings.HELPDESK_OUTBOUND_HTTP_ALLOWED_HOSTS = ["127.0.0.1"]
    receiver = Receiver()
    try:
        WebhookSubscription.objects.create(name="CRM", url=receiver.url, secret="s")
        factories.ticket(team=team)
        delivery = webhooks.webhook_deliver(delivery_id=WebhookDelivery.objects.get().pk)
    finally:
        receiver.close()

    assert delivery.status == State.DELIVERED
    assert len(receiver.requests) == 1
