"""The one error users see. Each message names the input and says the fix."""


class DossierError(Exception):
    """A user-facing problem: bad input, a mismatched store, a bad setting."""
