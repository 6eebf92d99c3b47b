"""Logging filters used by settings.LOGGING."""

import logging


class ClientErrorsWithoutTraceback(logging.Filter):
    """A 403 or 404 is the client's mistake, not a fault: keep Django's one-line warning, drop the traceback
    (Django attaches the PermissionDenied/Http404 exception to it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.ERROR:
            record.exc_info = None
            record.exc_text = None
        return True
