"""up's convergence plan from engine state (containers as /containers/json dicts) + model."""
from compose import convert as cv
from compose import plan as pl


def ctr(svc, n, state="running", h="h1", image="sha256:i", project="p", oneoff="False"):
    return {"Id": f"{svc}{n}" * 4, "Names": [f"/{project}-{svc}-{n}"], "State": state,
            "Labels": {cv.PROJECT: project, cv.SERVICE: svc, cv.NUMBER: str(n), cv.CONFIG_HASH: h,
                       cv.IMAGE: image, cv.ONEOFF: oneoff}}


SERVICES = {
    "db": {"image": "busybox"},
    "web": {"image": "busybox", "depends_on": {"db": {"condition": "service_healthy", "required": True}}},
    "worker": {"image": "busybox", "depends_on": {"db": {"condition": "service_started", "restart": True}}},
}
HASHES = {"db": "h1", "web": "h1", "worker": "h1"}


def kinds(plan):
    return {s: [(a.kind, a.number) for a in acts] for s, acts in plan.services.items()}


def test_fresh_project_creates_one_each():
    plan = pl.make_plan("p", SERVICES, [], HASHES)
    assert kinds(plan) == {"db": [("create", 1)], "web": [("create", 1)], "worker": [("create", 1)]}
    assert not plan.changes_nothing


def test_second_up_with_nothing_changed_changes_nothing():
    state = [ctr("db", 1), ctr("web", 1), ctr("worker", 1)]
    plan = pl.make_plan("p", SERVICES, state, HASHES, {"db": "sha256:i"})
    assert plan.changes_nothing
    assert all(a.kind == "noop" for a in plan.actions())


def test_changed_service_recreated_alone_but_restart_true_dependents_follow():
    state = [ctr("db", 1, h="old"), ctr("web", 1), ctr("worker", 1)]
    plan = pl.make_plan("p", SERVICES, state, HASHES)
    assert kinds(plan)["db"] == [("recreate", 1)]
    assert kinds(plan)["web"] == [("noop", 1)]          # no restart: true
    assert kinds(plan)["worker"] == [("recreate", 1)]   # restart: true
    assert plan.services["worker"][0].reason == "dependency db recreated"


def test_image_change_force_and_no_recreate():
    state = [ctr("db", 1, image="sha256:old"), ctr("web", 1), ctr("worker", 1)]
    assert kinds(pl.make_plan("p", {"db": SERVICES["db"]}, state, HASHES, {"db": "sha256:new"}))["db"] == [("recreate", 1)]
    forced = pl.make_plan("p", SERVICES, [ctr("db", 1), ctr("web", 1), ctr("worker", 1)], HASHES,
                          opts=pl.PlanOptions(force_recreate=True))
    assert all(a.kind == "recreate" for a in forced.actions())
    kept = pl.make_plan("p", SERVICES, [ctr("db", 1, h="old", state="exited")], HASHES,
                        opts=pl.PlanOptions(no_recreate=True))
    assert kinds(kept)["db"] == [("start", 1)]


def test_stopped_container_is_started():
    plan = pl.make_plan("p", {"db": SERVICES["db"]}, [ctr("db", 1, state="exited")], HASHES)
    assert kinds(plan) == {"db": [("start", 1)]}


def test_scale_up_and_down_highest_numbers_first():
    svc = {"web": {"image": "busybox", "deploy": {"replicas": 2}}}
    state = [ctr("web", 1), ctr("web", 3), ctr("web", 4)]
    plan = pl.make_plan("p", svc, state, {"web": "h1"})
    assert kinds(plan) == {"web": [("remove", 4), ("noop", 1), ("noop", 3)]}
    one = pl.make_plan("p", svc, state, {"web": "h1"}, opts=pl.PlanOptions(scale={"web": 1}))
    assert kinds(one) == {"web": [("remove", 4), ("remove", 3), ("noop", 1)]}
    up = pl.make_plan("p", svc, state, {"web": "h1"}, opts=pl.PlanOptions(scale={"web": 5}))
    assert kinds(up) == {"web": [("noop", 1), ("noop", 3), ("noop", 4), ("create", 2), ("create", 5)]}
    assert pl.replicas({"scale": 0}) == 0


def test_orphans_found_and_oneoff_and_other_projects_ignored():
    state = [ctr("db", 1), ctr("old", 1), ctr("db", 1, project="other"), ctr("db", 9, oneoff="True")]
    plan = pl.make_plan("p", {"db": SERVICES["db"]}, state, HASHES, all_services=["db"])
    assert [o["Names"][0] for o in plan.orphans] == ["/p-old-1"]
    assert kinds(plan) == {"db": [("noop", 1)]}
    assert plan.changes_nothing  # orphans kept unless --remove-orphans
    plan2 = pl.make_plan("p", {"db": SERVICES["db"]}, state, HASHES, opts=pl.PlanOptions(remove_orphans=True))
    assert not plan2.changes_nothing
    assert any("remove (orphan)" in line for line in plan2.describe())


def test_describe_lists_every_step():
    lines = pl.make_plan("p", SERVICES, [ctr("db", 1, h="x")], HASHES).describe()
    assert any(l.startswith("db") and "recreate (configuration changed)" in l for l in lines)
    assert sum("create" in l for l in lines) == 3


def test_force_recreate_named_service_leaves_its_dependencies_unless_always_recreate_deps():
    state = [ctr("db", 1), ctr("web", 1)]
    svcs = {"db": SERVICES["db"], "web": SERVICES["web"]}
    p = pl.make_plan("p", svcs, state, HASHES, opts=pl.PlanOptions(force_recreate=True, force_services={"web"}))
    assert kinds(p) == {"db": [("noop", 1)], "web": [("recreate", 1)]}
    p = pl.make_plan("p", svcs, state, HASHES, opts=pl.PlanOptions(always_recreate_deps=True, force_services={"web"}))
    assert kinds(p) == {"db": [("recreate", 1)], "web": [("noop", 1)]}
