from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo data set (`manage.py seed_demo`): the one place allowed to write tickets, SLA and surveys
    together, because it stands outside all three."""

    name = "demo"
    verbose_name = "Demo data"
