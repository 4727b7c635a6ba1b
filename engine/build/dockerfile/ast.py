"""The Dockerfile syntax tree that ``parse()`` returns and the builder dispatches.

Values are kept as written (variables NOT substituted): BuildKit substitutes at
dispatch time with the build args and ENV in effect at that step, so the
builder calls ``expand_instruction(instr, env, escape)`` (engine.build.dockerfile)
which returns a copy with the words substituted where Docker does it, and
leaves this tree untouched.

Every instruction knows its ``line`` (1-based, first line of the instruction),
its ``end_line`` and ``original`` (the instruction text as written, continuation
lines joined with a space, heredoc bodies left out): progress names and image
history use it.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Heredoc:
    """One ``<<EOF`` body. ``content`` ends with a newline; ``<<-`` tabs already stripped."""

    name: str  # the delimiter word ("EOF"); for COPY/ADD it is also the destination file name
    content: str
    expand: bool = True  # False when the delimiter was quoted ('EOF' or "EOF")
    chomp: bool = False  # written as <<- (leading tabs removed from each body line)


@dataclass(frozen=True)
class Mount:
    """``RUN --mount=...``, with BuildKit's defaults filled in."""

    type: str  # "bind" | "cache" | "tmpfs" | "secret" | "ssh"
    target: str | None = None  # absolute or relative to WORKDIR; secret default /run/secrets/<id>
    source: str | None = None  # path inside ``from_`` (bind/cache) or the build context
    from_: str | None = None  # stage name/index, image ref or named context; None = build context (bind)
    readonly: bool = False  # bind: True unless "rw"/"readwrite"; cache: False unless "ro"
    id: str | None = None  # cache id (default: target), secret/ssh id (default: basename of target)
    sharing: str = "shared"  # cache: "shared" | "private" | "locked"
    mode: int | None = None  # cache 0o755, secret 0o400 by default (None = default)
    uid: int | None = None
    gid: int | None = None
    required: bool = False  # secret/ssh: fail the step when missing
    env: str | None = None  # secret: also expose it as this environment variable
    size: int | None = None  # tmpfs size in bytes


@dataclass
class Instruction:
    """Fields every instruction has."""

    line: int
    end_line: int
    original: str

    @property
    def keyword(self) -> str:
        """The upper-case instruction name ("RUN", "COPY", ...)."""
        return type(self).KEYWORD  # type: ignore[attr-defined]


@dataclass
class FromInstr(Instruction):
    KEYWORD = "FROM"
    base: str = ""  # image reference, stage name or "scratch" (ARGs before FROM substitute it)
    name: str | None = None  # "AS name", lower-cased
    platform: str | None = None  # --platform value as written


@dataclass
class RunInstr(Instruction):
    KEYWORD = "RUN"
    command: list[str] = field(default_factory=list)  # exec form: argv; shell form: [the command line]
    prepend_shell: bool = True  # shell form: run as SHELL + [command[0]]
    heredocs: list[Heredoc] = field(default_factory=list)
    mounts: list[Mount] = field(default_factory=list)  # filled at parse, or by expand when a spec has "$"
    mount_specs: list[str] = field(default_factory=list)  # the --mount values as written
    network: str | None = None  # "default" | "none" | "host"
    security: str | None = None  # "sandbox" | "insecure"


@dataclass
class CopyInstr(Instruction):
    KEYWORD = "COPY"
    sources: list[str] = field(default_factory=list)  # as written; heredoc sources are in ``heredocs``
    dest: str = ""
    heredocs: list[Heredoc] = field(default_factory=list)  # COPY <<EOF /dest: a file named heredoc.name
    from_: str | None = None  # --from: stage name/index, image ref or named context
    chown: str | None = None
    chmod: str | None = None  # octal ("0755") or symbolic as written
    link: bool = False
    parents: bool = False
    excludes: list[str] = field(default_factory=list)  # --exclude patterns


@dataclass
class AddInstr(CopyInstr):
    KEYWORD = "ADD"
    checksum: str | None = None  # --checksum=sha256:... (URL sources)
    keep_git_dir: bool = False
    unpack: bool | None = None  # --unpack (None = Docker's default: extract local archives)


@dataclass
class EnvInstr(Instruction):
    KEYWORD = "ENV"
    pairs: list[tuple[str, str]] = field(default_factory=list)  # raw words (quotes kept until expand)


@dataclass
class ArgInstr(Instruction):
    KEYWORD = "ARG"
    args: list[tuple[str, str | None]] = field(default_factory=list)  # (name, default or None)


@dataclass
class WordInstr(Instruction):
    """An instruction of exactly one word, taken as written (WORKDIR's path, USER's user[:group],
    STOPSIGNAL's signal): parsed by one rule, substituted as one word."""

    word: str = ""


class WorkdirInstr(WordInstr):
    KEYWORD = "WORKDIR"


class UserInstr(WordInstr):
    KEYWORD = "USER"


class StopsignalInstr(WordInstr):
    KEYWORD = "STOPSIGNAL"


@dataclass
class ExposeInstr(Instruction):
    KEYWORD = "EXPOSE"
    ports: list[str] = field(default_factory=list)  # "80", "53/udp", "8000-8010/tcp"


@dataclass
class LabelInstr(Instruction):
    KEYWORD = "LABEL"
    pairs: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class CmdInstr(Instruction):
    KEYWORD = "CMD"
    command: list[str] = field(default_factory=list)
    prepend_shell: bool = False


@dataclass
class EntrypointInstr(CmdInstr):
    KEYWORD = "ENTRYPOINT"


@dataclass
class HealthcheckInstr(Instruction):
    """``test`` is Docker's Healthcheck.Test: ["NONE"], ["CMD", ...] or ["CMD-SHELL", "..."]."""

    KEYWORD = "HEALTHCHECK"
    test: list[str] = field(default_factory=list)
    interval: int | None = None  # nanoseconds, like Docker's image config
    timeout: int | None = None
    start_period: int | None = None
    start_interval: int | None = None
    retries: int | None = None


@dataclass
class ShellInstr(Instruction):
    KEYWORD = "SHELL"
    shell: list[str] = field(default_factory=list)


@dataclass
class VolumeInstr(Instruction):
    KEYWORD = "VOLUME"
    paths: list[str] = field(default_factory=list)


@dataclass
class OnbuildInstr(Instruction):
    """Stored in the image config's OnBuild as ``expression``; ``trigger`` is it parsed."""

    KEYWORD = "ONBUILD"
    expression: str = ""
    trigger: Instruction | None = None


@dataclass
class MaintainerInstr(Instruction):
    KEYWORD = "MAINTAINER"
    maintainer: str = ""


@dataclass(frozen=True)
class LintWarning:
    """A lint-style note BuildKit would print (rule name as BuildKit spells it)."""

    line: int
    rule: str
    message: str


@dataclass
class Stage:
    """``FROM ... [AS name]`` and the instructions up to the next FROM."""

    index: int
    from_instr: FromInstr
    instructions: list[Instruction] = field(default_factory=list)

    @property
    def name(self) -> str | None:
        return self.from_instr.name

    @property
    def base(self) -> str:
        return self.from_instr.base

    @property
    def platform(self) -> str | None:
        return self.from_instr.platform


@dataclass
class Dockerfile:
    filename: str = "Dockerfile"
    escape: str = "\\"
    directives: dict[str, str] = field(default_factory=dict)  # "syntax", "escape", "check" as written
    meta_args: list[ArgInstr] = field(default_factory=list)  # ARGs before the first FROM
    stages: list[Stage] = field(default_factory=list)
    warnings: list[LintWarning] = field(default_factory=list)

    def stage(self, ref: str | int) -> Stage | None:
        """The stage named ``ref`` (case-insensitive) or numbered ``ref``; None if absent."""
        if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
            i = int(ref)
            return self.stages[i] if 0 <= i < len(self.stages) else None
        low = ref.lower()
        for st in self.stages:
            if st.name == low:
                return st
        return None
