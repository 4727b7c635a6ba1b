"""``parse(text)``: a Dockerfile's text -> ``ast.Dockerfile`` (stages, global ARGs, directives, notes).

Errors are ``DockerfileError`` reading "Dockerfile:LINE: INSTRUCTION: what is wrong"
(BuildKit's wording for what is wrong). Lint-style notes BuildKit prints as
warnings are collected in ``Dockerfile.warnings``; the ``# check=`` directive
skips them (``skip=Rule1,Rule2`` or ``skip=all``) or turns them into an error
(``error=true``).
"""
from __future__ import annotations

from engine.build.dockerfile import ast
from engine.build.dockerfile.instructions import InstructionError, build_instruction
from engine.build.dockerfile.lines import RawLine, read_lines
from engine.errors import DockerfileError

SYNTAX_NOTE = "the syntax directive is ignored: pycompose builds with its own Dockerfile frontend"


def _error(raw: RawLine, detail: str, filename: str) -> DockerfileError:
    kw = raw.keyword.upper()
    if not detail.upper().startswith(kw) and not detail.startswith("unknown instruction"):
        detail = f"{kw}: {detail}"
    return DockerfileError(detail, raw.line, filename)


def parse(text: str, filename: str = "Dockerfile") -> ast.Dockerfile:
    """Parse a whole Dockerfile; raises DockerfileError naming the line and the instruction."""
    read = read_lines(text, filename)
    df = ast.Dockerfile(filename=filename, escape=read.escape, directives=dict(read.directives),
                        warnings=list(read.warnings))
    if "syntax" in read.directives:
        df.warnings.append(ast.LintWarning(1, "SyntaxDirectiveIgnored", f"{SYNTAX_NOTE} ({read.directives['syntax']})"))
    seen: dict[str, int] = {}
    for raw in read.lines:
        try:
            instr = build_instruction(raw, read.escape)
        except InstructionError as e:
            raise _error(raw, str(e), filename) from None
        _lint(df, raw, instr)
        if isinstance(instr, ast.FromInstr):
            if instr.name and instr.name in seen:
                raise _error(raw, f'duplicate stage name "{instr.name}"', filename)
            if instr.name:
                seen[instr.name] = len(df.stages)
            df.stages.append(ast.Stage(index=len(df.stages), from_instr=instr))
        elif not df.stages:
            if not isinstance(instr, ast.ArgInstr):
                raise _error(raw, "no build stage in current context", filename)
            df.meta_args.append(instr)
        else:
            df.stages[-1].instructions.append(instr)
    if not df.stages:
        raise DockerfileError("no build stage in current context (the Dockerfile has no FROM)", None, filename)
    _apply_check_directive(df)
    return df


def _lint(df: ast.Dockerfile, raw: RawLine, instr: ast.Instruction) -> None:
    """The few BuildKit lint rules that need only the syntax."""
    add = df.warnings.append
    kw = raw.keyword
    if kw != kw.upper() and kw != kw.lower():
        add(ast.LintWarning(raw.line, "ConsistentInstructionCasing",
                            f"Command '{kw}' should match the case of the command majority (uppercase)"))
    if isinstance(instr, ast.MaintainerInstr):
        add(ast.LintWarning(raw.line, "MaintainerDeprecated",
                            "Maintainer instruction is deprecated in favor of using label"))
    if isinstance(instr, ast.CmdInstr) and instr.prepend_shell:
        add(ast.LintWarning(raw.line, "JSONArgsRecommended",
                            f"JSON arguments recommended for {instr.keyword} to prevent unintended behavior related "
                            "to OS signals"))
    if isinstance(instr, ast.FromInstr) and instr.name:
        words = raw.rest.split()
        as_word = words[1] if len(words) == 3 else "as"
        if words[-1] != words[-1].lower():
            add(ast.LintWarning(raw.line, "StageNameCasing", f"Stage name '{words[-1]}' should be lowercase"))
        if (kw.isupper() and as_word.islower()) or (kw.islower() and as_word.isupper()):
            add(ast.LintWarning(raw.line, "FromAsCasing",
                                f"'{as_word}' and '{kw}' keywords' casing do not match"))


def _apply_check_directive(df: ast.Dockerfile) -> None:
    """``# check=skip=A,B;error=true``: drop skipped rules, fail on the rest when error=true."""
    spec = df.directives.get("check")
    if not spec:
        return
    skip: set[str] = set()
    error = False
    for part in spec.split(";"):
        key, _, value = part.strip().partition("=")
        key = key.strip().lower()
        if key == "skip":
            skip = {v.strip() for v in value.split(",") if v.strip()}
        elif key == "error":
            error = value.strip().lower() in ("true", "1")
        elif key:
            raise DockerfileError(f"invalid check directive key: {key}", 1, df.filename)
    keep = [w for w in df.warnings if w.rule == "SyntaxDirectiveIgnored" or not ("all" in skip or w.rule in skip)]
    df.warnings = keep
    lint = [w for w in keep if w.rule != "SyntaxDirectiveIgnored"]
    if error and lint:
        rules = ", ".join(sorted({w.rule for w in lint}))
        raise DockerfileError(f"lint violation found for rules: {rules}", lint[0].line, df.filename)


def parse_trigger(expression: str, escape: str = "\\") -> ast.Instruction:
    """One ONBUILD trigger as stored in an image config's OnBuild, parsed as an instruction.

    The builder runs these, in order, right after the FROM that names such an image.
    """
    try:
        read = read_lines(expression, "ONBUILD")
    except DockerfileError as e:
        raise DockerfileError(f"ONBUILD trigger {expression!r}: {e.detail}", None, "Dockerfile") from None
    if len(read.lines) != 1:
        raise DockerfileError(f"ONBUILD trigger {expression!r}: expected one instruction", None, "Dockerfile")
    raw = read.lines[0]
    kw = raw.keyword.upper()
    if kw in ("ONBUILD", "FROM", "MAINTAINER"):
        raise DockerfileError(f"{kw} isn't allowed as an ONBUILD trigger", None, "Dockerfile")
    try:
        return build_instruction(raw, escape)
    except InstructionError as e:
        raise DockerfileError(f"ONBUILD trigger {kw}: {e}", None, "Dockerfile") from None
