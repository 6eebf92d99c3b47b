from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "surveys"
    verbose_name = "Surveys"

    def ready(self) -> None:
        from surveys import receivers
        from tickets import hooks

        # In the solving transaction: the invitation is the survey's durable timer (see tickets/hooks.py).
        hooks.connect(hooks.STATUS_CHANGED, receivers.on_status_changed)
        hooks.connect(hooks.INBOUND_MAIL, receivers.claim_survey_reply)
        # In the transaction that records the outbox outcome of a survey email.
        hooks.connect(hooks.OUTBOUND_SENT, receivers.on_outbound_sent)
        hooks.connect(hooks.OUTBOUND_FAILED, receivers.on_outbound_failed)
