"""When compose pulls a service's image (pure): ``pull_policy``, ``up --pull``, ``pull --policy``.

Rules of Docker Compose v2 (compose-go's ``GetPullPolicy`` and pkg/compose's
``mustPull`` / ``pull``):

* ``up``/``create``/``run`` pull when the policy says so: ``always``; ``missing``,
  ``if_not_present`` or no policy when the image is not there; ``daily``, ``weekly``,
  ``every_<duration>`` when it is not there or was last pulled longer ago than that;
  never for ``never`` and ``build`` (the build decides), nor for a service without image;
* ``pycompose pull`` pulls every service image except ``never``/``build``, and for
  ``missing``/``if_not_present`` skips an image already here unless its tag is ``latest``.

``local`` below is the engine's image inspect dict (or None when the image is not there);
its ``Metadata.LastTagTime`` is when it was last pulled or tagged.
"""
from __future__ import annotations


from compose.errors import ComposeError, UsageError
from engine.values import parse_duration, parse_rfc3339

ALWAYS, NEVER, MISSING, IF_NOT_PRESENT, BUILD, REFRESH = (
    "always", "never", "missing", "if_not_present", "build", "refresh")
UP_CHOICES = (ALWAYS, MISSING, NEVER, BUILD, IF_NOT_PRESENT)  # `up --pull` (besides "policy")
PULL_CHOICES = (MISSING, ALWAYS)                             # `pull --policy`

DAY = 24 * 3600.0


class PullPolicyError(ComposeError):
    """A ``pull_policy: every_<duration>`` whose duration cannot be read."""


def parse(policy: str | None) -> tuple[str, float]:
    """``pull_policy`` -> (kind, refresh seconds): daily/weekly/every_X become ``refresh``;
    an unknown value reads as ``missing``, as compose-go does."""
    p = policy or ""
    if p in (ALWAYS, NEVER, MISSING, IF_NOT_PRESENT, BUILD):
        return p, 0.0
    if p == "daily":
        return REFRESH, DAY
    if p == "weekly":
        return REFRESH, 7 * DAY
    if p.startswith("every_"):
        try:
            ns = parse_duration(p[len("every_"):], extended=True)
        except ValueError as e:
            raise PullPolicyError(f"invalid pull_policy {p!r}: {e}") from None
        return REFRESH, ns / 1e9
    return MISSING, 0.0


def last_pulled(local: dict | None) -> float | None:
    """Unix time of ``Metadata.LastTagTime`` (None when unknown or zero)."""
    text = ((local or {}).get("Metadata") or {}).get("LastTagTime") or ""
    if not text or text.startswith("0001-"):
        return None
    try:
        return parse_rfc3339(text) / 1e9
    except ValueError:
        return None


def must_pull(service: dict, local: dict | None, now: float) -> bool:
    """Before ``up``/``create``/``run``: does this service's image need a pull?"""
    if not service.get("image") or service.get("provider"):
        return False
    kind, every = parse(service.get("pull_policy"))
    if kind == ALWAYS:
        return True
    if kind in (NEVER, BUILD):
        return False
    if local is None:
        return True
    if kind == REFRESH:
        when = last_pulled(local)
        return when is None or now > when + every
    return False


def skip_reason(service: dict, local: dict | None, ignore_buildable: bool) -> str | None:
    """For ``pycompose pull``: why the service is skipped (Compose's wording), None to pull it."""
    image = service.get("image")
    if not image:
        return "No image to be pulled"
    kind = service.get("pull_policy") or ""  # no policy: `pull` pulls it (only `up` reads it as missing)
    if kind in (NEVER, BUILD):
        return ""
    if kind in (MISSING, IF_NOT_PRESENT) and local is not None and tag_of(image) != "latest":  # digests too
        return "Image is already present locally"
    if service.get("build") is not None and ignore_buildable:
        return "Image can be built"
    return None


def tag_of(image: str) -> str | None:
    """The tag of a reference (``latest`` when it has neither tag nor digest; None with only a digest)."""
    name, at, _digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        return last.rsplit(":", 1)[1]
    return None if at else "latest"


def check_up_choice(value: str | None) -> str | None:
    """``up/create/run --pull``: None or ``policy`` keep each service's own policy."""
    if value in (None, "", "policy"):
        return None
    if value not in UP_CHOICES:
        raise UsageError(f"invalid --pull option {value!r}")
    return value


def check_pull_choice(value: str | None) -> str | None:
    if not value:
        return None
    if value not in PULL_CHOICES:
        raise UsageError(f"invalid --policy option {value!r}")
    return value


def with_policy(services: dict[str, dict], policy: str | None) -> dict[str, dict]:
    """The services with ``policy`` applied to every one that names an image (``--pull X``)."""
    if not policy:
        return services
    return {n: (dict(s, pull_policy=policy) if s.get("image") else s) for n, s in services.items()}
