"""The command line run as a user runs it, expecting a usage error: its exit code and one line."""

import contextlib
import io

from cli import main as cli


def usage_error(argv: list[str]) -> str:
    """Runs ``household-sounds ARGV``; asserts it exits ``EXIT_USAGE`` without a traceback.

    Returns:
        The error line it printed on stderr (``household-sounds COMMAND: ...``).
    """
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        code = cli.main(argv)
    text = stderr.getvalue()
    assert code == cli.EXIT_USAGE, (code, text)
    assert "Traceback" not in text, text
    (line,) = [line for line in text.splitlines() if line.startswith("household-sounds ")]
    return line
