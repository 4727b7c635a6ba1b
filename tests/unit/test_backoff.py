"""engine.supervisor.restart: Docker's policies and back-off (moby restartmanager)."""
from __future__ import annotations

import pytest

from engine.errors import InvalidArgument
from engine.supervisor.restart import MAX_DELAY, RestartManager, RestartPolicy


def policy(name, n=0):
    return RestartPolicy.from_hostconfig({"RestartPolicy": {"Name": name, "MaximumRetryCount": n}})


def test_on_failure_n_restarts_exactly_n_times():
    rm = RestartManager(policy("on-failure", 3))
    decisions = [rm.should_restart(1, False, 0.1)[0] for _ in range(5)]
    assert decisions == [True, True, True, False, False]
    assert rm.restart_count == 3


def test_on_failure_ignores_success_and_unbounded_without_n():
    rm = RestartManager(policy("on-failure"))
    assert rm.should_restart(0, False, 0.1)[0] is False
    assert all(rm.should_restart(2, False, 0.1)[0] for _ in range(20))


def test_backoff_doubles_from_100ms_and_resets_after_10s_run():
    rm = RestartManager(policy("always"))
    delays = [rm.should_restart(0, False, 1.0)[1] for _ in range(4)]
    assert delays == pytest.approx([0.1, 0.2, 0.4, 0.8])
    assert rm.should_restart(0, False, 10.5)[1] == pytest.approx(0.1)
    for _ in range(30):
        d = rm.should_restart(0, False, 0.0)[1]
    assert d == MAX_DELAY


def test_manual_stop_is_never_restarted():
    for name in ("always", "unless-stopped", "on-failure"):
        assert RestartManager(policy(name)).should_restart(1, True, 1.0)[0] is False


def test_no_policy_and_boot_rules():
    assert RestartManager(policy("no")).should_restart(1, False, 1.0)[0] is False
    assert RestartManager(RestartPolicy.from_hostconfig({})).should_restart(1, False, 1.0)[0] is False
    assert policy("always").restarts_on_boot(True)
    assert policy("unless-stopped").restarts_on_boot(False) and not policy("unless-stopped").restarts_on_boot(True)
    assert not policy("on-failure", 2).restarts_on_boot(False)


def test_bad_policies():
    with pytest.raises(InvalidArgument, match="invalid restart policy 'sometimes'"):
        policy("sometimes")
    with pytest.raises(InvalidArgument, match="maximum retry count"):
        policy("always", 3)
