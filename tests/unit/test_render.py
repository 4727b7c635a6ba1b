"""Log prefixes (padding, colour rotation, partial lines) and the plain/json progress formats."""
import io
import json

import pytest

from compose.render.logs import COLOURS, LogPrinter
from compose.render.progress import make_progress


def test_prefix_padded_to_longest_name_and_colours_rotate():
    out = io.StringIO()
    p = LogPrinter(out, colour=True)
    for n in ("p-web-1", "p-database-1"):
        p.register(n)
    p.line("p-web-1", "hello")
    p.line("p-database-1", "ready")
    a, b = out.getvalue().splitlines()
    assert a == f"\x1b[{COLOURS[0]}mp-web-1       | \x1b[0mhello"
    assert b == f"\x1b[{COLOURS[1]}mp-database-1  | \x1b[0mready"


def test_no_color_no_prefix_and_partial_lines():
    out = io.StringIO()
    p = LogPrinter(out, colour=False)
    p.data("a", "stdout", b"one\ntw")
    p.data("a", "stdout", b"o\n")
    assert out.getvalue() == "a  | one\na  | two\n"
    out2 = io.StringIO()
    q = LogPrinter(out2, colour=False, prefix=False)
    q.data("a", "stdout", b"x\nunterminated")
    q.flush_partial("a")
    assert out2.getvalue() == "x\nunterminated\n"


@pytest.mark.parametrize("mode, event, shown", [
    ("plain", ("Container", "p-web-1", "Started"), " Container p-web-1  Started\n"),
    ("auto", ("Volume", "p_data", "Created"), " Volume p_data  Created\n"),
    ("quiet", ("Container", "x", "Started"), ""),
], ids=["plain", "auto-is-plain-when-not-a-terminal", "quiet"])
def test_progress_lines(mode, event, shown):
    out = io.StringIO()
    make_progress(mode, out).event(*event)
    assert out.getvalue() == shown


def test_json_progress():
    out = io.StringIO()
    make_progress("json", out).event("Network", "p_default", "Created")
    assert json.loads(out.getvalue()) == {"id": "Network p_default", "text": "Created", "status": "Created"}


def test_colour_choice():
    from compose.render.logs import use_colour

    tty, pipe = io.StringIO(), io.StringIO()
    tty.isatty = lambda: True
    assert use_colour(False, "auto", tty) and not use_colour(False, "auto", pipe)
    assert use_colour(False, "always", pipe) and not use_colour(False, "never", tty)
    assert not use_colour(True, "always", tty)  # --no-color wins
