"""The registry CLI's pure parts: docker's progress lines, pull_policy decisions, flags, rows."""
from __future__ import annotations

import argparse
import io
from datetime import datetime, timedelta, timezone

import pytest

from compose import pullpolicy as pp
from compose.errors import UsageError
from compose.pulling import docker_ref
from compose.render.progress import make_progress
from engine.jsonmessage import MessageDisplay, human_size, progress_text

PULL = [
    {"status": "Pulling from library/busybox", "id": "latest"},
    {"status": "Pulling fs layer", "id": "9ad63333ebc9", "progressDetail": {}},
    {"status": "Waiting", "id": "3f4d90098f5b", "progressDetail": {}},
    {"status": "Downloading", "id": "9ad63333ebc9", "progressDetail": {"current": 32768, "total": 2152262}},
    {"status": "Verifying Checksum", "id": "9ad63333ebc9", "progressDetail": {}},
    {"status": "Download complete", "id": "9ad63333ebc9", "progressDetail": {}},
    {"status": "Extracting", "id": "9ad63333ebc9", "progressDetail": {"current": 65536, "total": 2152262}},
    {"status": "Pull complete", "id": "9ad63333ebc9", "progressDetail": {}},
    {"status": "Already exists", "id": "3f4d90098f5b", "progressDetail": {}},
    {"status": "Digest: sha256:" + "ab" * 32},
    {"status": "Status: Downloaded newer image for busybox:latest"},
]


def test_progress_text_like_docker():
    assert progress_text({"current": 1_200_000, "total": 2_200_000}) == \
        "[" + "=" * 27 + ">" + " " * 23 + "]    1.2MB/2.2MB"
    assert progress_text({"current": 1_200_000, "total": 2_200_000}, width=80) == "   1.2MB/2.2MB"
    assert progress_text({"current": 5000}) == "     5kB"
    assert progress_text({}) == "" and progress_text(None) == ""
    assert progress_text({"current": 3, "total": 2}, width=80) == "      3B"  # wonky total: no total shown
    assert progress_text({"current": 50, "total": 100, "start": 1000}, width=80, now=1010) == "     50B/100B 10s"
    assert human_size(2152262) == "2.152MB" and human_size(999) == "999B"


def test_plain_display_leaves_out_bars_like_docker_off_a_terminal():
    out = io.StringIO()
    with MessageDisplay(out, "plain") as d:
        for m in PULL:
            d(m)
    assert out.getvalue().splitlines() == [
        "latest: Pulling from library/busybox",
        "9ad63333ebc9: Pulling fs layer",
        "3f4d90098f5b: Waiting",
        "9ad63333ebc9: Verifying Checksum",
        "9ad63333ebc9: Download complete",
        "9ad63333ebc9: Pull complete",
        "3f4d90098f5b: Already exists",
        "Digest: sha256:" + "ab" * 32,
        "Status: Downloaded newer image for busybox:latest",
    ]


def test_live_display_keeps_one_line_per_layer_and_quiet_prints_nothing():
    out = io.StringIO()
    d = MessageDisplay(out, "tty")
    for m in PULL[:4]:
        d(m)
    assert d.rows[d.index["9ad63333ebc9"]][1]["status"] == "Downloading"
    for m in PULL[4:]:
        d(m)
    d.close()
    final = out.getvalue().splitlines()
    assert final == ["latest: Pulling from library/busybox", "9ad63333ebc9: Pull complete",
                     "3f4d90098f5b: Already exists", "Digest: sha256:" + "ab" * 32,
                     "Status: Downloaded newer image for busybox:latest"]
    quiet = io.StringIO()
    with MessageDisplay(quiet, "quiet") as q:
        for m in PULL:
            q(m)
    assert quiet.getvalue() == ""


def test_compose_progress_shows_layers_under_their_image():
    out = io.StringIO()
    p = make_progress("plain", out, title="Pulling")
    p.event("Image", "busybox:latest", "Pulling")
    p.event("", "9ad63333ebc9", "Pull complete", parent="Image busybox:latest")
    p.event("Image", "busybox:latest", "Pulled")
    assert out.getvalue().splitlines() == [" Image busybox:latest  Pulling", " 9ad63333ebc9 Pull complete",
                                           " Image busybox:latest  Pulled"]
    child = p.lines["Image busybox:latest/9ad63333ebc9"]
    assert child.ended is not None and child.parent == "Image busybox:latest"


# ----------------------------------------------------------------------------- pull_policy

NOW = datetime(2026, 1, 10, 12, 0, tzinfo=timezone.utc).timestamp()


def _local(pulled_ago: timedelta | None) -> dict:
    if pulled_ago is None:
        return {"Id": "sha256:x", "Metadata": {"LastTagTime": "0001-01-01T00:00:00Z"}}
    t = datetime.fromtimestamp(NOW, timezone.utc) - pulled_ago
    return {"Id": "sha256:x", "Metadata": {"LastTagTime": t.strftime("%Y-%m-%dT%H:%M:%S.123456789Z")}}


@pytest.mark.parametrize("policy,local,expected", [
    (None, None, True), (None, _local(None), False),
    ("missing", None, True), ("missing", _local(None), False),
    ("if_not_present", _local(None), False), ("always", _local(None), True),
    ("never", None, False), ("build", None, False),
    ("daily", None, True), ("daily", _local(timedelta(hours=23)), False), ("daily", _local(timedelta(hours=25)), True),
    ("weekly", _local(timedelta(days=6)), False), ("weekly", _local(timedelta(days=8)), True),
    ("every_12h", _local(timedelta(hours=11)), False), ("every_12h", _local(timedelta(hours=13)), True),
    ("every_2d", _local(timedelta(days=1)), False), ("daily", _local(None), True),  # never pulled: pull
])
def test_must_pull_before_up(policy, local, expected):
    svc = {"image": "reg/app:1"} | ({"pull_policy": policy} if policy else {})
    assert pp.must_pull(svc, local, NOW) is expected


def test_no_image_or_bad_duration():
    assert pp.must_pull({"build": {"context": "."}}, None, NOW) is False
    with pytest.raises(pp.PullPolicyError, match="every_soon"):
        pp.parse("every_soon")
    assert pp.parse("weekly") == (pp.REFRESH, 7 * 24 * 3600.0)


def test_pull_command_skips_like_compose():
    assert pp.skip_reason({"image": "x:1", "pull_policy": "missing"}, {"Id": "i"}, False) == \
        "Image is already present locally"
    assert pp.skip_reason({"image": "x:latest", "pull_policy": "missing"}, {"Id": "i"}, False) is None  # latest: pulled
    assert pp.skip_reason({"image": "x", "pull_policy": "if_not_present"}, {"Id": "i"}, False) is None
    assert pp.skip_reason({"image": "x@sha256:" + "0" * 64, "pull_policy": "missing"}, {"Id": "i"}, False) == \
        "Image is already present locally"
    assert pp.skip_reason({"image": "x:1", "pull_policy": "never"}, None, False) == ""
    assert pp.skip_reason({"image": "x:1", "build": {}}, None, True) == "Image can be built"
    assert pp.skip_reason({"image": "x:1", "build": {}}, None, False) is None
    assert pp.skip_reason({"build": {}}, None, False) == "No image to be pulled"
    assert pp.skip_reason({"image": "x:1"}, {"Id": "i"}, False) is None  # no policy: always pulled


def test_flag_choices():
    assert pp.check_up_choice("policy") is None and pp.check_up_choice("always") == "always"
    with pytest.raises(UsageError, match="invalid --pull option 'sometimes'"):
        pp.check_up_choice("sometimes")
    with pytest.raises(UsageError, match="invalid --policy option 'never'"):
        pp.check_pull_choice("never")
    services = {"a": {"image": "x"}, "b": {"build": {}}}
    assert pp.with_policy(services, "always") == {"a": {"image": "x", "pull_policy": "always"}, "b": {"build": {}}}


def test_tag_and_docker_ref():
    assert pp.tag_of("localhost:5000/a/b") == "latest" and pp.tag_of("a@sha256:" + "0" * 64) is None
    assert pp.tag_of("localhost:5000/a:1.2") == "1.2"
    assert docker_ref("busybox") == ("docker.io/library/busybox", "latest", None)
    assert docker_ref("me/app:1") == ("docker.io/me/app", "1", None)
    assert docker_ref("127.0.0.1:5000/x/y:2") == ("127.0.0.1:5000/x/y", "2", None)
    d = "sha256:" + "1" * 64
    assert docker_ref(f"localhost/app:3@{d}") == ("localhost/app", None, d)  # digest wins, tag dropped


# ----------------------------------------------------------------------------- engine CLI


def _image_parser():
    from engine.cli import image

    p = argparse.ArgumentParser()
    image.add_arguments(p, "image")
    return p


def test_image_pull_push_search_flags():
    p = _image_parser()
    a = p.parse_args(["pull", "-a", "-q", "--platform", "linux/arm64", "127.0.0.1:5000/x"])
    assert (a.verb, a.all_tags, a.quiet, a.platform, a.reference) == ("pull", True, True, "linux/arm64",
                                                                       "127.0.0.1:5000/x")
    a = p.parse_args(["push", "--all-tags", "x"])
    assert a.all_tags and not a.quiet
    a = p.parse_args(["search", "--limit", "5", "--filter", "is-official=true", "--no-trunc", "busy"])
    assert (a.limit, a.filter, a.no_trunc, a.term) == (5, ["is-official=true"], True, "busy")


def test_pull_refuses_tag_with_all_tags():
    from engine.cli import registry
    from engine.errors import InvalidArgument

    a = _image_parser().parse_args(["pull", "-a", "busybox:1"])
    with pytest.raises(InvalidArgument, match="tag can't be used with --all-tags/-a"):
        registry.pull(a)


def test_search_rows_and_limits():
    from engine.cli import registry
    from engine.errors import InvalidArgument

    desc = "Busybox base image with a rather long\ndescription that docker cuts"
    rows = registry.search_rows([{"name": "busybox", "description": desc, "star_count": 3, "is_official": True}],
                                no_trunc=False)
    assert rows[0]["Description"] == desc.replace("\n", " ")[:44] + "…"
    assert registry.search_rows([{"description": desc}], no_trunc=True)[0]["Description"] == desc.replace("\n", " ")
    assert (rows[0]["StarCount"], rows[0]["IsOfficial"]) == ("3", "[OK]")
    a = _image_parser().parse_args(["search", "--limit", "101", "x"])
    with pytest.raises(InvalidArgument, match=r"limit 101 is outside the range of \[1, 100\]"):
        registry.search(a)


def test_images_digest_rows_per_repository():
    from engine.cli.image import _names

    class Rec:
        refs = ["127.0.0.1:5000/app:1", "127.0.0.1:5000/app:2", "docker.io/library/busybox:latest"]
        repo_digests = ["127.0.0.1:5000/app@sha256:" + "a" * 64, "127.0.0.1:5000/app@sha256:" + "b" * 64,
                        "127.0.0.1:5000/other@sha256:" + "c" * 64]

    rows = _names(Rec, [], digests=True)
    assert ("127.0.0.1:5000/app", "1", "sha256:" + "a" * 64) in rows
    assert ("127.0.0.1:5000/app", "2", "sha256:" + "b" * 64) in rows
    assert ("busybox", "latest", "<none>") in rows  # no digest for its own repository
    assert ("127.0.0.1:5000/other", "<none>", "sha256:" + "c" * 64) in rows
    assert len(rows) == 6
    assert len(_names(Rec, [], digests=False)) == 4


def test_login_flag_checks(monkeypatch):
    from engine.cli import login

    p = argparse.ArgumentParser()
    login.add_arguments(p, "login")
    with pytest.raises(login.LoginError, match="Must provide --username with --password-stdin"):
        login.read_credentials(p.parse_args(["--password-stdin"]))
    with pytest.raises(login.LoginError, match="mutually exclusive"):
        login.read_credentials(p.parse_args(["-p", "x", "--password-stdin", "-u", "a"]))
    monkeypatch.setattr("sys.stdin", io.StringIO("s3cret\n"))
    assert login.read_credentials(p.parse_args(["-u", "alice", "--password-stdin"])) == ("alice", "s3cret")
    assert login.hostname(None) == login.DEFAULT_SERVER
    assert login.hostname("http://127.0.0.1:5000/v2/") == "127.0.0.1:5000"


# ----------------------------------------------------------------------------- compose pull logic
# A stand-in engine (unit tests have no registry; tests/registry/ runs the real one): it
# records the pulls asked of it, so the selection and de-duplication rules are visible.


class _Images:
    def __init__(self, present, failing=()):
        self.present, self.failing, self.pulls = set(present), set(failing), []

    def inspect(self, ref):
        from engine.errors import NotFound

        if ref not in self.present:
            raise NotFound(f"No such image: {ref}")
        return {"Id": "sha256:" + ref, "Metadata": {"LastTagTime": ""}}

    def pull(self, ref, platform=None, progress=None):
        self.pulls.append((ref, platform))
        if ref in self.failing:
            from engine.errors import RegistryError

            raise RegistryError(f"pull access denied for {ref}")
        self.present.add(ref)
        return {"ref": ref}


def _backend(services, present=(), failing=()):
    from compose.backend import Compose
    from compose.project import Project

    class Eng:
        images = _Images(present, failing)

    out = io.StringIO()
    b = Compose(Eng(), Project("p", model={"services": services}), progress=make_progress("plain", out))
    return b, Eng.images, out


def test_up_pulls_each_missing_image_once_with_its_platform():
    from compose.pulling import pull_for

    b, images, out = _backend({
        "a": {"image": "r/x:1", "platform": "linux/arm64"}, "b": {"image": "r/x:1"},
        "c": {"image": "r/here:1"}, "d": {"image": "r/never:1", "pull_policy": "never", "build": {}},
        "e": {"image": "r/always:1", "pull_policy": "always"}}, present={"r/here:1", "r/always:1"})
    pull_for(b, [])
    assert sorted(images.pulls) == [("r/always:1", None), ("r/x:1", "linux/arm64")]
    assert " Image r/x:1  Pulled" in out.getvalue().splitlines()
    images.pulls.clear()
    pull_for(b, ["c"], policy="always")
    assert images.pulls == [("r/here:1", None)]
    from compose.pulling import ImageMissing

    b, images, out = _backend({"a": {"image": "r/x:1", "pull_policy": "never"}})
    with pytest.raises(ImageMissing, match="image r/x:1 not found locally and its pull_policy is never"):
        pull_for(b, [])
    assert images.pulls == []


def test_up_pull_failure_raises_unless_the_image_can_be_built():
    from compose.pulling import pull_for
    from engine.errors import RegistryError

    b, images, out = _backend({"a": {"image": "r/app:1", "build": {"context": "."}}}, failing={"r/app:1"})
    pull_for(b, [])  # built later instead
    assert " Image r/app:1  Warning pull access denied for r/app:1" in out.getvalue().splitlines()
    b, images, out = _backend({"a": {"image": "r/nope:1"}}, failing={"r/nope:1"})
    with pytest.raises(RegistryError, match="pull access denied for r/nope:1"):
        pull_for(b, [])
    assert " Image r/nope:1  Error pull access denied for r/nope:1" in out.getvalue().splitlines()


def test_pull_command_skips_and_ignores_failures():
    from compose.pulling import PullOptions, pull_command

    b, images, out = _backend({"a": {"image": "r/x:1", "pull_policy": "missing"}, "b": {"image": "r/y:1"},
                               "c": {"image": "r/bad:1"}, "d": {"build": {}}},
                              present={"r/x:1"}, failing={"r/bad:1"})
    pull_command(b, PullOptions(ignore_failures=True))
    assert sorted(r for r, _ in images.pulls) == ["r/bad:1", "r/y:1"]
    lines = out.getvalue().splitlines()
    assert " Image r/x:1  Skipped Image is already present locally" in lines
    assert " d  Skipped No image to be pulled" in lines
    from engine.errors import RegistryError

    with pytest.raises(RegistryError):
        pull_command(b, PullOptions(services=["c"]))
