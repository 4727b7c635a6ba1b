"""Dockerfile parsing: snippets -> typed instructions, and errors that name the line and the instruction."""
import textwrap

import pytest

from engine.build.dockerfile import ast, parse, parse_trigger
from engine.errors import DockerfileError, InvalidArgument


def one(body: str) -> ast.Instruction:
    """The single instruction after ``FROM scratch``."""
    df = parse("FROM scratch\n" + textwrap.dedent(body))
    assert len(df.stages) == 1 and len(df.stages[0].instructions) == 1, df.stages[0].instructions
    return df.stages[0].instructions[0]


@pytest.mark.parametrize("text, want", [
    ("RUN echo hi", (["echo hi"], True)),
    ("RUN   echo   hi  ", (["echo   hi"], True)),
    ('RUN ["echo", "hi"]', (["echo", "hi"], False)),
    ('RUN [ "sh" , "-c", "x" ]', (["sh", "-c", "x"], False)),
    ('RUN ["echo", "unterminated"', (['["echo", "unterminated"'], True)),  # not JSON: shell form, like BuildKit
    ("RUN [not json]", (["[not json]"], True)),
    ("run lower case", (["lower case"], True)),
    ("RUN a \\\n  b", (["a   b"], True)),
    ("RUN a \\\n# comment\n  b", (["a   b"], True)),
    ("RUN a \\  \n  b", (["a   b"], True)),
    ("RUN a\\\nb", (["ab"], True)),
    ("RUN a \\\\", (["a \\\\"], True)),
    ("RUN a \\", (["a"], True)),  # continuation at end of file
])
def test_run_forms(text, want):
    instr = one(text)
    assert isinstance(instr, ast.RunInstr)
    assert (instr.command, instr.prepend_shell) == want


def test_run_flags_and_mounts():
    instr = one("RUN --mount=type=cache,target=/root/.cache,id=pip,sharing=locked,mode=0700,uid=1000,gid=1000 \\\n"
                "    --mount=type=bind,from=build,source=/out,target=/in,rw \\\n"
                "    --mount=type=secret,id=token,required \\\n"
                "    --mount=type=tmpfs,target=/tmp,size=64m \\\n"
                "    --network=none --security=sandbox make")
    assert instr.command == ["make"] and instr.network == "none" and instr.security == "sandbox"
    cache, bind, secret, tmpfs = instr.mounts
    assert cache == ast.Mount(type="cache", target="/root/.cache", id="pip", sharing="locked", mode=0o700,
                              uid=1000, gid=1000, readonly=False)
    assert bind == ast.Mount(type="bind", from_="build", source="/out", target="/in", readonly=False)
    assert secret == ast.Mount(type="secret", id="token", target="/run/secrets/token", required=True, readonly=True)
    assert tmpfs == ast.Mount(type="tmpfs", target="/tmp", size=64 * 1024 * 1024)
    assert instr.line == 2 and instr.end_line == 6


@pytest.mark.parametrize("spec, want", [
    ("type=bind,target=/src", ast.Mount(type="bind", target="/src", readonly=True)),
    ("target=/src", ast.Mount(type="bind", target="/src", readonly=True)),
    ("type=bind,target=/src,readonly=false", ast.Mount(type="bind", target="/src", readonly=False)),
    ("type=cache,target=/c", ast.Mount(type="cache", target="/c", id="/c")),
    ("type=cache,dst=/c,ro", ast.Mount(type="cache", target="/c", id="/c", readonly=True)),
    ("type=cache,destination=/c,from=base,source=/seed",
     ast.Mount(type="cache", target="/c", id="/c", from_="base", source="/seed")),
    ("type=secret,target=/etc/key", ast.Mount(type="secret", target="/etc/key", id="key", readonly=True)),
    ("type=secret,id=aws,env=AWS_KEY",
     ast.Mount(type="secret", id="aws", target="/run/secrets/aws", env="AWS_KEY", readonly=True)),
    ("type=secret,source=npmrc,target=/root/.npmrc,required=true",
     ast.Mount(type="secret", id="npmrc", target="/root/.npmrc", required=True, readonly=True)),
    ('"type=bind,target=/a b"', ast.Mount(type="bind", target="/a b", readonly=True)),  # quotes end at flags
])
def test_mount_defaults(spec, want):
    assert one(f"RUN --mount={spec} true").mounts == [want]


# RUN --mount=<spec> refusals (their messages follow "RUN: "), checked with the other instruction errors
MOUNT_ERRORS = [
    ("type=nfs,target=/x", 'unsupported mount type "nfs"'),
    ("type=cache,target=/x,sharing=everyone", 'unsupported sharing value "everyone"'),
    ("type=bind,target=/x,sharing=locked", "invalid cache sharing set for bind mount"),
    ("type=bind,target=/x,mode=0700", 'mode not allowed for "bind" type mounts'),
    ("type=tmpfs,target=/x,uid=0", 'uid not allowed for "tmpfs" type mounts'),
    ("type=cache,target=/x,uid=me", "invalid value me for uid"),
    ("type=cache,target=/x,mode=999", "invalid value 999 for mode"),
    ("type=bind,target=/x,required", "unexpected key 'required' for mount type 'bind'"),
    ("type=bind,target=/x,size=1g", "unexpected key 'size' for mount type 'bind'"),
    ("type=bind,target=/x,colour=red", "unexpected key 'colour' in 'colour=red'"),
    ("type=bind,target=/x,bogus", "invalid field 'bogus' must be a key=value pair"),
    ("type=bind,target=/x,ro=maybe", "invalid value for ro: maybe"),
    ("type=secret,id=a,from=x", "secret mount should not have a from"),
    ("type=secret", "invalid secret mount. one of source, target required"),
    ("type=secret,source=a,id=b", "both source and id can't be set"),
    ("type=cache", "mount type cache requires a target"),
    ("type=bind,from=$STAGE,target=/x", "'from' doesn't support variable expansion"),
]


def test_mount_with_variables_is_parsed_when_expanded():
    instr = one("RUN --mount=type=cache,target=$CACHE,uid=$UID true")
    assert instr.mounts == [] and instr.mount_specs == ["type=cache,target=$CACHE,uid=$UID"]


@pytest.mark.parametrize("text, kind, sources, dest, heredocs", [
    ("COPY a b /dst/", ast.CopyInstr, ["a", "b"], "/dst/", []),
    ('COPY ["a b", "c"]', ast.CopyInstr, ["a b"], "c", []),
    ("ADD https://example.com/x.tgz /opt/", ast.AddInstr, ["https://example.com/x.tgz"], "/opt/", []),
    ("COPY <<EOF /etc/motd\nhello\nEOF", ast.CopyInstr, [], "/etc/motd", [ast.Heredoc("EOF", "hello\n")]),
    ("COPY <<one <<two /dir/\n1\none\n2\ntwo", ast.CopyInstr, [], "/dir/",
     [ast.Heredoc("one", "1\n"), ast.Heredoc("two", "2\n")]),
    ("COPY file <<EOF /dir/\nx\nEOF", ast.CopyInstr, ["file"], "/dir/", [ast.Heredoc("EOF", "x\n")]),
])
def test_copy_forms(text, kind, sources, dest, heredocs):
    instr = one(text)
    assert type(instr) is kind
    assert (instr.sources, instr.dest, instr.heredocs) == (sources, dest, heredocs)


def test_copy_and_add_flags():
    c = one("COPY --from=build --chown=app:staff --chmod=0755 --link --parents --exclude=*.o --exclude=tmp "
            "src/ /app/")
    assert (c.from_, c.chown, c.chmod, c.link, c.parents, c.excludes) == (
        "build", "app:staff", "0755", True, True, ["*.o", "tmp"])
    a = one("ADD --checksum=sha256:abc --keep-git-dir=true --unpack=false --link=false x /y")
    assert (a.checksum, a.keep_git_dir, a.unpack, a.link) == ("sha256:abc", True, False, False)


def test_heredocs():
    df = parse(textwrap.dedent("""\
        FROM scratch
        RUN <<EOF
        echo $HOME
        EOF
        RUN <<-'QUOTED' sh
        \t\techo $literal
        \tQUOTED
        RUN cat <<a >/x && cat <<"b" >/y
        first
        a
        second
        b
        RUN python3 <<PY
        print("hi")
        PY
        """).replace("\\t", "\t"))
    r1, r2, r3, r4 = df.stages[0].instructions
    assert r1.heredocs == [ast.Heredoc("EOF", "echo $HOME\n", expand=True)]
    assert r1.command == ["<<EOF"] and (r1.line, r1.end_line) == (2, 4)
    assert r2.heredocs == [ast.Heredoc("QUOTED", "echo $literal\n", expand=False, chomp=True)]
    assert [h.name for h in r3.heredocs] == ["a", "b"] and [h.expand for h in r3.heredocs] == [True, False]
    assert r3.heredocs[0].content == "first\n" and r3.heredocs[1].content == "second\n"
    assert r4.command == ["python3 <<PY"] and r4.heredocs[0].content == 'print("hi")\n'
    assert (r4.line, r4.end_line) == (13, 15)


def test_heredoc_not_in_json_form_nor_other_instructions():
    assert one('RUN ["echo", "<<EOF"]').heredocs == []
    assert one("ENV A=<<EOF").pairs == [("A", "<<EOF")]


def test_unterminated_heredoc():
    with pytest.raises(DockerfileError, match=r"^Dockerfile:2: RUN: unterminated heredoc EOF"):
        parse("FROM scratch\nRUN <<EOF\necho\n")


@pytest.mark.parametrize("text, pairs", [
    ("ENV A=1", [("A", "1")]),
    ("ENV A=1 B=2", [("A", "1"), ("B", "2")]),
    ('ENV A="with space" B=\'q\'', [("A", '"with space"'), ("B", "'q'")]),
    ("ENV A=a\\ b", [("A", "a\\ b")]),
    ("ENV LEGACY value with spaces", [("LEGACY", "value with spaces")]),
    ("ENV A=", [("A", "")]),
    ("ENV A=x=y", [("A", "x=y")]),
])
def test_env_forms(text, pairs):
    assert one(text).pairs == pairs


def test_label_arg_and_simple_instructions():
    df = parse(textwrap.dedent("""\
        FROM scratch
        LABEL "com.example.vendor"="ACME" version=1.0 desc="a b"
        ARG A B=2 C="x y"
        WORKDIR /app
        USER app:staff
        EXPOSE 8080 53/udp 80
        STOPSIGNAL SIGTERM
        VOLUME /data /logs
        VOLUME ["/json"]
        MAINTAINER Jane <jane@example.com>
        SHELL ["/bin/bash", "-o", "pipefail", "-c"]
        CMD ["app", "--serve"]
        ENTRYPOINT exec app
        CMD
        """))
    i = df.stages[0].instructions
    assert i[0].pairs == [('"com.example.vendor"', '"ACME"'), ("version", "1.0"), ("desc", '"a b"')]
    assert i[1].args == [("A", None), ("B", "2"), ("C", '"x y"')]
    assert i[2].word == "/app" and i[3].word == "app:staff"
    assert i[4].ports == ["53/udp", "80", "8080"]
    assert i[5].word == "SIGTERM"
    assert i[6].paths == ["/data", "/logs"] and i[7].paths == ["/json"]
    assert i[8].maintainer == "Jane <jane@example.com>"
    assert i[9].shell == ["/bin/bash", "-o", "pipefail", "-c"]
    assert (i[10].command, i[10].prepend_shell) == (["app", "--serve"], False)
    assert isinstance(i[11], ast.EntrypointInstr) and (i[11].command, i[11].prepend_shell) == (["exec app"], True)
    assert (i[12].command, i[12].prepend_shell) == ([], False)
    assert [w.rule for w in df.warnings] == ["MaintainerDeprecated", "JSONArgsRecommended"]


@pytest.mark.parametrize("text, message", [
    ("ENV", "ENV requires at least one argument"),
    ("ENV ONLYNAME", "ENV must have two arguments"),
    ("ENV A=1 B", "Syntax error - can't find = in \"B\". Must be of the form: name=value"),
    ("ENV =1", "ENV names can not be blank"),
    ("LABEL", "LABEL requires at least one argument"),
    ("LABEL =x", "LABEL names can not be blank"),
    ("WORKDIR", "WORKDIR requires exactly one argument"),
    ("USER", "USER requires exactly one argument"),
    ("STOPSIGNAL", "STOPSIGNAL requires exactly one argument"),
    ("MAINTAINER", "MAINTAINER requires exactly one argument"),
    ("EXPOSE", "EXPOSE requires at least one argument"),
    ("VOLUME", "VOLUME requires at least one argument"),
    ('VOLUME [""]', "VOLUME specified can not be an empty string"),
    ("ARG", "ARG requires at least one argument"),
    ("ARG =x", "ARG names can not be blank"),
    ("SHELL /bin/sh -c", "SHELL requires the arguments to be in JSON form"),
    ("SHELL []", "SHELL requires at least one argument"),
    ("RUN", "RUN requires at least one argument"),
    ("RUN --netwrk=none x", "unknown flag: --netwrk"),
    ("RUN --network=bridge x", 'invalid network mode "bridge"'),
    ("RUN --security=root x", 'security "root" is not valid'),
    ("RUN --device=/dev/fuse x", "unknown flag: --device"),
    ("WORKDIR --x=1 /a", "unknown flag: --x"),
    ("FRUM busybox", "unknown instruction: FRUM (did you mean FROM?)"),
    ("COPPY a b", "unknown instruction: COPPY"),
    ('CMD ["a", {"b": 1}]', "arrays must be comprised of strings only"),
    ("ONBUILD", "ONBUILD requires at least one argument"),
    ("ONBUILD ONBUILD RUN x", "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"),
    ("ONBUILD FROM x", "FROM isn't allowed as an ONBUILD trigger"),
    ("ONBUILD MAINTAINER x", "MAINTAINER isn't allowed as an ONBUILD trigger"),
    ("ONBUILD COPY x", "COPY requires at least two arguments"),
    ("HEALTHCHECK", "HEALTHCHECK requires at least one argument"),
    ("HEALTHCHECK NONE x", "HEALTHCHECK NONE takes no arguments"),
    ("HEALTHCHECK CMD", "HEALTHCHECK: Missing command after HEALTHCHECK CMD"),
    ("HEALTHCHECK RUN x", 'HEALTHCHECK: Unknown type "RUN" in HEALTHCHECK (try CMD)'),
    ("HEALTHCHECK --interval=5 CMD x", 'HEALTHCHECK: time: missing unit in duration "5"'),
    ("HEALTHCHECK --timeout=abc CMD x", 'HEALTHCHECK: time: invalid duration "abc"'),
    ("HEALTHCHECK --interval=1ns CMD x", 'HEALTHCHECK: Interval "interval" cannot be less than 1ms'),
    ("HEALTHCHECK --retries=-1 CMD x", "HEALTHCHECK: --retries cannot be negative (-1)"),
    ("HEALTHCHECK --retries=x CMD x", 'HEALTHCHECK: strconv.ParseInt: parsing "x": invalid syntax'),
    ("HEALTHCHECK --every=1s CMD x", "HEALTHCHECK: unknown flag: --every"),
    ("COPY onlyone", "COPY requires at least two arguments, but only one was provided. Destination could not be "
                     "determined"),
    ("ADD", "ADD requires at least two arguments"),
    ("COPY --checksum=sha256:x a b", "unknown flag: --checksum"),
    ("ADD --from=x a b", "unknown flag: --from"),
    ("COPY --chown a b", "missing a value on flag: --chown"),
    ("COPY --link=maybe a b", "expecting boolean value for flag --link, not: maybe"),
    ("COPY --link= a b", "missing a value on flag: --link"),
    ("COPY --from=a --from=b a b", "duplicate flag specified: --from"),
    ("COPY a <<EOF\nx\nEOF", "COPY cannot accept a heredoc as a destination"),
    ('COPY ["a", 1]', "when using JSON array syntax, arrays must be comprised of strings only"),
    ("COPY --form=x a b", "unknown flag: --form (did you mean from?)"),
] + [(f"RUN --mount={spec} true", f"RUN: {message}") for spec, message in MOUNT_ERRORS])
def test_instruction_errors(text, message):
    with pytest.raises(DockerfileError, match="^Dockerfile:2: ") as e:
        parse("FROM scratch\n" + text)
    assert message in str(e.value)
    assert isinstance(e.value, InvalidArgument) and e.value.line == 2


@pytest.mark.parametrize("text, test, extra", [
    ("HEALTHCHECK NONE", ["NONE"], {}),
    ("HEALTHCHECK CMD curl -f http://localhost/", ["CMD-SHELL", "curl -f http://localhost/"], {}),
    ('HEALTHCHECK CMD ["/bin/check", "-q"]', ["CMD", "/bin/check", "-q"], {}),
    ("HEALTHCHECK --interval=30s --timeout=3s --start-period=1m --start-interval=500ms --retries=5 CMD true",
     ["CMD-SHELL", "true"], {"interval": 30 * 10**9, "timeout": 3 * 10**9, "start_period": 60 * 10**9,
                             "start_interval": 500 * 10**6, "retries": 5}),
    ("HEALTHCHECK --interval=0s CMD true", ["CMD-SHELL", "true"], {"interval": 0}),
    ("healthcheck cmd true", ["CMD-SHELL", "true"], {}),
])
def test_healthcheck(text, test, extra):
    h = one(text)
    assert h.test == test
    for k, v in extra.items():
        assert getattr(h, k) == v


def test_stages_and_meta_args():
    df = parse(textwrap.dedent("""\
        ARG BASE=busybox
        ARG TAG
        FROM --platform=$BUILDPLATFORM ${BASE}:${TAG:-latest} AS Build
        RUN make
        from build as test
        FROM scratch
        COPY --from=build /out /
        """))
    assert [a.args for a in df.meta_args] == [[("BASE", "busybox")], [("TAG", None)]]
    assert [(s.index, s.name, s.base, s.platform) for s in df.stages] == [
        (0, "build", "${BASE}:${TAG:-latest}", "$BUILDPLATFORM"), (1, "test", "build", None), (2, None, "scratch", None)]
    assert df.stage("BUILD") is df.stages[0] and df.stage("2") is df.stages[2] and df.stage("nope") is None
    assert [w.rule for w in df.warnings] == ["StageNameCasing"]


@pytest.mark.parametrize("text, line, message", [
    ("RUN x\nFROM a", 1, "RUN: no build stage in current context"),
    ("ARG A\n", None, "no build stage in current context"),
    ("FROM", 1, "FROM requires either one or three arguments"),
    ("FROM a b", 1, "FROM requires either one or three arguments"),
    ("FROM a AS", 1, "FROM requires either one or three arguments"),
    ("FROM a AS 1st", 1, 'invalid name for build stage: "1st", name can\'t start with a number or contain symbols'),
    ("FROM a AS b$c", 1, "invalid name for build stage"),
    ("FROM a AS x\nFROM b AS X", 2, 'duplicate stage name "x"'),
    ("FROM --plat=x a", 1, "unknown flag: --plat"),
    ("# only a comment\n\n", None, "file with no instructions"),
    ("", None, "file with no instructions"),
])
def test_structure_errors(text, line, message):
    with pytest.raises(DockerfileError) as e:
        parse(text)
    assert e.value.line == line
    assert message in str(e.value)
    assert str(e.value).startswith(f"Dockerfile:{line}: " if line else "Dockerfile: ")


def test_error_names_the_file():
    with pytest.raises(DockerfileError, match=r"^app\.Dockerfile:3: COPY requires at least two"):
        parse("FROM a\n\nCOPY x\n", filename="app.Dockerfile")


def test_directives():
    df = parse("# syntax=docker/dockerfile:1.7\n# escape=`\n# check=skip=JSONArgsRecommended\n"
               "FROM scratch\nRUN echo a `\n  b\nCMD app\n")
    assert df.escape == "`" and df.directives == {"syntax": "docker/dockerfile:1.7", "escape": "`",
                                                  "check": "skip=JSONArgsRecommended"}
    assert df.stages[0].instructions[0].command == ["echo a   b"]
    assert [w.rule for w in df.warnings] == ["SyntaxDirectiveIgnored"]
    assert "docker/dockerfile:1.7" in df.warnings[0].message


@pytest.mark.parametrize("text, escape", [
    ("#escape=`\nFROM a", "`"),
    ("# ESCAPE = `\nFROM a", "`"),
    ("\n# escape=`\nFROM a", "\\"),  # a blank line ends the directives
    ("# hello\n# escape=`\nFROM a", "\\"),  # so does any other comment
    ("FROM a\n# escape=`\nRUN x", "\\"),
    ("# unknown=1\n# escape=`\nFROM a", "\\"),
])
def test_directive_position(text, escape):
    assert parse(text).escape == escape


@pytest.mark.parametrize("text, message", [
    ("# escape=x\nFROM a", "Dockerfile:1: invalid escape token 'x' does not match ` or \\"),
    ("# escape=`\n# escape=\\\nFROM a", "Dockerfile:2: only one escape parser directive can be used"),
    ("# check=error=true\nFROM a\nMAINTAINER me", "Dockerfile:3: lint violation found for rules: "
                                                  "MaintainerDeprecated"),
])
def test_directive_errors(text, message):
    with pytest.raises(DockerfileError) as e:
        parse(text)
    assert str(e.value) == message


def test_check_directive_skip_all_keeps_errors_off():
    df = parse("# check=skip=all;error=true\nFROM a\nMAINTAINER me\nCMD app\n")
    assert df.warnings == []


def test_windows_line_endings_bom_and_blank_lines():
    df = parse("\ufeffFROM a\r\n\r\n  RUN   x \\\r\n   y\r\n\tCMD [\"z\"]\r\n")
    run, cmd = df.stages[0].instructions
    assert run.command == ["x    y"] and (run.line, run.end_line) == (3, 4)
    assert cmd.command == ["z"] and cmd.line == 5


def test_empty_continuation_line_warns():
    df = parse("FROM a\nRUN a \\\n\n  b\n")
    assert df.stages[0].instructions[0].command == ["a   b"]
    assert [w.rule for w in df.warnings] == ["NoEmptyContinuation"]


def test_flag_quoting_and_double_dash():
    instr = one('COPY --chown="app user" --exclude=\'a b\' -- --weird /dst')
    assert instr.chown == "app user" and instr.excludes == ["a b"]
    assert instr.sources == ["--weird"]


def test_onbuild():
    instr = one("ONBUILD  COPY --chown=app . /src")
    assert instr.expression == "COPY --chown=app . /src"
    assert isinstance(instr.trigger, ast.CopyInstr) and instr.trigger.chown == "app"
    heredoc = one("ONBUILD RUN <<EOF\necho hi\nEOF")
    assert heredoc.expression == "RUN <<EOF\necho hi\nEOF"
    assert heredoc.trigger.heredocs == [ast.Heredoc("EOF", "echo hi\n")]


def test_parse_trigger_round_trips_expressions():
    t = parse_trigger("RUN <<EOF\necho hi\nEOF")
    assert isinstance(t, ast.RunInstr) and t.heredocs[0].content == "echo hi\n"
    assert parse_trigger("ENV A=1").pairs == [("A", "1")]
    with pytest.raises(DockerfileError, match="ONBUILD isn't allowed as an ONBUILD trigger"):
        parse_trigger("ONBUILD RUN x")
    with pytest.raises(DockerfileError, match="unknown instruction: BOGUS"):
        parse_trigger("BOGUS x")


def test_original_text_and_keyword():
    instr = one("copy  --link a \\\n  b /c/")
    assert instr.keyword == "COPY" and instr.original == "copy  --link a   b /c/"


def test_garbage_only_ever_raises_dockerfile_errors():
    """Random Dockerfile-ish text: parsed, or a DockerfileError -- never another exception (a traceback)."""
    import random

    rnd = random.Random(11)
    alphabet = list("FROMRUNCOPYADDENVARGONBUILD \t\n\\`'\"$={}[]<<-#:,/aEOF")
    for _ in range(3000):
        text = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 60)))
        if rnd.random() < 0.5:
            text = "FROM a\n" + text
        try:
            parse(text)
        except DockerfileError:
            pass
