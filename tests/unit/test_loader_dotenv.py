""".env parsing with Docker Compose's rules."""
from __future__ import annotations

import pytest

from compose.loader.dotenv import DotenvError, parse, read_env_files

TEXT = r'''
# a comment
PLAIN=value
export EXPORTED=yes
SPACED = padded value   # trailing comment
HASH=a#b
SINGLE='literal ${PLAIN} \n'
DOUBLE="expanded ${PLAIN}\ttab"
MULTI="line1
line2"
REF=${PLAIN}-suffix
DEFAULT=${MISSING:-fallback}
EMPTY=
ESCAPED_DOLLAR="\$PLAIN"
COLON: colon-separated
'''


def test_dotenv_rules():
    env = parse(TEXT)
    assert env["PLAIN"] == "value"
    assert env["EXPORTED"] == "yes"
    assert env["SPACED"] == "padded value"
    assert env["HASH"] == "a#b"
    assert env["SINGLE"] == r"literal ${PLAIN} \n"
    assert env["DOUBLE"] == "expanded value\ttab"
    assert env["MULTI"] == "line1\nline2"
    assert env["REF"] == "value-suffix"
    assert env["DEFAULT"] == "fallback"
    assert env["EMPTY"] == ""
    assert env["ESCAPED_DOLLAR"] == "$PLAIN"
    assert env["COLON"] == "colon-separated"


def test_lookup_wins_and_bare_key_inherits():
    env = parse("A=${OS_VAR}\nINHERITED\nNOT_IN_OS\n", {"OS_VAR": "from-os", "INHERITED": "yes"}.get)
    assert env == {"A": "from-os", "INHERITED": "yes"}


@pytest.mark.parametrize("text,fragment", [
    ('A="unterminated\n', "unterminated quoted value"),
    ("BAD KEY=1\n", "key cannot contain a space"),
    ("B@D=1\n", "unexpected character"),
])
def test_errors(text, fragment):
    with pytest.raises(DotenvError, match=fragment):
        parse(text)


def test_later_files_see_earlier_ones_and_environment_wins(tmp_path):
    a = tmp_path / "a.env"
    b = tmp_path / "b.env"
    a.write_text("X=1\nY=from-a\n")
    b.write_text("Z=${X}-${Y}\nY=from-b\n")
    env = read_env_files([str(a), str(b)], {"Y": "from-os"})
    assert env["Z"] == "1-from-os"
    assert env["Y"] == "from-b"  # the file's value; the caller lets the OS environment win


def test_missing_env_file(tmp_path):
    with pytest.raises(Exception, match="couldn't find env file"):
        read_env_files([str(tmp_path / "nope.env")], {})
