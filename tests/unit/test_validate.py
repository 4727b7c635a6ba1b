"""validate_schema: bad documents -> exact messages with file:line:col and key path.

Positions come from a small PyYAML node walk in this file (the same contract as the
loader's yamlread: key path -> position of the value node), so these tests judge the
validator alone.
"""
from __future__ import annotations

import textwrap

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compose.errors import LoadError
from compose.loader.schema import schema_is_valid, validator as _validator
from compose.loader.schema_errors import _string_keys
from compose.loader.validate import check_duration, check_size, parse_port_spec, validate_schema


def load(text: str, name: str = "compose.yaml"):
    """(data, positions) of a YAML text, positions keyed like the loader's."""
    node = yaml.compose(textwrap.dedent(text))
    positions = {}

    def walk(n, path):
        positions[path] = (name, n.start_mark.line + 1, n.start_mark.column + 1)
        if isinstance(n, yaml.MappingNode):
            return {k.value: walk(v, path + (k.value,)) for k, v in n.value}
        if isinstance(n, yaml.SequenceNode):
            return [walk(v, path + (i,)) for i, v in enumerate(n.value)]
        return yaml.constructor.SafeConstructor().construct_object(n)

    return walk(node, ()), positions


def error_of(text: str) -> str:
    data, positions = load(text)
    with pytest.raises(LoadError) as err:
        validate_schema(data, positions)
    return str(err.value)


CASES = [
    ("""\
     services:
       web:
         imagee: nginx
     """, 'compose.yaml:3:13: services.web: additional property "imagee" is not allowed (did you mean "image"?)'),
    ("""\
     services:
       web:
         image: nginx
         ports:
           - "8080:80"
           - "80:80:80:80"
     """, 'compose.yaml:6:9: services.web.ports[1]: "80:80:80:80" is not a valid port mapping'),
    ("""\
     services:
       web:
         image: nginx
         ports: ["8080:80/sctpx"]
     """, 'compose.yaml:4:13: services.web.ports[0]: "8080:80/sctpx" is not a valid port mapping: '
         'unknown protocol "sctpx" (use tcp, udp or sctp)'),
    ("""\
     services:
       web:
         image: nginx
         ports: ["70000:80"]
     """, 'compose.yaml:4:13: services.web.ports[0]: "70000:80" is not a valid port mapping: '
         'port 70000 is out of range (0-65535)'),
    ("""\
     services:
       web:
         image: nginx
         ports: ["8000-8001:80-82"]
     """, 'compose.yaml:4:13: services.web.ports[0]: "8000-8001:80-82" is not a valid port mapping: '
         'host range 8000-8001 and container range 80-82 differ in size'),
    ("""\
     services:
       web:
         image: nginx
         ports: ["300.1.1.1:80:80"]
     """, 'compose.yaml:4:13: services.web.ports[0]: "300.1.1.1:80:80" is not a valid port mapping: '
         'invalid host IP "300.1.1.1"'),
    ("""\
     services:
       web:
         image: nginx
         ports:
           - target: 80
             published: "9000-8000"
     """, 'compose.yaml:6:20: services.web.ports[0].published: "9000-8000" is not a valid port: '
         'port range 9000-8000 ends before it starts'),
    ("""\
     services:
       web:
         image: nginx
         restart: sometimes
         ports: "80:80"
     """, 'compose.yaml:5:12: services.web.ports: must be a list'),
    ("""\
     services:
       web:
         image: nginx
         environment: 42
     """, 'compose.yaml:4:18: services.web.environment: must be a mapping or a list'),
    ("""\
     services:
       web:
         image: nginx
         depends_on:
           db:
             condition: started
       db:
         image: postgres
     """, 'compose.yaml:6:20: services.web.depends_on.db.condition: must be one of: "service_started", '
         '"service_healthy", "service_completed_successfully" (got "started")'),
    ("""\
     services:
       web:
         image: nginx
         depends_on:
           db: {}
     """, 'compose.yaml:5:11: services.web.depends_on.db: missing required property "condition"'),
    ("""\
     services:
       web:
         image: 42
     """, 'compose.yaml:3:12: services.web.image: must be a string'),
    ("""\
     services:
       web:
         image: nginx
         healthcheck:
           interval: 10
     """, 'compose.yaml:5:17: services.web.healthcheck.interval: must be a string'),
    ("""\
     services:
       "bad name!":
         image: nginx
     """, 'compose.yaml:3:5: services: invalid service name "bad name!": only letters, digits, ".", "_" and '
         '"-" are allowed'),
    ("""\
     servicess:
       web:
         image: nginx
     """, 'compose.yaml:2:3: additional property "servicess" is not allowed (did you mean "services"?)'),
    ("""\
     services:
       web:
         image: nginx
         cpu_percent: 150
     """, 'compose.yaml:4:18: services.web.cpu_percent: must be less than or equal to 100 (got 150)'),
    ("""\
     services:
       web:
         image: nginx
         ports: ["80:80", "80:80"]
     """, 'compose.yaml:4:22: services.web.ports[1]: duplicate entry "80:80" (already at services.web.ports[0])'),
    ("""\
     services:
       web:
         image: nginx
         pull_policy: sometimes
     """, 'compose.yaml:4:18: services.web.pull_policy: "sometimes" is not a valid pull policy: use always, never, '
         'missing, build, if_not_present, refresh, daily, weekly or every_<duration>'),
    ("""\
     services:
       web:
         image: nginx
         volumes:
           - type: bind
             source: ./a
             target: /a
             bind:
               propagation: 42
     """, 'compose.yaml:9:24: services.web.volumes[0].bind.propagation: must be a string'),
    ("""\
     services:
       web:
         image: nginx
         ulimits:
           nofile:
             soft: 1
     """, 'compose.yaml:6:9: services.web.ulimits.nofile: missing required property "hard"'),
    ("""\
     services:
       web:
         image: nginx
         build:
           context: .
           ulimits: [nofile]
     """, 'compose.yaml:6:16: services.web.build.ulimits: must be a mapping'),
    ("""\
     services:
       web:
         image: nginx
         secrets:
           - source: s
             type: file
     secrets:
       s:
         file: ./s
     """, 'compose.yaml:6:15: services.web.secrets[0]: additional property "type" is not allowed'),
    ("""\
     services:
       web:
         image: nginx
         healthcheck:
           interval: 10x
     """, 'compose.yaml:5:17: services.web.healthcheck.interval: "10x" is not a valid duration: unknown unit "x" '
         '(use ns, us, ms, s, m, h, d or w)'),
    ("""\
     services:
       web:
         image: nginx
         stop_grace_period: soon
     """, 'compose.yaml:4:24: services.web.stop_grace_period: "soon" is not a valid duration: use a number with '
         'a unit, like 1m30s, 500ms or 2h'),
    ("""\
     services:
       web:
         image: nginx
         deploy:
           restart_policy:
             delay: "10"
     """, 'compose.yaml:6:16: services.web.deploy.restart_policy.delay: "10" is not a valid duration: a unit is '
         'missing (ns, us, ms, s, m, h, d or w)'),
    ("""\
     services:
       web:
         image: nginx
         mem_limit: lots
     """, 'compose.yaml:4:16: services.web.mem_limit: "lots" is not a valid size: a size needs a number, like '
         '512m or 1.5g'),
    ("""\
     services:
       web:
         image: nginx
         deploy:
           resources:
             limits:
               memory: 1.5q
     """, 'compose.yaml:7:19: services.web.deploy.resources.limits.memory: "1.5q" is not a valid size: unknown '
         'unit "q" (use b, k, m, g, t or p, optionally followed by b or ib)'),
    ("""\
     services:
       web:
         image: nginx
         extra_hosts: ["db=10.0.0.1", nohostip]
     """, 'compose.yaml:4:34: services.web.extra_hosts[1]: "nohostip" is not a valid extra host: use "name=ip" '
         'or "name:ip"'),
    ("""\
     services:
       web:
         image: nginx
         volumes:
           - data:/data
           - ":/text_file.txt"
     """, 'compose.yaml:6:9: services.web.volumes[1]: invalid spec: :/text_file.txt: empty section between colons'),
    ("""\
     services:
       web:
         image: nginx
         devices: ["a:b:c:d"]
     """, 'compose.yaml:4:15: services.web.devices[0]: confusing device mapping, please use long syntax: a:b:c:d'),
    ("""\
     services: []
     """, 'compose.yaml:1:11: services: must be a mapping'),
    ("""\
     services:
       web:
     """, 'compose.yaml:2:7: services.web: must be a mapping'),
    ("""\
     services:
       web:
         image: nginx
     networks:
       front:
         driver: 1
     """, 'compose.yaml:6:13: networks.front.driver: must be a string'),
]


@pytest.mark.parametrize("text,message", CASES, ids=[m.split(": ", 1)[1][:50] for _, m in CASES])
def test_bad_document_message(text, message):
    assert error_of(text) == message


def test_first_error_in_file_order_is_reported():
    msg = error_of("""\
        services:
          a:
            image: 1
          b:
            imagee: x
        """)
    assert msg == "compose.yaml:3:12: services.a.image: must be a string"


def test_nearest_ancestor_position_when_path_has_none():
    data, positions = load("""\
        services:
          web:
            image: nginx
            ports: ["80:80:80:80"]
        """)
    del positions[("services", "web", "ports", 0)]
    with pytest.raises(LoadError) as err:
        validate_schema(data, positions)
    assert (err.value.file, err.value.line, err.value.column) == ("compose.yaml", 4, 12)


def test_no_positions_still_names_the_path():
    with pytest.raises(LoadError) as err:
        validate_schema({"services": {"web": {"image": 1}}}, {})
    assert str(err.value) == "services.web.image: must be a string"


def test_top_level_must_be_a_mapping():
    with pytest.raises(LoadError, match="^top-level object must be a mapping$"):
        validate_schema(["a"], {})  # type: ignore[arg-type]


@pytest.mark.parametrize("text", [
    """\
    services:
      web:
        image: nginx
        ports: ["80", 8080, "127.0.0.1:80:80", "[::1]:80:80", "::1:80:80", "9000-9002:9000-9002/udp",
                "8000-8010:80", "${PORT}:80", {target: 80, published: "8000-8010"}]
        x-anything: {a: 1}
    x-top: 1
    """,
    """\
    name: p
    services:
      db:
        image: postgres
        depends_on: [web]
        deploy: {replicas: 2, resources: {limits: {cpus: "0.5", memory: 50M}}}
      web:
        build: .
        environment: [A=1, B]
        healthcheck: {test: [CMD, "true"], interval: 1m}
    volumes: {data: {}}
    networks: {front: {driver: bridge}}
    """,
])
def test_valid_documents_pass(text):
    data, positions = load(text)
    validate_schema(data, positions)


@pytest.mark.parametrize("text", ["1m30s", "1.5h", "-5s", "0", "1d2h", ".5s", "500us", "1\u00b5s", "2w"])
def test_durations_compose_accepts(text):
    check_duration(text)


@pytest.mark.parametrize("text", ["10x", "soon", "10", "", "1..5s", "1h 2m", "5s5"])
def test_durations_compose_refuses(text):
    with pytest.raises(ValueError):
        check_duration(text)


@pytest.mark.parametrize("text", ["512m", "1.5g", "1GB", "1GiB", "1 g", "-1", "100", "1b", ".5k", "64M"])
def test_sizes_compose_accepts(text):
    check_size(text)


@pytest.mark.parametrize("text", ["lots", "1.5q", "1kbb", "-5m", "1.2.3m", "1gi"])
def test_sizes_compose_refuses(text):
    with pytest.raises(ValueError):
        check_size(text)


@pytest.mark.parametrize("spec", ["80", "80/udp", "8080:80", "127.0.0.1:8080:80", "[::1]:80:80", "::1:80:80",
                                  "9000-9002:9000-9002", "8000-8010:80", "0.0.0.0::80", "80-80:80"])
def test_port_specs_compose_accepts(spec):
    parse_port_spec(spec)


@pytest.mark.parametrize("spec", ["", "a:80", "80:80:80:80", "80/xtp", "1.2.3:80:80", "80-79", "-1", "8080:"])
def test_port_specs_compose_refuses(spec):
    with pytest.raises(ValueError):
        parse_port_spec(spec)


# ---- properties: the fast checker agrees with jsonschema; nothing but LoadError escapes

scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 70000), st.floats(allow_nan=False, width=32),
                    st.sampled_from(["", "80:80", "80:80:80:80", "nginx", "service_healthy", "1m", "always",
                                     "8080:80/udp", "a b", "${X}", "host", "bridge"]))
keys = st.integers(0, 2) | st.sampled_from(["image", "ports", "environment", "depends_on", "networks", "volumes", "build",
                        "healthcheck", "deploy", "command", "labels", "restart", "condition", "target",
                        "published", "test", "interval", "replicas", "resources", "limits", "cpus", "x-ext",
                        "web", "db", "driver", "imagee", "secrets", "source", "ulimits", "soft", "hard"])
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(keys, inner, max_size=4)), max_leaves=12)
documents = st.fixed_dictionaries({}, optional={
    "services": st.one_of(st.dictionaries(st.sampled_from(["web", "db", "bad name"]),
                                          st.one_of(st.none(), st.dictionaries(keys, values, max_size=6)),
                                          max_size=3), values),
    "networks": values, "volumes": values, "name": values, "x-top": values,
})


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_fast_checker_agrees_with_jsonschema(doc):
    assert schema_is_valid(doc) == _validator().is_valid(_string_keys(doc))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_random_documents_raise_only_load_error(doc):
    try:
        validate_schema(doc, {})
    except LoadError as e:
        assert str(e) and "Traceback" not in str(e)
