"""Output of the compose commands: progress views (rich live, plain, json) and log prefixes."""
from compose.render.progress import Progress, make_progress  # noqa: F401
from compose.render.logs import LogPrinter  # noqa: F401
