"""Pure parts of the builder: BuildKit's progress lines, image config and history strings,
the Dockerfile excerpt of an error, cache keys and COPY destination rules."""
from __future__ import annotations

import io
from types import SimpleNamespace

from engine.build.cache import key_of
from engine.build.copystep import dest_of, parse_chmod
from engine.build.dockerfile.parser import parse
from engine.build.imageconfig import StageImage, apply_meta, expand_ports, go_duration, scratch_image
from engine.build.progress import PlainRenderer, Progress, QuietRenderer, renderer
from engine.build.resolve import error_details
from engine.build.runstep import command_of, history_text, run_env


def test_plain_progress_lines():
    out = io.StringIO()
    p = Progress(PlainRenderer(out))
    v = p.vertex("[1/2] FROM docker.io/library/busybox:latest")
    v.cached()
    v.done()
    v = p.vertex("[2/2] RUN echo hi")
    v.log(b"hi\npart")
    v.log(b"ial\n")
    v.done()
    v = p.vertex("exporting to image")
    v.status("writing image sha256:abc")
    v.done()
    lines = out.getvalue().splitlines()
    assert lines[:3] == ["#1 [1/2] FROM docker.io/library/busybox:latest", "#1 CACHED", ""]
    assert lines[3] == "#2 [2/2] RUN echo hi"
    assert lines[4].startswith("#2 0.") and lines[4].endswith(" hi")
    assert lines[5].endswith(" partial")
    assert lines[6].startswith("#2 DONE ") and lines[6].endswith("s")
    assert lines[8:10] == ["#3 exporting to image", "#3 writing image sha256:abc done"]


def test_plain_progress_error_and_quiet():
    out = io.StringIO()
    p = Progress(PlainRenderer(out))
    v = p.vertex("[2/2] RUN exit 3")
    v.done('process "/bin/sh -c exit 3" did not complete successfully: exit code: 3')
    assert out.getvalue().splitlines()[1] == ('#1 ERROR: process "/bin/sh -c exit 3" did not complete '
                                              'successfully: exit code: 3')
    q = QuietRenderer()
    Progress(q).vertex("x").done()
    assert isinstance(renderer("quiet"), QuietRenderer)


def test_image_config_instructions_like_buildkit():
    df = parse('FROM scratch\nENV A=1 B="two words"\nEXPOSE 80 53/udp 8000-8001\nLABEL k=v\n'
               'ENTRYPOINT ["/bin/app"]\nSTOPSIGNAL SIGQUIT\nHEALTHCHECK --interval=1m30s --retries=3 CMD true\n'
               'VOLUME ["/data", "/logs"]\nSHELL ["/bin/bash", "-c"]\nCMD run it\n')
    img = scratch_image("2024-01-01T00:00:00Z")
    from engine.build.expansion import expand_instr

    for i in df.stages[0].instructions:
        apply_meta(img, expand_instr(i, img.lookup()), i.keyword)
    cfg = img.document()["config"]
    assert cfg["Env"] == ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "A=1",
                          "B=two words"]
    assert cfg["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}, "8000/tcp": {}, "8001/tcp": {}}
    assert cfg["Entrypoint"] == ["/bin/app"]
    assert cfg["Cmd"] == ["/bin/bash", "-c", "run it"]  # SHELL applies to the later shell form
    assert cfg["Healthcheck"] == {"Test": ["CMD-SHELL", "true"], "Interval": 90_000_000_000, "Retries": 3}
    assert cfg["Volumes"] == {"/data": {}, "/logs": {}}
    assert cfg["WorkingDir"] == "/"
    hist = [h["created_by"] for h in img.history]
    assert hist.pop(1) == "EXPOSE map[53/udp:{} 80/tcp:{} 8000/tcp:{} 8001/tcp:{}]"
    assert hist == ["ENV A=1 B=two words", "LABEL k=v",
                    'ENTRYPOINT ["/bin/app"]', "STOPSIGNAL SIGQUIT",
                    "HEALTHCHECK &{[\"CMD-SHELL\" \"true\"] \"1m30s\" \"0s\" \"0s\" \"0s\" '\\x03'}",
                    "VOLUME [/data /logs]", "SHELL [/bin/bash -c]", 'CMD ["/bin/bash" "-c" "run it"]']
    assert all(h["empty_layer"] and h["comment"] == "buildkit.dockerfile.v0" for h in img.history)


def test_entrypoint_resets_inherited_cmd():
    img = StageImage(config={"Cmd": ["sh"]})
    apply_meta(img, SimpleNamespace(command=["/bin/app"], prepend_shell=False), "ENTRYPOINT")
    assert img.config["Cmd"] is None
    img2 = StageImage(config={"Cmd": ["sh"]})
    apply_meta(img2, SimpleNamespace(command=["x"], prepend_shell=False), "CMD")
    apply_meta(img2, SimpleNamespace(command=["/bin/app"], prepend_shell=False), "ENTRYPOINT")
    assert img2.config["Cmd"] == ["x"]


def test_go_durations_and_ports():
    assert [go_duration(x) for x in (0, 5 * 10**9, 90 * 10**9, 3600 * 10**9, 500 * 10**6)] == \
        ["0s", "5s", "1m30s", "1h0m0s", "500ms"]
    assert expand_ports("9000-9002/udp") == ["9000/udp", "9001/udp", "9002/udp"]


def test_run_command_env_and_history():
    img = StageImage(config={"Env": ["PATH=/bin", "A=env"]}, args={"A": "arg", "V": "1", "UNSET": None})
    df = parse("FROM scratch\nRUN <<EOF\necho one\nEOF\nRUN cat <<X > f\nbody\nX\nRUN [\"echo\", \"x\"]\n")
    heredoc, inline, exec_form = df.stages[0].instructions
    assert command_of(img, heredoc) == ["/bin/sh", "-c", "echo one\n"]
    assert command_of(img, inline) == ["/bin/sh", "-c", "cat <<X > f\nbody\nX"]
    assert command_of(img, exec_form) == ["echo", "x"]
    assert run_env(img, {"HTTP_PROXY": "http://p"}) == ["PATH=/bin", "A=env", "V=1", "HTTP_PROXY=http://p"]
    assert history_text(img, ["/bin/sh", "-c", "make"]) == "RUN |3 A=env V=1 UNSET= /bin/sh -c make # buildkit"


def test_error_excerpt_like_buildkit():
    text = "FROM busybox\nRUN echo a\nRUN exit 3\n"
    df = parse(text)
    build = SimpleNamespace(df=df, df_text=text)
    got = error_details(build, "[3/3] RUN exit 3", df.stages[0].instructions[1], b"0.101 out\n")
    assert got.splitlines() == [
        "------", " > [3/3] RUN exit 3:", "0.101 out", "------", "Dockerfile:3", "-" * 20,
        "   1 |     FROM busybox", "   2 |     RUN echo a", "   3 | >>> RUN exit 3", "   4 |     ", "-" * 20]


def test_copy_destination_rules_and_keys():
    img = StageImage(config={"WorkingDir": "/app"})
    assert dest_of(img, ".") == ("/app", True)
    assert dest_of(img, "sub/") == ("/app/sub", True)
    assert dest_of(img, "/etc/x") == ("/etc/x", False)
    assert parse_chmod("0755")(0o600, False) == 0o755
    assert parse_chmod("u+x")(0o644, False) == 0o744
    assert key_of("a", 1) == key_of("a", 1) != key_of("a", 2)


def test_tty_progress_block():
    from engine.build.progress import TtyRenderer

    out = io.StringIO()
    r = TtyRenderer(out)
    p = Progress(r)
    v = p.vertex("[1/2] FROM docker.io/library/busybox:latest")
    v.cached()
    v.done()
    v = p.vertex("[2/2] RUN make")
    v.log(b"compiling\n")
    v.done("canceled")
    r.close()
    final = out.getvalue().rsplit("\r", 1)[-1].splitlines()
    assert final[0].startswith("[+] Building ") and final[0].endswith("(2/2) FINISHED")
    assert final[1].startswith(" => CACHED [1/2] FROM docker.io/library/busybox:latest")
    assert final[2].startswith(" => CANCELED [2/2] RUN make")
