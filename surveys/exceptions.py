"""Survey errors; each message says what was wrong and what the customer or caller can do."""

from tickets.exceptions import DomainError


class SurveyError(DomainError):
    """A survey request the domain refuses."""


class InvalidSurveyToken(SurveyError):
    """The token is malformed, was tampered with or names no sent survey."""


class SurveyExpired(SurveyError):
    """The survey's answering period is over."""


class InvalidSurveyAnswer(SurveyError):
    """A score outside the question's scale, or a question this survey does not ask."""
