# Django's admin autodiscovery imports `tickets.admin`: the registrations live in their own module.
from tickets.admin import registrations  # noqa: F401
