"""extends (same file, other file, chains, cycles), include, profiles and discovery,
through the public ``load()`` on real files."""
from __future__ import annotations

import textwrap

import pytest

from compose.errors import LoadError
from compose.loader import LoadOptions, load


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def opts(tmp_path, **kw):
    kw.setdefault("environ", {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    kw.setdefault("cwd", str(tmp_path))
    return LoadOptions(**kw)


def test_extends_same_file_chain_and_other_file(tmp_path):
    write(tmp_path / "common" / "base.yaml", """
        services:
          base:
            image: busybox
            environment: {FROM: base}
            volumes: ["./data:/data"]
    """)
    write(tmp_path / "compose.yaml", """
        services:
          mid:
            extends: {file: common/base.yaml, service: base}
            environment: {MID: "1"}
          web:
            extends: mid
            command: echo hi
    """)
    p = load(opts(tmp_path, project_name="x"))
    web = p.services["web"]
    assert web["image"] == "busybox"
    assert web["environment"] == {"FROM": "base", "MID": "1"}
    assert web["command"] == ["echo", "hi"]
    # the base's relative path is resolved against the base file's directory
    assert web["volumes"][0]["source"] == str(tmp_path / "common" / "data")
    assert "extends" not in web


def test_extends_cycle_names_the_chain(tmp_path):
    write(tmp_path / "compose.yaml", """
        services:
          a: {extends: b, image: x}
          b: {extends: c, image: x}
          c: {extends: a, image: x}
    """)
    with pytest.raises(LoadError, match=r"(?s)Circular reference.*extends"):
        load(opts(tmp_path, project_name="x"))


def test_extends_unknown_service(tmp_path):
    write(tmp_path / "compose.yaml", "services:\n  a: {extends: nope, image: x}\n")
    with pytest.raises(LoadError, match='service .nope. not found'):
        load(opts(tmp_path, project_name="x"))


def test_include_with_own_project_directory_and_env(tmp_path):
    write(tmp_path / "sub" / ".env", "TAG=1.2\n")
    write(tmp_path / "sub" / "compose.yaml", """
        services:
          db:
            image: "postgres:${TAG}"
            env_file: db.env
    """)
    write(tmp_path / "sub" / "db.env", "PGDATA=/x\n")
    write(tmp_path / "compose.yaml", """
        include: [sub/compose.yaml]
        services:
          web: {image: nginx, depends_on: [db]}
    """)
    p = load(opts(tmp_path, project_name="x"))
    assert p.services["db"]["image"] == "postgres:1.2"
    assert p.services["db"]["environment"] == {"PGDATA": "/x"}
    assert p.services["web"]["depends_on"]["db"]["condition"] == "service_started"


def test_include_conflict_is_an_error(tmp_path):
    write(tmp_path / "other.yaml", "services:\n  web: {image: a}\n")
    write(tmp_path / "compose.yaml", "include: [other.yaml]\nservices:\n  web: {image: b}\n")
    with pytest.raises(LoadError, match="services.web conflicts with imported resource"):
        load(opts(tmp_path, project_name="x"))


PROFILES = """
    services:
      web: {image: nginx}
      debug: {image: busybox, profiles: [dev]}
      tools: {image: busybox, profiles: [ops, dev]}
"""


@pytest.mark.parametrize("profiles,environ_profiles,services,expected", [
    ([], None, [], {"web"}),
    (["dev"], None, [], {"web", "debug", "tools"}),
    (["ops"], None, [], {"web", "tools"}),
    ([], "ops", [], {"web", "tools"}),
    (["*"], None, [], {"web", "debug", "tools"}),
    ([], None, ["debug"], {"debug"}),
])
def test_profiles(tmp_path, profiles, environ_profiles, services, expected):
    write(tmp_path / "compose.yaml", PROFILES)
    environ = {"PATH": "/bin"}
    if environ_profiles:
        environ["COMPOSE_PROFILES"] = environ_profiles
    p = load(opts(tmp_path, project_name="x", profiles=profiles, services=services, environ=environ))
    assert set(p.services) == expected


def test_discovery_upwards_override_and_dir_name(tmp_path):
    root = tmp_path / "My_Project"
    write(root / "compose.yaml", "services:\n  web: {image: a}\n")
    write(root / "compose.override.yaml", "services:\n  web: {image: b}\n")
    (root / "deep" / "er").mkdir(parents=True)
    p = load(opts(tmp_path, cwd=str(root / "deep" / "er")))
    assert p.name == "my_project"
    assert p.services["web"]["image"] == "b"
    assert p.config_files == [str(root / "compose.yaml"), str(root / "compose.override.yaml")]


def test_project_name_precedence(tmp_path):
    write(tmp_path / "compose.yaml", "name: From-File\nservices:\n  web: {image: a}\n")
    assert load(opts(tmp_path)).name == "from-file"
    assert load(opts(tmp_path, environ={"COMPOSE_PROJECT_NAME": "envname"})).name == "envname"
    assert load(opts(tmp_path, project_name="cli")).name == "cli"
    with pytest.raises(LoadError, match="invalid project name"):
        load(opts(tmp_path, project_name="Bad Name"))


def test_os_environment_beats_dotenv_and_env_file_flag(tmp_path):
    write(tmp_path / ".env", "TAG=dotenv\nOTHER=dotenv\n")
    write(tmp_path / "alt.env", "TAG=alt\n")
    write(tmp_path / "compose.yaml", "services:\n  web: {image: 'a:${TAG}-${OTHER:-none}'}\n")
    assert load(opts(tmp_path, project_name="x")).services["web"]["image"] == "a:dotenv-dotenv"
    assert load(opts(tmp_path, project_name="x", environ={"TAG": "os"})).services["web"]["image"] == "a:os-dotenv"
    p = load(opts(tmp_path, project_name="x", env_files=["alt.env"]))
    assert p.services["web"]["image"] == "a:alt-none"


def test_compose_file_variable_and_separator(tmp_path):
    write(tmp_path / "a.yaml", "services:\n  web: {image: a}\n")
    write(tmp_path / "b.yaml", "services:\n  web: {image: b}\n")
    environ = {"COMPOSE_FILE": "a.yaml;b.yaml", "COMPOSE_PATH_SEPARATOR": ";"}
    p = load(opts(tmp_path, project_name="x", environ=environ))
    assert p.services["web"]["image"] == "b"


def test_no_file_found(tmp_path):
    with pytest.raises(LoadError, match="no configuration file provided"):
        load(opts(tmp_path, project_name="x"))


def test_reset_and_override_tags(tmp_path):
    write(tmp_path / "a.yaml", """
        services:
          web:
            image: a
            ports: ["80:80"]
            environment: {A: "1", B: "1"}
    """)
    write(tmp_path / "b.yaml", """
        services:
          web:
            ports: !reset []
            environment: !override {C: "3"}
    """)
    p = load(opts(tmp_path, project_name="x", files=["a.yaml", "b.yaml"]))
    assert "ports" not in p.services["web"]
    assert p.services["web"]["environment"] == {"C": "3"}


@pytest.mark.parametrize("text,expected", [
    ('services:\n  web:\n    image: "x:${TAG:?set TAG}"\n',
     "compose.yaml:3:5: error while interpolating services.web.image: required variable TAG is missing a value: set TAG"),
    ('services:\n  web:\n    image: a\n    command: ["a", "${X:?}"]\n',
     "compose.yaml:4:20: error while interpolating services.web.command[1]: required variable X is missing a value"),
    ("services:\n  web:\n    image: a\n    image: b\n",
     "compose.yaml:4:5: services.web: mapping key 'image' already defined at line 3"),
    ("services:\n  web:\n    image: [a\n", "compose.yaml:4:1: invalid YAML"),
])
def test_errors_carry_file_line_column_and_path(tmp_path, text, expected):
    write(tmp_path / "compose.yaml", text)
    with pytest.raises(LoadError) as e:
        load(opts(tmp_path, project_name="x"))
    msg = str(e.value)
    assert "\n" not in msg
    assert msg.startswith(str(tmp_path / expected.split(":")[0]) + ":")
    assert msg.endswith(expected.split(":", 1)[1]) or expected.split(":", 1)[1] in msg


def test_cli_renders_one_line_and_exit_code_1(tmp_path, capsys, monkeypatch):
    from compose.cli.main import main

    write(tmp_path / "compose.yaml", "services:\n  a: {extends: b, image: x}\n  b: {extends: a, image: x}\n")
    monkeypatch.chdir(tmp_path)
    assert main(["-p", "x", "config"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Circular reference" in err and "Traceback" not in err
