"""Build-arg scoping, which words get substituted, the stage graph and COPY's destination rules."""
import textwrap

import pytest

from engine.build.dockerfile import (Platform, StageScope, ast, build_levels, expand_instruction, global_scope,
                                     parse, parse_platform, run_command_string, stages_needed, unused_build_args)
from engine.build.dockerfile.copyrules import (check_dest, dest_is_dir, parse_chmod, resolve_chown, resolve_dest,
                                               split_parents, target_of)
from engine.errors import DockerfileError, InvalidArgument

AMD64 = Platform("linux", "amd64")
ARM = Platform("linux", "arm", "v7")


def dockerfile(text: str) -> ast.Dockerfile:
    return parse(textwrap.dedent(text))


# --- global scope (ARG before FROM, platform args) ---------------------------------

def test_global_scope_platform_args_and_meta_args():
    df = dockerfile("""\
        ARG BASE=busybox
        ARG TAG=${BASE}-1
        ARG EMPTY
        FROM $BASE
        """)
    scope = global_scope(df, {}, build=AMD64, target=ARM, target_stage="final")
    assert scope["BASE"] == "busybox" and scope["TAG"] == "busybox-1" and "EMPTY" not in scope
    assert (scope["BUILDPLATFORM"], scope["BUILDOS"], scope["BUILDARCH"], scope["BUILDVARIANT"]) == (
        "linux/amd64", "linux", "amd64", "")
    assert (scope["TARGETPLATFORM"], scope["TARGETARCH"], scope["TARGETVARIANT"], scope["TARGETSTAGE"]) == (
        "linux/arm/v7", "arm", "v7", "final")


def test_build_args_override_meta_defaults_and_platform_args():
    df = dockerfile("ARG BASE=busybox\nARG DERIVED=$BASE\nFROM $BASE\n")
    scope = global_scope(df, {"BASE": "alpine", "TARGETARCH": "riscv64"}, build=AMD64)
    assert scope["BASE"] == "alpine" and scope["DERIVED"] == "alpine" and scope["TARGETARCH"] == "riscv64"


def test_target_defaults_to_build_platform():
    scope = global_scope(dockerfile("FROM a"), {}, build=AMD64)
    assert scope["TARGETPLATFORM"] == "linux/amd64" and scope["TARGETSTAGE"] == "default"


@pytest.mark.parametrize("text, want", [
    ("linux/amd64", Platform("linux", "amd64")),
    ("linux/x86_64", Platform("linux", "amd64")),
    ("linux/arm64/v8", Platform("linux", "arm64")),
    ("linux/aarch64", Platform("linux", "arm64")),
    ("linux/arm", Platform("linux", "arm", "v7")),
    ("linux/arm/v6", Platform("linux", "arm", "v6")),
    ("Linux/AMD64", Platform("linux", "amd64")),
])
def test_parse_platform(text, want):
    assert parse_platform(text) == want


def test_parse_platform_rejects_garbage():
    with pytest.raises(InvalidArgument):
        parse_platform("linux//amd64")


# --- stage scope: ARG and ENV while dispatching ------------------------------------

def dispatch(df: ast.Dockerfile, build_args: dict, image_env=None, stage=0):
    """Run ARG/ENV of one stage through a StageScope; returns the scope and the expanded instructions."""
    g = global_scope(df, build_args, build=AMD64)
    scope = StageScope.start(build_args, g, image_env)
    out = []
    for instr in df.stages[stage].instructions:
        e = expand_instruction(instr, scope.lookup, df.escape)
        if isinstance(instr, ast.ArgInstr):
            scope.apply_arg(instr, df.escape)
        elif isinstance(e, ast.EnvInstr):
            scope.apply_env(e)
        out.append(e)
    return scope, out


def test_arg_default_build_arg_and_unset():
    df = dockerfile("""\
        FROM a
        ARG A=dflt B C=${A}-c
        ENV E=$A/$B/$C
        """)
    scope, out = dispatch(df, {"B": "given"})
    assert out[1].pairs == [("E", "dflt/given/dflt-c")]
    assert scope.image_env() == ["E=dflt/given/dflt-c"]
    scope, out = dispatch(df, {})
    assert out[1].pairs == [("E", "dflt//dflt-c")]


def test_arg_is_not_visible_before_its_declaration_nor_from_global_scope():
    df = dockerfile("""\
        ARG G=global
        FROM a
        ENV BEFORE=[$LATE] GLOBAL=[$G]
        ARG LATE=now
        ARG G
        ENV AFTER=[$LATE] GLOBAL2=[$G]
        """)
    _, out = dispatch(df, {})
    assert out[0].pairs == [("BEFORE", "[]"), ("GLOBAL", "[]")]
    assert out[3].pairs == [("AFTER", "[now]"), ("GLOBAL2", "[global]")]


def test_global_arg_redeclared_takes_the_build_arg():
    df = dockerfile("ARG V=1\nFROM a\nARG V\nENV X=$V\n")
    _, out = dispatch(df, {"V": "9"})
    assert out[1].pairs == [("X", "9")]


def test_platform_args_need_a_declaration_in_the_stage():
    df = dockerfile("FROM a\nENV BEFORE=$TARGETARCH\nARG TARGETARCH\nENV AFTER=$TARGETARCH\n")
    _, out = dispatch(df, {})
    assert out[0].pairs == [("BEFORE", "")] and out[2].pairs == [("AFTER", "amd64")]


def test_env_wins_over_arg():
    df = dockerfile("""\
        FROM a
        ARG V=from-arg
        ENV V=from-env
        ARG V=again
        ENV SEEN=$V
        """)
    scope, out = dispatch(df, {"V": "from-cli"})
    assert out[3].pairs == [("SEEN", "from-env")]
    assert scope.lookup("V") == "from-env"


def test_image_env_is_inherited_and_wins_over_arg():
    df = dockerfile("FROM a\nARG PATH=/nope\nENV P=$PATH\n")
    scope, out = dispatch(df, {}, image_env=["PATH=/usr/bin:/bin"])
    assert out[1].pairs == [("P", "/usr/bin:/bin")]


def test_run_env_has_args_not_persisted_and_proxy_args_undeclared():
    df = dockerfile("FROM a\nENV E=1\nARG A=2\nARG HTTP_PROXY\n")
    scope, _ = dispatch(df, {"HTTP_PROXY": "http://p:3128", "no_proxy": "localhost", "OTHER": "x"})
    assert scope.run_env() == ["E=1", "A=2", "HTTP_PROXY=http://p:3128", "no_proxy=localhost"]
    assert scope.image_env() == ["E=1"]
    assert run_command_string(["/bin/sh", "-c", "make"], scope) == (
        "|2 A=2 HTTP_PROXY=http://p:3128 /bin/sh -c make")


def test_run_history_without_args_has_no_prefix_and_undeclared_proxy_stays_out():
    scope, _ = dispatch(dockerfile("FROM a\n"), {"https_proxy": "http://p"})
    assert run_command_string(["/bin/sh", "-c", "true"], scope) == "/bin/sh -c true"
    assert "https_proxy=http://p" in scope.run_env()


def test_unused_build_args():
    df = dockerfile("ARG G\nFROM a\nARG S\n")
    assert unused_build_args({"G": "1", "S": "2", "NOPE": "3", "HTTP_PROXY": "p", "TARGETOS": "x"}, df) == ["NOPE"]


# --- which words are substituted ------------------------------------------------------

ENV = {"D": "/data", "U": "app", "N": "3", "P": "8080", "S": "SIGTERM", "Q": "q v"}


@pytest.mark.parametrize("text, field, want", [
    ("WORKDIR $D/x", "word", "/data/x"),
    ("USER ${U}:${U}", "word", "app:app"),
    ("STOPSIGNAL $S", "word", "SIGTERM"),
    ("VOLUME $D /logs", "paths", ["/data", "/logs"]),
    ('VOLUME ["$D"]', "paths", ["/data"]),
    ("EXPOSE $P ${P}/udp", "ports", ["8080", "8080/udp"]),
    ("ENV K_$U=$D", "pairs", [("K_app", "/data")]),
    ('ENV K="$Q" L=\'$Q\'', "pairs", [("K", "q v"), ("L", "$Q")]),
    ("LABEL $U=$N", "pairs", [("app", "3")]),
    ("COPY $D/a ${U}.txt $D/", "sources", ["/data/a", "app.txt"]),
    ("COPY a $D/", "dest", "/data/"),
    ("COPY --chown=$U:$U a b", "chown", "app:app"),
    ("COPY --chmod=${N}55 a b", "chmod", "355"),
    ("ADD --checksum=sha256:$N http://x/y /z", "checksum", "sha256:3"),
    ("ARG X=$D", "args", [("X", "/data")]),
    # never substituted: the shell (or the container) sees the words as written
    ("RUN echo $D", "command", ["echo $D"]),
    ('RUN ["echo", "$D"]', "command", ["echo", "$D"]),
    ("CMD echo $D", "command", ["echo $D"]),
    ('ENTRYPOINT ["$D"]', "command", ["$D"]),
    ("SHELL [\"$D\"]", "shell", ["$D"]),
    ("HEALTHCHECK CMD test -d $D", "test", ["CMD-SHELL", "test -d $D"]),
    ("MAINTAINER $U", "maintainer", "$U"),
    ("ONBUILD RUN echo $D", "expression", "RUN echo $D"),
])
def test_expanded_fields(text, field, want):
    instr = parse("FROM a\n" + text).stages[0].instructions[0]
    assert getattr(expand_instruction(instr, ENV), field) == want
    assert isinstance(getattr(instr, field), (str, list))  # the parsed tree itself is left as written


def test_copy_heredoc_bodies_expand_unless_quoted():
    df = parse("FROM a\nCOPY <<EOF <<'RAW' /d/\nuser='$U' in \"$D\"\nEOF\n$U\nRAW\n")
    c = expand_instruction(df.stages[0].instructions[0], ENV)
    assert [h.content for h in c.heredocs] == ["user='app' in \"/data\"\n", "$U\n"]


def test_run_mount_values_are_substituted():
    df = parse("FROM a\nRUN --mount=type=cache,target=$D/cache,uid=$N,id=c-$U --network=$NET true\n")
    r = expand_instruction(df.stages[0].instructions[0], {**ENV, "NET": "none"})
    assert r.mounts == [ast.Mount(type="cache", target="/data/cache", uid=3, id="c-app")]
    assert r.network == "none"


@pytest.mark.parametrize("text, env, message", [
    ("COPY --from=$STAGE a b", {"STAGE": "x"}, "COPY: variable expansion is not supported for --from"),
    ("WORKDIR ${D:?needs D}", {}, "WORKDIR: failed to process \"${D:?needs D}\": D: needs D"),
    ("ENV A=${", {}, "ENV: failed to process"),
    ("RUN --mount=type=cache,target=/c,uid=$U true", {"U": "app"}, "RUN: invalid value app for uid"),
    ("RUN --network=$N true", {"N": "bridge"}, 'RUN: invalid network mode "bridge"'),
])
def test_expand_errors_name_line_and_instruction(text, env, message):
    instr = parse("FROM a\n" + text).stages[0].instructions[0]
    with pytest.raises(DockerfileError) as e:
        expand_instruction(instr, env)
    assert str(e.value).startswith("Dockerfile:2: ") and message in str(e.value)


# --- the stage graph -----------------------------------------------------------------

GRAPH = """\
    ARG BASE=busybox
    FROM $BASE AS base
    RUN setup
    FROM base AS deps
    RUN install
    FROM $BASE AS assets
    RUN build-assets
    FROM golang AS tools
    RUN --mount=type=bind,from=assets,target=/a --mount=type=cache,target=/c make
    FROM base AS unused
    RUN nothing
    FROM scratch AS final
    COPY --from=deps /lib /lib
    COPY --from=tools /bin/tool /bin/
    COPY --from=nginx:latest /etc/nginx /etc/nginx
    COPY --from=2 /x /x
    """


def test_stages_needed_for_the_last_stage():
    df = dockerfile(GRAPH)
    needed = stages_needed(df, None, global_scope(df, {}, build=AMD64))
    assert [n.stage.name for n in needed] == ["base", "deps", "assets", "tools", "final"]
    final = needed[-1]
    assert final.deps == {1, 2, 3} and final.external == ["nginx:latest"] and final.base == "scratch"
    assert needed[1].base_stage == 0 and needed[0].base == "busybox" and needed[0].base_stage is None
    assert build_levels(needed) == [[0, 2], [1, 3], [5]]


def test_stages_needed_for_a_target():
    df = dockerfile(GRAPH)
    assert [n.stage.name for n in stages_needed(df, "deps")] == ["base", "deps"]
    assert [n.stage.name for n in stages_needed(df, "UNUSED")] == ["base", "unused"]
    with pytest.raises(InvalidArgument, match='target stage "nope" could not be found'):
        stages_needed(df, "nope")


def test_from_names_only_earlier_stages():
    df = dockerfile("FROM later AS first\nFROM busybox AS later\n")
    first = stages_needed(df, "first")
    assert len(first) == 1 and first[0].base_stage is None and first[0].base == "later"


def test_cycles_are_errors():
    df = dockerfile("FROM a AS x\nCOPY --from=y / /\nFROM a AS y\nCOPY --from=x / /\n")
    with pytest.raises(DockerfileError, match="circular dependency detected on stage"):
        stages_needed(df, "y")
    df = dockerfile("FROM a AS self\nCOPY --from=self / /\n")
    with pytest.raises(DockerfileError, match="Dockerfile:2: COPY: circular dependency"):
        stages_needed(df)


def test_bad_stage_index_and_blank_base():
    with pytest.raises(DockerfileError, match="COPY: invalid stage index 7"):
        stages_needed(dockerfile("FROM a\nCOPY --from=7 / /\n"))
    with pytest.raises(DockerfileError, match=r"Dockerfile:2: FROM: base name \(\$\{NOPE\}\) should not be blank"):
        stages_needed(dockerfile("ARG NOPE\nFROM ${NOPE}\n"))


def test_mount_from_with_variables_elsewhere_still_counts():
    df = dockerfile("FROM a AS src\nFROM a\nRUN --mount=from=src,target=$T true\n")
    assert stages_needed(df)[-1].deps == {0}


# --- COPY destinations, --chown, --chmod -------------------------------------------------

@pytest.mark.parametrize("dest, workdir, want", [
    ("/abs", "/w", "/abs"),
    ("/abs/", "/w", "/abs/"),
    ("rel", "/w", "/w/rel"),
    ("rel/", "/w", "/w/rel/"),
    (".", "/w", "/w/"),
    ("", "/w", "/w/"),
    ("./", "/w", "/w/"),
    ("../up", "/w/x", "/w/up"),
    ("../../../../etc", "/w", "/etc"),
    ("a//b/./c", "/", "/a/b/c"),
    ("x", "", "/x"),
    ("/dir/.", "/", "/dir/"),
])
def test_resolve_dest(dest, workdir, want):
    assert resolve_dest(dest, workdir) == want


@pytest.mark.parametrize("dest, n, exists, want", [
    ("/d/", 1, False, True), ("/f", 1, False, False), ("/f", 2, False, True), ("/d", 1, True, True),
])
def test_dest_is_dir(dest, n, exists, want):
    assert dest_is_dir(dest, n, exists) == want


def test_target_of_and_multiple_sources_need_a_slash():
    assert target_of("src/app.py", "/app/", True) == "/app/app.py"
    assert target_of("src/app.py", "/app/main.py", False) == "/app/main.py"
    assert target_of("dir/", "/", True) == "/dir"
    check_dest("/d/", ["a", "b"])
    check_dest("/one", ["a"])
    with pytest.raises(InvalidArgument, match="the destination must be a directory and end with a /"):
        check_dest("/d", ["a", "b"])


def test_split_parents():
    assert split_parents("a/./b/c.txt") == ("/a", "b/c.txt")
    assert split_parents("x/y") == ("/", "x/y")
    assert split_parents("./x") == ("/", "x")


PASSWD = "root:x:0:0:root:/root:/bin/sh\n# comment\napp:x:1000:1001::/home/app:/bin/sh\nbad line\n"
GROUP = "root:x:0:\nstaff:x:50:app\n"


@pytest.mark.parametrize("chown, want", [
    ("app", (1000, 1000)),
    ("app:staff", (1000, 50)),
    ("app:0", (1000, 0)),
    ("10:20", (10, 20)),
    ("10", (10, 10)),
    ("0:staff", (0, 50)),
])
def test_resolve_chown(chown, want):
    assert resolve_chown(chown, PASSWD, GROUP) == want


@pytest.mark.parametrize("chown, message", [
    ("ghost", "unable to find user ghost: no matching entries in passwd file"),
    ("app:ghosts", "unable to find group ghosts: no matching entries in group file"),
    ("app:", "invalid --chown value"),
    (":staff", "invalid --chown value"),
])
def test_resolve_chown_errors(chown, message):
    with pytest.raises(InvalidArgument, match=message):
        resolve_chown(chown, PASSWD, GROUP)


def test_chown_names_need_the_files():
    with pytest.raises(InvalidArgument, match="unable to find user app"):
        resolve_chown("app", None, None)


@pytest.mark.parametrize("spec, mode, is_dir, want", [
    ("0755", 0o600, False, 0o755),
    ("644", 0o777, False, 0o644),
    ("7777", 0, False, 0o7777),
    ("u+x", 0o644, False, 0o744),
    ("go-w", 0o666, False, 0o644),
    ("a=r", 0o777, False, 0o444),
    ("+x", 0o600, False, 0o711),
    ("a+X", 0o600, True, 0o711),
    ("a+X", 0o600, False, 0o600),
    ("a+X", 0o700, False, 0o711),
    ("u=rwx,g=rx,o=", 0, False, 0o750),
    ("g=u", 0o640, False, 0o660),
    ("u+s", 0o755, False, 0o4755),
])
def test_chmod(spec, mode, is_dir, want):
    assert parse_chmod(spec)(mode, is_dir) == want


@pytest.mark.parametrize("spec", ["8", "10000", "u+q", "x=r", ""])
def test_chmod_errors(spec):
    with pytest.raises(InvalidArgument, match="invalid chmod parameter"):
        parse_chmod(spec)
