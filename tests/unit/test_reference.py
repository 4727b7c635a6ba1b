"""Docker image references: normalising, display form, and refusing bad ones."""
import pytest

from engine.errors import InvalidArgument
from engine.images import reference


@pytest.mark.parametrize("given, full, short", [
    ("busybox", "docker.io/library/busybox:latest", "busybox:latest"),
    ("busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"),
    ("library/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
    ("docker.io/library/busybox:latest", "docker.io/library/busybox:latest", "busybox:latest"),
    ("index.docker.io/library/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
    ("me/app:v1.2", "docker.io/me/app:v1.2", "me/app:v1.2"),
    ("localhost/app", "localhost/app:latest", "localhost/app:latest"),
    ("localhost:5000/x/y:tag", "localhost:5000/x/y:tag", "localhost:5000/x/y:tag"),
    ("ghcr.io/org/team/img:1", "ghcr.io/org/team/img:1", "ghcr.io/org/team/img:1"),
    ("my-registry.example.com:443/a__b/c.d-e", "my-registry.example.com:443/a__b/c.d-e:latest",
     "my-registry.example.com:443/a__b/c.d-e:latest"),
    ("busybox@sha256:" + "a" * 64, "docker.io/library/busybox@sha256:" + "a" * 64,
     "busybox@sha256:" + "a" * 64),
    ("busybox:1@sha256:" + "b" * 64, "docker.io/library/busybox:1@sha256:" + "b" * 64,
     "busybox:1@sha256:" + "b" * 64),
])
def test_normalize_and_familiar(given, full, short):
    assert reference.normalize(given) == full
    assert reference.familiar(full) == short


def test_parse_parts():
    r = reference.parse("localhost:5000/x/y:tag")
    assert (r.domain, r.path, r.tag, r.digest) == ("localhost:5000", "x/y", "tag", None)
    assert r.familiar_name == "localhost:5000/x/y"
    assert reference.parse("busybox", default_tag=False).tag is None


@pytest.mark.parametrize("bad", [
    "", "Busybox", "busybox:", ":tag", "a//b", "busybox:bad tag", "-x", "x-", "a:b:c",
    "busybox@sha256:short", "library/UPPER", "busybox:" + "t" * 129, "a" * 64,
])
def test_bad_references_are_refused(bad):
    with pytest.raises(InvalidArgument):
        reference.parse(bad)


def test_ids_and_prefixes():
    h = "0123456789abcdef" * 4
    assert reference.is_id(h) and reference.is_id("sha256:" + h)
    assert not reference.is_id(h[:12])
    assert reference.is_id_prefix(h[:12]) and reference.is_id_prefix("sha256:" + h[:5])
    assert not reference.is_id_prefix("busybox")
