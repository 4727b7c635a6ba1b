"""Variable substitution of one instruction at dispatch time, where BuildKit does it.

Why at dispatch: the values (ARGs with their build-arg overrides, ENV set by earlier
steps) are known only when the stage reaches the instruction. Which words are
substituted is the front end's rule (``engine.build.dockerfile.expand``); errors name
the Dockerfile line (``DockerfileError``).
"""
from __future__ import annotations

from engine.build.dockerfile.expand import expand_instruction


def expand_instr(instr, env: dict[str, str], escape: str = "\\", filename: str = "Dockerfile"):
    """A copy of ``instr`` with its words substituted from ``env``."""
    return expand_instruction(instr, env, escape, filename)
