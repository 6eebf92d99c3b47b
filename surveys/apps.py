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
