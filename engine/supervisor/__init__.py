"""The supervisor: one detached daemon per data root that owns container processes.

Why one daemon and not one per container: a Python process costs megabytes
where conmon costs half a MiB, so a single process serves every container of
the root (logs, exit codes, restart policy, healthchecks, events, DNS).

Modules, one job each:

* ``client``    what the API calls (``SupervisorClient``); starts the daemon on demand
* ``protocol``  JSON lines over ``$ROOT/run/supervisor.sock``, typed errors both ways
* ``daemon``    the event loop (pidfds, FIFOs, timers; no polling) and the lifecycle verbs
* ``starter``   a start as a transaction (engine.transaction): each step's undo runs on failure
* ``exits``     an exit: output drained, cgroup and network released, state, restart or --rm
* ``requests``  the control socket: read a request line, dispatch to ``op_*``, reply
* ``box``       what the daemon keeps per container
* ``stdio``     output FIFOs into the log, stdin (OpenStdin/StdinOnce), the parked pty master
* ``logwriter`` Docker's json-file format (16 KiB partials, max-size/max-file rotation)
* ``restart``   restart policies and moby's back-off, as pure decisions
* ``health`` / ``probes``  Docker's healthcheck rules / running the probes
* ``events``    Docker events, their filters and the history behind ``--since``
* ``boot``      re-adoption of containers a dead daemon left running
* ``networker`` network hooks in a worker forked on demand (keeps pyroute2 out of the daemon);
                requests are pipelined so network work overlaps the rest of a start
* ``statewrite`` state.json writes without fsync (rebuilt by reconcile after a crash)
* ``phases``    where each start/exit spends its time, logged when profiling or benchmarking
"""

__all__: list[str] = []  # a package of modules: the API imports engine.supervisor.client; the rest runs in the daemon
