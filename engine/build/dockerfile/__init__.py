"""Dockerfile front end: parse text into the tree of ``ast``, substitute variables, plan stages.

Pure (no kernel, no engine state): the builder (engine.build) dispatches what this returns.
"""
from engine.build.dockerfile.ast import *  # noqa: F401,F403
