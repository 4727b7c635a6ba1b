"""Dockerfile variable substitution: the rules of BuildKit's shell lexer, case by case."""
import pytest

from engine.build.dockerfile.shell import ShellError, expand, expand_words

ENV = {"HOME": "/root", "USER": "app", "EMPTY": "", "SP": "a  b", "LEAD": "  x y", "UNI": "héllo"}


@pytest.mark.parametrize("word, want", [
    # plain words, quotes removed
    ("plain", "plain"),
    ("ab'cd'ef", "abcdef"),
    ('ab"cd"ef', "abcdef"),
    ("'it''s'", "its"),
    ('"mixed \'single\' inside"', "mixed 'single' inside"),
    ("'dq \"inside\" single'", 'dq "inside" single'),
    # escapes outside quotes: the next character is literal
    ("a\\tb", "atb"),
    ("a\\ b", "a b"),
    ("a\\'b", "a'b"),
    ("trail\\", "trail"),
    ("trail\\\\", "trail\\"),
    # escapes inside double quotes: only \" \$ \\ are escapes
    ('"a\\tb"', "a\\tb"),
    ('"a\\\\b"', "a\\b"),
    ('"q\\"q"', 'q"q'),
    ('"\\$HOME"', "$HOME"),
    # single quotes: nothing is special
    ("'$HOME'", "$HOME"),
    ("'a\\tb'", "a\\tb"),
    ("'\\$HOME'", "\\$HOME"),
    # $name and ${name}
    ("$HOME", "/root"),
    ("${HOME}", "/root"),
    ("x$HOME/y", "x/root/y"),
    ("x${USER}y", "xappy"),
    ("$USERx", ""),
    ("${USER}x", "appx"),
    ("$UNSET", ""),
    ("a${UNSET}b", "ab"),
    ('"$HOME"', "/root"),
    ('"${USER}-$USER"', "app-app"),
    ("\\$HOME", "$HOME"),
    ("\\${HOME}", "${HOME}"),
    ("\\\\$HOME", "\\/root"),
    ("$", "$"),
    ("$.", "$."),
    ("a$-b", "ab"),  # special parameters are never set
    ("$1x", "x"),  # positional parameters are never set
    ("${10}", ""),
    ("$UNI!", "héllo!"),
    # ${v:-w} / ${v-w}: default when unset (: also when empty)
    ("${UNSET:-dflt}", "dflt"),
    ("${EMPTY:-dflt}", "dflt"),
    ("${USER:-dflt}", "app"),
    ("${UNSET-dflt}", "dflt"),
    ("${EMPTY-dflt}", ""),
    ("${USER-dflt}", "app"),
    ("${UNSET:-$HOME}", "/root"),
    ("${UNSET:-${ALSO:-deep}}", "deep"),
    ("${UNSET:-a b}", "a b"),
    ("${UNSET:-\\$HOME}", "$HOME"),
    ("${UNSET:-'q}'}", "q}"),
    ("${UNSET:-}", ""),
    # ${v:+w} / ${v+w}: alternative when set (: only when non-empty)
    ("${USER:+alt}", "alt"),
    ("${EMPTY:+alt}", ""),
    ("${UNSET:+alt}", ""),
    ("${EMPTY+alt}", "alt"),
    ("${UNSET+alt}", ""),
    ("${USER:+${HOME}}", "/root"),
    ("${USER:+$USER:}x", "app:x"),
    # ${v?msg} / ${v:?msg}: value when allowed
    ("${USER:?}", "app"),
    ("${USER?must}", "app"),
    ("${EMPTY?must}", ""),
    # trims and replacements
    ("${HOME#/}", "root"),
    ("${UNI#h*l}", "lo"),
    ("${UNI##h*l}", "o"),
    ("${UNI%l*}", "hél"),
    ("${UNI%%l*}", "hé"),
    ("${HOME/o/0}", "/r0ot"),
    ("${HOME//o/0}", "/r00t"),
    ("${UNSET//o/0}", ""),
    # braces after a closed substitution are literal
    ("${USER}}", "app}"),
    ("${UNSET:-a {b}", "a {b"),
    # unicode around substitutions
    ("ü$USERü", "ü"),
    ("ü${USER}ü", "üappü"),
])
def test_expand(word, want):
    assert expand(word, ENV) == want


@pytest.mark.parametrize("word, message", [
    ("'open", "unexpected end of statement while looking for matching single-quote"),
    ('"open', "unexpected end of statement while looking for matching double-quote"),
    ('"esc\\"', "unexpected end of statement while looking for matching double-quote"),
    ("a\\\\'b", "matching single-quote"),
    ("${}", "bad substitution"),
    ("${:}", "bad substitution"),
    ("${:-x}", "bad substitution"),
    ("${{x}", "bad substitution"),
    ("${HOME", "missing '}'"),
    ("${HOME:-x", "missing '}'"),
    ("${", "missing '}'"),
    ("${.}", "unsupported modifier"),
    ("${HOME:=x}", "unsupported modifier (:=)"),
    ("${HOME:x}", "unsupported modifier"),
    ("${HOME:#x}", "unsupported modifier (:#)"),
    ("${UNSET?}", "UNSET: is not allowed to be unset"),
    ("${UNSET:?}", "UNSET: is not allowed to be unset"),
    ("${EMPTY:?}", "EMPTY: is not allowed to be empty"),
    ("${UNSET:?set it, $USER}", "UNSET: set it, app"),
    ("${HOME/o", "missing '/' in ${}"),
])
def test_expand_errors(word, message):
    with pytest.raises(ShellError) as e:
        expand(word, ENV)
    assert message in str(e.value)
    assert str(e.value).startswith("failed to process")


@pytest.mark.parametrize("word, env, want", [
    ("$v", {"v": "1"}, "1"),
    ("`$v", {"v": "1"}, "$v"),
    ('"`$v"', {"v": "1"}, "$v"),
    ("a\\b", {}, "a\\b"),  # backslash is an ordinary character when the escape is a backtick
    ("C:\\path\\$v", {"v": "x"}, "C:\\path\\x"),
    ("tick``", {}, "tick`"),
])
def test_backtick_escape(word, env, want):
    assert expand(word, env, escape="`") == want


@pytest.mark.parametrize("word, want", [
    ("one two  three", ["one", "two", "three"]),
    ("x${SP}y", ["xa", "by"]),
    ('x"${SP}"y', ["xa  by"]),
    ("${LEAD}", ["x", "y"]),
    ('"${LEAD}"', ["  x y"]),
    ("a\\ b c", ["a b", "c"]),
    ("'a b' \"c d\"", ["a b", "c d"]),
    ("''", [""]),
    ("", []),
])
def test_expand_words(word, want):
    assert expand_words(word, ENV) == want


def test_lookup_callable_and_skip_unset():
    seen = []

    def lookup(name):
        seen.append(name)
        return {"A": "1"}.get(name)

    assert expand("$A-$B", lookup) == "1-"
    assert seen == ["A", "B"]
    assert expand("$A ${B} ${B:-x}", {"A": "1"}, skip_unset=True) == "1 ${B} ${B:-x}"


def test_raw_quotes_keep_quotes():
    assert expand("echo \"$USER\" '$USER'", ENV, raw_quotes=True) == "echo \"app\" '$USER'"


def test_skip_quotes_leaves_quotes_literal():
    # how COPY heredoc bodies are substituted: quotes are text, variables still expand
    assert expand("say 'hi $USER'\n", ENV, skip_quotes=True) == "say 'hi app'\n"
