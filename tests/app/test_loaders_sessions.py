"""Sessions of the app: element positions across reruns, and the cached registry under concurrent sessions.

The browser test once saw two viewer iframes on the Model page. Cause: ``current_project`` added a
progress slot only on a session's first run, so every element below moved up by one on the next
run (the one the viewer's first report triggers); Streamlit keys an element without an id by its
index, so the browser remounted the columns holding the viewer. These tests pin both halves of the
explanation without a browser: positions are the same on the first and second runs of every page,
and the loaders' registry computes each object once when sessions ask for it at the same time.
"""
from __future__ import annotations

import threading

import pytest

from twin_app.main import PAGES


def _tree(at) -> list[tuple[tuple[int, ...], str]]:
    """(delta path, element type) of every node under the main container, depth first."""
    out: list[tuple[tuple[int, ...], str]] = []

    def walk(node, path: tuple[int, ...]) -> None:
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            for i, child in children.items():
                out.append((path + (i,), child.type))
                walk(child, path + (i,))

    walk(at.main, ())
    return out


@pytest.mark.parametrize("module", [m for m, *_ in PAGES])
def test_a_new_session_keeps_element_positions_on_its_second_run(page_test, module):
    at = page_test(module)          # no project preset: the first run opens one, as a new browser session does
    at.run()
    assert not at.exception, at.exception
    first = _tree(at)
    assert any(t != "empty" for _, t in first), f"page {module} drew nothing"
    at.run()
    assert not at.exception, at.exception
    second = _tree(at)
    moved = [(a, b) for a, b in zip(first, second) if a != b][:3]
    assert first == second, f"page {module}: elements moved between the first and second run: {moved}"


def test_the_model_viewer_has_the_same_path_on_every_run(page_test):
    at = page_test("model")
    paths = []
    for _ in range(3):
        at.run()
        assert not at.exception, at.exception
        paths.append([p for p, t in _tree(at) if t == "component_instance"])
    assert len(paths[0]) == 1, paths[0]
    assert paths[0] == paths[1] == paths[2]


def test_concurrent_sessions_share_one_computation_of_the_inputs(demo, monkeypatch):
    """Four sessions open the same project at once: one resolve, one object, the library's links."""
    import twin.scenario
    from twin_app import loaders

    real = twin.scenario.resolve
    calls = []

    def counting(*args, **kwargs):
        calls.append(threading.get_ident())
        return real(*args, **kwargs)

    monkeypatch.setattr(twin.scenario, "resolve", counting)
    loaders.clear()
    start = threading.Barrier(4)
    results: list = [None] * 4
    errors: list = []

    def session(i: int) -> None:
        try:
            start.wait()
            results[i] = loaders.get_inputs(demo.project)
        except BaseException as exc:     # reported below: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=session, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    loaders.clear()
    assert not errors, errors
    assert len(calls) == 1, f"the inputs were computed {len(calls)} times"
    assert all(r is results[0] for r in results)
    expected = {(a, g) for a, g in demo.resolved.links.pairs if a in demo.windows}
    assert expected and set(results[0].links) == expected


def test_the_registry_computes_each_key_once_and_different_keys_in_parallel():
    from twin_app.loaders import _Registry

    reg = _Registry()
    both_inside = threading.Barrier(2)    # two different keys: both makers must be running at once
    made: list[str] = []
    lock = threading.Lock()

    def make(name: str):
        def run():
            with lock:
                made.append(name)
            if name in ("a", "b"):
                both_inside.wait()
            return object()
        return run

    out: dict[str, list] = {"a": [], "b": [], "c": []}

    def ask(name: str) -> None:
        out[name].append(reg.get((name,), make(name)))

    threads = [threading.Thread(target=ask, args=(n,)) for n in ("a", "b") for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(made) == ["a", "b"]
    assert len({id(x) for x in out["a"]}) == 1 and len({id(x) for x in out["b"]}) == 1
    assert out["a"][0] is not out["b"][0]


def test_a_failed_computation_is_not_cached_and_the_next_caller_retries():
    from twin_app.loaders import _Registry

    reg = _Registry()

    def fail():
        raise RuntimeError("interrupted")      # e.g. Streamlit stopping a run inside a progress update

    with pytest.raises(RuntimeError):
        reg.get(("k",), fail)
    value = reg.get(("k",), lambda: "ok")
    assert value == "ok" and reg.get(("k",), fail) == "ok"


def test_the_registry_drops_the_least_recently_used_entry():
    from twin_app import loaders

    reg = loaders._Registry()
    for i in range(loaders._MAX):
        reg.get((i,), lambda i=i: i)
    reg.get((0,), lambda: "again")          # touch the oldest: it becomes the newest
    reg.get(("new",), lambda: "new")
    assert len(reg.items) == loaders._MAX
    assert (0,) in reg.items and (1,) not in reg.items
    assert reg.get((0,), lambda: "recomputed") == 0


def test_two_sessions_saving_the_same_upload_at_once_both_get_the_whole_file(tmp_path, monkeypatch):
    """Both sessions are held just before their rename, so each has written its file in full."""
    import os

    from twin_app import project

    monkeypatch.setenv("TWIN_APP_DIR", str(tmp_path))
    real = os.replace
    both_written = threading.Barrier(2, timeout=120)   # a bound so a wrong implementation fails, not hangs

    def replace(src, dst):
        both_written.wait()
        return real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    data = b"ISO-10303-21;\n" + b"x" * 200_000
    paths: list = []
    errors: list = []

    def session() -> None:
        try:
            paths.append(project.save_upload("model.ifc", data))
        except BaseException as exc:     # reported below: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=session) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(set(paths)) == 1 and paths[0].read_bytes() == data
    assert [p.name for p in paths[0].parent.iterdir()] == ["model.ifc"]     # no temp file left


def test_a_project_and_its_inputs_share_one_model(demo, monkeypatch):
    """The model the Project page loads (keyed by file digests) is the one the inputs resolve with:
    the files are read once and one copy of the meshes stays in memory."""
    import twin.ifc
    from twin_app import loaders

    real = twin.ifc.load_model
    calls = []

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(twin.ifc, "load_model", counting)
    loaders.clear()
    try:
        paths = [str(p) for p in demo.project.scenario.model_files]
        loaders.get_model(paths, loaders.model_key(paths))
        loaders.get_inputs(demo.project)
    finally:
        loaders.clear()
    assert len(calls) == 1, f"the model was loaded {len(calls)} times"


def test_a_failed_computation_leaves_no_lock_behind():
    from twin_app.loaders import _Registry

    reg = _Registry()
    with pytest.raises(RuntimeError):
        reg.get(("k",), lambda: (_ for _ in ()).throw(RuntimeError("boom")))
    assert reg.key_locks == {} and ("k",) not in reg.items
    assert reg.get(("k",), lambda: 7) == 7
