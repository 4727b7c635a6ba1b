"""Dockerfile front end: parse text into the tree of ``ast``, substitute variables, plan stages.

Pure (no kernel, no engine state): the builder (engine.build) dispatches what this returns.

    df = parse(text, "Dockerfile")                     # ast.Dockerfile, DockerfileError on bad input
    gargs = global_scope(df, build_args)               # what FROM lines see (platform args, ARGs before FROM)
    for node in stages_needed(df, target, gargs): ...  # dependencies first; build_levels() groups them
    scope = StageScope.start(build_args, gargs, image_env)
    instr = expand_instruction(instr, scope.lookup, df.escape)  # substituted where Docker substitutes
"""
from engine.build.dockerfile.ast import (AddInstr, ArgInstr, CmdInstr, CopyInstr, Dockerfile,  # noqa: F401
                                         EntrypointInstr, EnvInstr, ExposeInstr, FromInstr, HealthcheckInstr,
                                         Heredoc, Instruction, LabelInstr, LintWarning, MaintainerInstr, Mount,
                                         OnbuildInstr, RunInstr, ShellInstr, Stage, StopsignalInstr, UserInstr,
                                         VolumeInstr, WordInstr, WorkdirInstr)
from engine.build.dockerfile.args import (PLATFORM_ARGS, PROXY_ARGS, Platform, StageScope,  # noqa: F401
                                          global_scope, host_platform, parse_platform, platform_args,
                                          resolve_build_args, run_command_string, unused_build_args)
from engine.build.dockerfile.expand import display_name, expand_from, expand_instruction  # noqa: F401
from engine.build.dockerfile.parser import parse, parse_trigger  # noqa: F401
from engine.build.dockerfile.shell import ShellError, expand, expand_words  # noqa: F401
from engine.build.dockerfile.stages import StageNode, build_levels, stage_graph, stages_needed, target_stage  # noqa

__all__ = [  # the tree (ast), parse, substitution, the ARG/ENV scope and the stage plan
    "AddInstr", "ArgInstr", "CmdInstr", "CopyInstr", "Dockerfile", "EntrypointInstr", "EnvInstr", "ExposeInstr",
    "FromInstr", "HealthcheckInstr", "Heredoc", "Instruction", "LabelInstr", "LintWarning", "MaintainerInstr", "Mount",
    "OnbuildInstr", "RunInstr", "ShellInstr", "Stage", "StopsignalInstr", "UserInstr", "VolumeInstr", "WordInstr", "WorkdirInstr",
    "PLATFORM_ARGS", "PROXY_ARGS", "Platform", "StageScope", "global_scope", "host_platform", "parse_platform",
    "platform_args", "resolve_build_args", "run_command_string", "unused_build_args",
    "display_name", "expand_from", "expand_instruction", "parse", "parse_trigger", "ShellError", "expand",
    "expand_words", "StageNode", "build_levels", "stage_graph", "stages_needed", "target_stage",
]
