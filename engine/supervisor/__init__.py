"""The supervisor: one detached daemon per data root that owns container processes.

Why one daemon and not one per container: a Python process costs megabytes
where conmon costs half a MiB, so a single process serves every container of
the root (logs, exit codes, restart policy, healthchecks, events, DNS).
Modules: ``daemon`` (the event loop), ``client`` (what the API calls),
``protocol`` (JSON lines over ``$ROOT/run/supervisor.sock``), ``logwriter``
(Docker's json-file format), ``restart`` (policy and back-off), ``health``
(Docker's healthcheck state machine), ``events`` (history and filters).
"""
