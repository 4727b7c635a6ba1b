""".dockerignore: Docker's pattern rules, the walk that keeps exceptions, and which ignore file applies."""
import pytest

from engine.build.dockerignore import DockerIgnore, ignore_file_for, read_dockerignore, read_patterns
from engine.errors import InvalidArgument


@pytest.mark.parametrize("text, want", [
    ("a\nb\n", ["a", "b"]),
    ("# comment\n  spaced  \n\n", ["spaced"]),
    ("/abs\n./rel\n/\n", ["abs", "rel", "/"]),
    ("a//b/../c/\n", ["a/c"]),
    ("!keep\n ! also \n", ["!keep", "!also"]),
    ("\ufeffbom\n", ["bom"]),
    ("#not a comment only at column one?\n #x\n", ["#x"]),
    ("!/abs/x\n", ["!abs/x"]),
])
def test_read_patterns(text, want):
    assert read_patterns(text) == want


CASES = [
    # exact names and directories (everything under a matched directory)
    (["file.txt"], "file.txt", True),
    (["file.txt"], "sub/file.txt", False),
    (["node_modules"], "node_modules", True),
    (["node_modules"], "node_modules/pkg/index.js", True),
    (["node_modules"], "app/node_modules", False),
    (["a/b"], "a/b/c/d", True),
    (["a/b"], "a", False),
    # * and ? stay within one path segment
    (["*.log"], "x.log", True),
    (["*.log"], "logs/x.log", False),
    (["*/*.log"], "logs/x.log", True),
    (["*"], "anything/deep/file", True),
    (["?.c"], "a.c", True),
    (["?.c"], "ab.c", False),
    (["a?c"], "a/c", False),
    # ** crosses directories
    (["**/*.log"], "x.log", True),
    (["**/*.log"], "a/b/c/x.log", True),
    (["**/cache"], "cache", True),
    (["**/cache"], "deep/er/cache/f", True),
    (["docs/**"], "docs/a/b", True),
    (["docs/**"], "docs", False),
    (["a/**/z"], "a/z", True),
    (["a/**/z"], "a/b/c/z", True),
    (["a/**/z"], "a/b/c/zz", False),
    (["**"], "x", True),
    (["**/"], "x/y", True),
    # character classes and escapes
    (["[abc].txt"], "b.txt", True),
    (["[abc].txt"], "d.txt", False),
    (["[a-c]x"], "cx", True),
    (["[^a]x"], "ax", False),
    (["[^a]x"], "bx", True),
    (["\\*star"], "*star", True),
    (["\\*star"], "xstar", False),
    (["dot.txt"], "dotxtxt", False),
    (["a+b(c)"], "a+b(c)", True),
    (["{x}"], "{x}", True),
    # leading / and ./ do not matter
    (["/root.txt"], "root.txt", True),
    (["./rel"], "rel/f", True),
    # exceptions, last match wins
    (["*.md", "!README.md"], "README.md", False),
    (["*.md", "!README.md"], "CHANGES.md", True),
    (["*.md", "!README.md", "README*"], "README.md", True),
    (["*", "!src"], "src/main.py", False),
    (["*", "!src"], "tests/x.py", True),
    (["build", "!build/keep.txt"], "build/keep.txt", False),
    (["build", "!build/keep.txt"], "build/other.txt", True),
    (["build/*", "!build/sub", "build/sub/tmp"], "build/sub/tmp/x", True),
    (["build/*", "!build/sub", "build/sub/tmp"], "build/sub/src/x", False),
    (["!nothing"], "nothing", False),
    ([], "x", False),
    (["x"], ".", False),
    (["x"], "./x", True),
]


@pytest.mark.parametrize("patterns, path, want", CASES)
def test_excluded(patterns, path, want):
    assert DockerIgnore(patterns).excluded(path) is want


@pytest.mark.parametrize("patterns", [["!"], ["[unclosed"], ["trailing\\"]])
def test_bad_patterns(patterns):
    with pytest.raises(InvalidArgument):
        DockerIgnore(patterns)


@pytest.mark.parametrize("patterns, d, want", [
    (["build"], "build", True),
    (["build", "!build/keep.txt"], "build", False),
    (["build", "!other/keep.txt"], "build", True),
    (["build", "!**/keep.txt"], "build", False),
    (["build", "!*/keep.txt"], "build", False),
    (["src"], "lib", False),
])
def test_skip_dir(patterns, d, want):
    assert DockerIgnore(patterns).skip_dir(d) is want


def make_tree(root, paths):
    for p in paths:
        f = root / p
        if p.endswith("/"):
            f.mkdir(parents=True, exist_ok=True)
        else:
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(p)


def test_walk_keeps_exceptions_inside_excluded_dirs(tmp_path):
    make_tree(tmp_path, ["Dockerfile", "src/app.py", "src/app.pyc", "build/out.bin", "build/keep/readme.txt",
                         "node_modules/x/index.js", "empty/", ".git/HEAD"])
    di = DockerIgnore(read_patterns("**/*.pyc\nbuild\n!build/keep/readme.txt\nnode_modules\n.git\n"))
    got = [rel for rel, _ in di.walk(tmp_path)]
    assert got == ["Dockerfile", "build", "build/keep", "build/keep/readme.txt", "empty", "src", "src/app.py"]


def test_walk_does_not_follow_symlinked_dirs(tmp_path):
    make_tree(tmp_path, ["real/f"])
    (tmp_path / "link").symlink_to(tmp_path / "real")
    got = {rel: e.is_symlink() for rel, e in DockerIgnore([]).walk(tmp_path)}
    assert got == {"link": True, "real": False, "real/f": False}


def test_own_ignore_file_is_preferred(tmp_path):
    make_tree(tmp_path, ["docker/app.Dockerfile", "a", "b"])
    (tmp_path / ".dockerignore").write_text("a\n")
    assert ignore_file_for(tmp_path, "docker/app.Dockerfile") == tmp_path / ".dockerignore"
    assert read_dockerignore(tmp_path, "docker/app.Dockerfile").excluded("a")
    (tmp_path / "docker/app.Dockerfile.dockerignore").write_text("b\n")
    di = read_dockerignore(tmp_path, "docker/app.Dockerfile")
    assert di.excluded("b") and not di.excluded("a")
    assert read_dockerignore(tmp_path, "Dockerfile").excluded("a")
    assert read_dockerignore(tmp_path, tmp_path / "docker/app.Dockerfile").excluded("b")


def test_no_ignore_file(tmp_path):
    di = read_dockerignore(tmp_path)
    assert not di and not di.excluded("anything")
