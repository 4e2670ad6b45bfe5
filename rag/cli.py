"""What the command-line shells share."""

import os
import sys
from contextlib import contextmanager


@contextmanager
def quiet_broken_pipe():
    """Output piped into `head` ends quietly, not with a traceback."""
    try:
        yield
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
