"""Domain errors raised by the services; the API maps them to 400/409 in one handler."""


class DomainError(Exception):
    """A request the domain refuses; the message says what was wrong and what to do."""


class TicketClosedError(DomainError):
    pass


class InvalidAssignmentError(DomainError):
    pass


class MergeError(DomainError):
    pass


class CustomerIdentityError(DomainError):
    """An email address, phone number or handle that cannot identify a customer."""


class CustomerMergeRefused(DomainError):
    """A customer merge the actor may not make (not a lead or admin, or customers outside their teams)."""
