"""The errors users see. Each message names the input and says the fix."""


class DossierError(Exception):
    """A user-facing problem: bad input, a mismatched store, a bad setting, a store or model that failed."""


class InputError(DossierError):
    """The request cannot be served as given, and the fix is the caller's: an empty question, filters
    that match too much (an HTTP server answers it with 400, not as its own failure)."""


class NotFound(InputError):
    """What was asked for is not in the library: an article id, or any article the filters allow (404)."""
