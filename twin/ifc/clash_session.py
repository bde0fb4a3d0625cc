"""Incremental clash detection: keep one run's state and re-clash only what changed.

Let's imagine a coordinator who moves one duct in a 20,000-element model and wants the clash list
again. :func:`twin.ifc.clash.detect_clashes` would hash every mesh, sweep every box and build every
clash record anew; a :class:`ClashSession` keeps all of that from the previous run:

- one row per element with its box, its A/B membership, the mesh and element record it had, and
  the mesh's content hash;
- the verdict of every pair ever judged, keyed by the two meshes' content hashes (so a mesh moved
  back, or a copy of a known mesh, costs nothing);
- the clash records, sorted by id, and which clashes each element takes part in.

:meth:`ClashSession.rerun` compares the new model with the kept one (by object identity first, by
content hash only when a mesh object is new; element records by equality; selections by
membership), drops the clashes of the changed, added and removed elements, tests the boxes of the
changed elements against all boxes, judges only the pairs with no kept verdict, and patches the
sorted result. The result is the one :func:`~twin.ifc.clash.detect_clashes` gives on the new model
(tests check this for moves, additions, deletions, new shapes, swapped selections and every mode).

The first run is the same code with every element "added"; its broad phase is the grid of
:func:`~twin.ifc.clash.candidate_pairs` (many changed elements), a re-run's is a direct box test of
the changed elements against all rows (few changed elements).
"""
from __future__ import annotations

import bisect
import operator
import os
import time
from collections import Counter
from dataclasses import fields
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from twin.clash import Clash, ExcludeRule, clash_id
from twin.clashgeom import EPS, MeshInfo
from twin.errors import InputError
from twin.ifc.clash import (_MISS, ClashRun, PairCache, _info, _is_duplicate, _judge_many, _shallow, candidate_pairs,
                            mesh_hash)
from twin.model import BuildingModel, Element, Mesh

__all__ = ["ClashSession"]

_DIRECT_LIMIT = 512          # changed elements up to this many: direct box test; more: the grid
_ELEMENT_VALUES = operator.attrgetter(*(f.name for f in fields(Element)))     # record -> tuple of its fields


def _same_element(x: Element | None, y: Element | None) -> bool:
    """Same record, field by field (Element compares by identity)."""
    if x is y:
        return True
    if x is None or y is None:
        return False
    return _ELEMENT_VALUES(x) == _ELEMENT_VALUES(y)


class ClashSession:
    """A clash run that can be re-run on a changed model, judging only the changed elements' pairs.

    Parameters
    ----------
    model : BuildingModel with meshes
    a_ids, b_ids : GlobalIds of selections A and B (default: A against itself)
    mode, tolerance, clearance, exclude, extra, is_a : as for :func:`twin.ifc.clash.detect_clashes`;
        mode, tolerance, clearance, exclusion rules and ``is_a`` are fixed for the session
    pair_cache : directory of the on-disk pair-verdict cache :func:`~twin.ifc.clash.detect_clashes`
        keeps (``twin.ifc.cache.default_cache_dir()`` for the CLI's), read and written by the first
        run; None (default): verdicts are kept in memory only
    progress : ``progress(done, total)`` while pairs are judged

    Attributes
    ----------
    run : ClashRun of the last run; ``stats`` has ``elements``, ``changed`` (elements added,
        removed or changed since the previous run, all of them on the first), ``candidates`` (pairs
        whose boxes were tested in this run), ``computed`` (pairs judged), ``cached`` (verdicts
        reused), ``seconds`` and ``incremental`` (False on the first run).

    Examples
    --------
    >>> from twin.clash import TemporaryObject, temporary_mesh
    >>> from twin.model import BuildingModel, Element
    >>> def box(x0):
    ...     return temporary_mesh(TemporaryObject("box", "box", box=((x0, 0.0, 0.0), (x0 + 1, 1.0, 1.0))))
    >>> model = BuildingModel((), (), {g: Element(g, "IfcWall") for g in "abc"},
    ...                       {"a": box(0.0), "b": box(0.5), "c": box(3.0)})
    >>> session = ClashSession(model, ["a", "b", "c"])
    >>> [c.pair for c in session.run.clashes]
    [('a', 'b')]
    >>> from dataclasses import replace
    >>> moved = replace(model, meshes={**model.meshes, "c": box(1.2)})
    >>> run = session.rerun(moved, ["a", "b", "c"])
    >>> sorted(c.pair for c in run.clashes), run.stats["changed"], run.stats["computed"]
    ([('a', 'b'), ('b', 'c')], 1, 1)
    """

    def __init__(
        self,
        model: BuildingModel,
        a_ids: Sequence[str],
        b_ids: Sequence[str] | None = None,
        *,
        mode: str = "hard",
        tolerance: float = 0.002,
        clearance: float = 0.05,
        exclude: Sequence[ExcludeRule] = (),
        extra: Mapping[str, tuple[Mesh, Element]] | None = None,
        is_a: Callable[[str, str], bool] | None = None,
        pair_cache: str | os.PathLike[str] | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        if mode not in ("hard", "touch", "clearance"):
            raise InputError(f"clash mode must be hard, touch or clearance, got '{mode}'")
        if tolerance < 0:
            raise InputError(f"tolerance must be >= 0 m, got {tolerance}")
        if mode == "clearance" and not clearance > 0:
            raise InputError(f"clearance must be > 0 m, got {clearance}")
        self.mode, self.tolerance, self.clearance = mode, tolerance, clearance
        self.exclude, self.is_a = tuple(exclude), is_a
        self.margin = {"hard": EPS, "touch": max(tolerance, EPS), "clearance": clearance}[mode]
        # verdicts by mesh-hash pair (before the duplicate test, which depends on the records), and
        # prepared meshes: functions of the meshes alone, kept whatever happens
        self._verdicts: dict[bytes, Any] = {}
        self._infos: dict[bytes, MeshInfo] = {}
        self._shapes: dict[bytes, MeshInfo] = {}
        self._disk = PairCache.for_settings(Path(pair_cache), mode, tolerance, clearance) if pair_cache else None
        self._reset()
        self.run = self._update(model, a_ids, b_ids, extra, progress, first=True)
        if self._disk is not None:
            self._disk.save()
            self._disk = None         # re-runs keep their few new verdicts in memory only

    def _reset(self) -> None:
        """Forget the previous run (the next one then starts from nothing), keeping verdicts."""
        # rows: one per element in the run (dead rows have alive False and infinite boxes)
        self._row: dict[str, int] = {}
        self._gid: list[str | None] = []
        self._lo = np.zeros((0, 3))
        self._hi = np.zeros((0, 3))
        self._in_a = np.zeros(0, bool)
        self._in_b = np.zeros(0, bool)
        self._alive = np.zeros(0, bool)
        self._mesh: dict[str, Mesh] = {}
        self._element: dict[str, Element | None] = {}
        self._hash: dict[str, bytes] = {}
        # clashes: sorted ids and records side by side, record by pair, pairs by element
        self._ids: list[str] = []
        self._recs: list[Clash] = []
        self._by_pair: dict[tuple[str, str], Clash] = {}
        self._partners: dict[str, set[str]] = {}
        self._open: dict[tuple[str, str], tuple[str, ...]] = {}
        self._open_count: Counter[str] = Counter()
        # the previous run's selection: A, B, ids, sets, and the mesh and record objects it was given
        self._sel: tuple | None = None
        self._no_mesh: set[str] = set()
        self._no_mesh_text: str | None = None
        self.run = ClashRun(())

    # ------------------------------------------------------------------------------- public

    def rerun(
        self,
        model: BuildingModel,
        a_ids: Sequence[str],
        b_ids: Sequence[str] | None = None,
        *,
        extra: Mapping[str, tuple[Mesh, Element]] | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> ClashRun:
        """Clash the changed model, re-judging only the pairs of elements that changed.

        Parameters are those of :func:`~twin.ifc.clash.detect_clashes` (the session's settings are
        kept). Returns the same ClashRun as a full ``detect_clashes`` of ``model``, with re-run stats.
        """
        try:
            self.run = self._update(model, a_ids, b_ids, extra, progress, first=False)
        except BaseException:
            self._reset()             # half-patched state: the next run starts from nothing
            raise
        return self.run

    def same_settings(self, mode: str, tolerance: float, clearance: float, exclude: Sequence[ExcludeRule] = ()) -> bool:
        """Were this session's results computed with these settings (so :meth:`rerun` may serve them)?"""
        return (mode == self.mode and tolerance == self.tolerance and tuple(exclude) == self.exclude
                and (mode != "clearance" or clearance == self.clearance))

    # ----------------------------------------------------------------------------- the update

    def _update(self, model, a_ids, b_ids, extra, progress, first: bool) -> ClashRun:
        t0 = time.perf_counter()
        meshes: Mapping[str, Mesh] = model.meshes
        elements: Mapping[str, Element] = model.elements
        if extra:
            meshes = {**meshes, **{k: m for k, (m, _) in extra.items()}}
            elements = {**elements, **{k: e for k, (_, e) in extra.items()}}
        a_list = list(a_ids)
        b_list = a_list if b_ids is None else list(b_ids)
        sel = self._sel
        same_sel = sel is not None and sel[0] == a_list and sel[1] == b_list
        ids_all, sa, sb = (sel[2], sel[3], sel[4]) if same_sel else (
            list(dict.fromkeys([*a_list, *b_list])), set(a_list), set(b_list))
        new_m = list(map(meshes.get, ids_all))
        new_e = list(map(elements.get, ids_all))
        if same_sel:
            # the same selection: only elements whose mesh or record object is another one can differ
            changed, removed = self._changes_since(ids_all, new_m, new_e, sel[5], sel[6])
        else:
            self._no_mesh = {g for g, m in zip(ids_all, new_m) if m is None or not len(m.faces)}
            self._no_mesh_text = None
            ids = [g for g in ids_all if g not in self._no_mesh] if self._no_mesh else ids_all
            changed, removed = self._changes(ids, meshes, elements, sa, sb)
        self._sel = (a_list, b_list, ids_all, sa, sb, new_m, new_e)
        warnings: list[str] = []
        if self._no_mesh:
            if self._no_mesh_text is None:
                no_mesh = [g for g in ids_all if g in self._no_mesh]
                self._no_mesh_text = (f"{len(no_mesh)} selected element(s) have no geometry and were skipped "
                                      f"(e.g. {', '.join(no_mesh[:3])})")
            warnings.append(self._no_mesh_text)
        self._drop_clashes_of([*removed, *changed])
        self._apply_rows(removed, changed, meshes, elements, sa, sb)
        pairs = self._query([self._row[g] for g in changed])
        pairs = self._filter(pairs, elements)
        computed = self._judge_pairs(pairs, elements, sa, sb, progress)
        out = tuple(self._recs)
        if self._open_count:
            opened = sorted(g for g, n in self._open_count.items() if n > 0)
            warnings.append(f"{len(opened)} element(s) have open or non-manifold meshes, so no inside: "
                            f"their clashes fall back to a surface contact test with depth 0 "
                            f"(e.g. {', '.join(opened[:3])})")
        stats = {"elements": len(self._row), "changed": len(changed) + len(removed), "candidates": int(len(pairs)),
                 "computed": computed, "cached": int(len(pairs)) - computed,
                 "seconds": round(time.perf_counter() - t0, 4), "incremental": not first}
        return ClashRun(out, tuple(warnings), stats)

    def _changes_since(self, ids_all, new_m, new_e, old_m, old_e) -> tuple[list[str], list[str]]:
        """Changed and removed GlobalIds when the selection is the previous run's: ``old_m``/``old_e``
        are the mesh and record objects that run was given, in the same order."""
        n = len(ids_all)
        diff = np.fromiter(map(operator.is_not, new_m, old_m), bool, n)
        diff |= np.fromiter(map(operator.is_not, new_e, old_e), bool, n)
        changed: list[str] = []
        removed: list[str] = []
        for x in np.nonzero(diff)[0].tolist():
            g, m = ids_all[x], new_m[x]
            has = m is not None and len(m.faces) > 0
            if has == (g in self._no_mesh):               # gained or lost its mesh
                self._no_mesh.symmetric_difference_update((g,))
                self._no_mesh_text = None
            known = g in self._row
            if not has:
                if known:
                    removed.append(g)
                continue
            if not known or not _same_element(new_e[x], self._element[g]):
                changed.append(g)
                continue
            if m is not self._mesh[g]:
                if mesh_hash(m) != self._hash[g]:
                    changed.append(g)
                    continue
                self._mesh[g] = m                    # same content, new object: nothing to redo
            self._element[g] = new_e[x]
        return changed, removed

    def _changes(self, ids, meshes, elements, sa, sb) -> tuple[list[str], list[str]]:
        """GlobalIds changed (new, other mesh content, other record, other A/B membership) and removed."""
        keep = set(ids)
        removed = [g for g in self._row if g not in keep]
        new_m = list(map(meshes.__getitem__, ids))
        old_m = list(map(self._mesh.get, ids))
        new_e = list(map(elements.get, ids))
        old_e = list(map(self._element.get, ids))
        rows = np.fromiter(map(self._row.get, ids, [-1] * len(ids)), np.int64, len(ids))
        in_a = np.fromiter(map(sa.__contains__, ids), bool, len(ids))
        in_b = np.fromiter(map(sb.__contains__, ids), bool, len(ids))
        known = rows >= 0
        suspect = ~known
        suspect |= np.fromiter(map(operator.is_not, new_m, old_m), bool, len(ids))
        suspect |= np.fromiter(map(operator.is_not, new_e, old_e), bool, len(ids))
        r = np.where(known, rows, 0)
        suspect[known] |= (self._in_a[r[known]] != in_a[known]) | (self._in_b[r[known]] != in_b[known])
        changed = []
        for x in np.nonzero(suspect)[0]:
            g = ids[x]
            if rows[x] < 0 or self._in_a[rows[x]] != in_a[x] or self._in_b[rows[x]] != in_b[x]:
                changed.append(g)
                continue
            if not _same_element(new_e[x], old_e[x]):
                changed.append(g)
                continue
            if new_m[x] is not old_m[x]:
                h = mesh_hash(new_m[x])
                if h != self._hash[g]:
                    changed.append(g)
                    continue
                self._mesh[g] = new_m[x]              # same content, new object: nothing to redo
            self._element[g] = new_e[x]
        return changed, removed

    def _drop_clashes_of(self, gs: Sequence[str]) -> None:
        """Remove every clash ``gs`` take part in."""
        gone: list[Clash] = []
        for g in gs:
            for other in self._partners.pop(g, ()):
                key = (g, other) if g < other else (other, g)
                if other in self._partners:
                    self._partners[other].discard(g)
                rec = self._by_pair.pop(key, None)
                if rec is None:
                    continue
                gone.append(rec)
                for x in self._open.pop(key, ()):
                    self._open_count[x] -= 1
                    if not self._open_count[x]:
                        del self._open_count[x]
        if len(gone) <= 64:
            for rec in gone:
                k = bisect.bisect_left(self._ids, rec.id)
                while self._recs[k] is not rec:
                    k += 1
                del self._ids[k], self._recs[k]
        else:
            drop = set(map(id, gone))
            self._recs = [r for r in self._recs if id(r) not in drop]
            self._ids = [r.id for r in self._recs]

    def _insert(self, new: list[Clash]) -> None:
        """Insert records into the id-sorted list (one by one when few, else merge and sort)."""
        if len(new) <= 64:
            for rec in new:
                k = bisect.bisect_right(self._ids, rec.id)
                self._ids.insert(k, rec.id)
                self._recs.insert(k, rec)
        else:
            self._recs = sorted(self._recs + new, key=operator.attrgetter("id"))
            self._ids = [r.id for r in self._recs]

    def _apply_rows(self, removed, changed, meshes, elements, sa, sb) -> None:
        for g in removed:
            r = self._row.pop(g)
            self._gid[r] = None
            self._alive[r] = False
            self._lo[r], self._hi[r] = np.inf, -np.inf
            del self._mesh[g], self._element[g], self._hash[g]
        add = [g for g in changed if g not in self._row]
        if add:
            n0 = len(self._gid)
            self._gid += add
            self._row.update((g, n0 + k) for k, g in enumerate(add))
            grow = len(add)
            self._lo = np.concatenate([self._lo, np.zeros((grow, 3))])
            self._hi = np.concatenate([self._hi, np.zeros((grow, 3))])
            self._in_a = np.concatenate([self._in_a, np.zeros(grow, bool)])
            self._in_b = np.concatenate([self._in_b, np.zeros(grow, bool)])
            self._alive = np.concatenate([self._alive, np.ones(grow, bool)])
        if changed:
            rows = np.array([self._row[g] for g in changed], dtype=np.int64)
            ms = [meshes[g] for g in changed]
            self._lo[rows] = np.array([m.vertices.min(axis=0) for m in ms]).reshape(-1, 3)
            self._hi[rows] = np.array([m.vertices.max(axis=0) for m in ms]).reshape(-1, 3)
            self._in_a[rows] = [g in sa for g in changed]
            self._in_b[rows] = [g in sb for g in changed]
            for g, m in zip(changed, ms):
                self._mesh[g] = m
                self._element[g] = elements.get(g)
                self._hash[g] = mesh_hash(m)
        if len(self._gid) > 64 and self._alive.sum() < len(self._gid) // 2:
            self._compact()

    def _compact(self) -> None:
        keep = np.nonzero(self._alive)[0]
        self._gid = [self._gid[r] for r in keep]
        self._row = {g: k for k, g in enumerate(self._gid)}  # type: ignore[misc]
        self._lo, self._hi = self._lo[keep], self._hi[keep]
        self._in_a, self._in_b, self._alive = self._in_a[keep], self._in_b[keep], self._alive[keep]

    # -------------------------------------------------------------------------- broad phase

    def _query(self, rows: list[int]) -> np.ndarray:
        """Row pairs (i, j), i < j, with at least one of ``rows``, whose boxes overlap after growing by
        the margin and that join A to B: the candidates :func:`candidate_pairs` gives for them."""
        empty = np.zeros((0, 2), dtype=np.int64)
        if not rows:
            return empty
        lo, hi, m = self._lo, self._hi, self.margin
        alive = self._alive
        if len(rows) > _DIRECT_LIMIT:
            live = np.nonzero(alive)[0]
            p = candidate_pairs(lo[live], hi[live], self._in_a[live], self._in_b[live], m)
            p = live[p]
            touched = np.zeros(len(alive), bool)
            touched[rows] = True
            p = p[touched[p[:, 0]] | touched[p[:, 1]]]
            return np.stack([p.min(axis=1), p.max(axis=1)], axis=1) if len(p) else empty
        c = np.asarray(rows, dtype=np.int64)
        found = []
        step = max(1, 4_000_000 // max(len(alive), 1))
        for k0 in range(0, len(c), step):
            cc = c[k0:k0 + step]
            hit = np.all((lo[None, :, :] <= hi[cc, None, :] + m) & (lo[cc, None, :] <= hi[None, :, :] + m), axis=2)
            hit &= alive[None, :]
            hit[np.arange(len(cc)), cc] = False
            i, j = np.nonzero(hit)
            found.append(np.stack([np.minimum(cc[i], j), np.maximum(cc[i], j)], axis=1))
        p = np.concatenate(found)
        if not len(p):
            return empty
        n = len(alive)
        p = np.unique(p[:, 0] * n + p[:, 1])
        p = np.stack([p // n, p % n], axis=1)
        a, b = p[:, 0], p[:, 1]
        ok = (self._in_a[a] & self._in_b[b]) | (self._in_a[b] & self._in_b[a])
        return p[ok]

    def _filter(self, pairs: np.ndarray, elements: Mapping[str, Element]) -> np.ndarray:
        """Drop pairs too shallow to clash (hard) and excluded pairs, as ``detect_clashes`` does."""
        if self.mode == "hard" and len(pairs):
            lo, hi = self._lo, self._hi
            pairs = pairs[~_shallow(lo[pairs[:, 0]], hi[pairs[:, 0]], lo[pairs[:, 1]], hi[pairs[:, 1]], self.tolerance)]
        if self.exclude and len(pairs):
            gid = self._gid
            keep = [not any(r.excludes(elements[gid[i]], elements[gid[j]], self.is_a) for r in self.exclude)
                    for i, j in pairs]
            pairs = pairs[np.array(keep, dtype=bool)]
        return pairs

    # -------------------------------------------------------------------------- narrow phase

    def _info(self, g: str) -> MeshInfo:
        h = self._hash[g]
        got = self._infos.get(h)
        if got is None:
            got = self._infos.setdefault(h, _info(self._mesh[g], self._shapes))
        return got

    def _judge_pairs(self, pairs: np.ndarray, elements, sa, sb, progress) -> int:
        """Verdicts for ``pairs`` (kept ones reused, the rest judged as ``detect_clashes`` does) and
        their clash records inserted. Returns how many pairs were judged."""
        mode, tol, clr = self.mode, self.tolerance, self.clearance
        gid, hashes = self._gid, self._hash
        todo: list[tuple[str, str, bytes]] = []
        verdicts: list[Any] = []
        for i, j in pairs.tolist():
            ga, gb = gid[i], gid[j]
            ha, hb = hashes[ga], hashes[gb]          # type: ignore[index]
            key = min(ha, hb) + max(ha, hb)
            v = self._verdicts.get(key, _MISS)
            verdicts.append(v)
            todo.append((ga, gb, key))               # type: ignore[arg-type]
        misses = [k for k, v in enumerate(verdicts) if v is _MISS]
        for k in misses:
            ga, gb, key = todo[k]
            if hashes[gb] < hashes[ga]:             # judged in the order of the mesh hashes, as detect_clashes does
                todo[k] = (gb, ga, key)
        disk = self._disk
        if disk is not None and misses:
            still = []
            for k in misses:
                v = disk.get(todo[k][2])
                if v is _MISS:
                    still.append(k)
                    continue
                if v is not None and v[0] == "duplicate":         # stored after the duplicate test
                    v = ("hard",) + tuple(v[1:])
                verdicts[k] = self._verdicts.setdefault(todo[k][2], v)
            misses = still
        info = self._info
        if misses:
            gids = list(dict.fromkeys(g for k in misses for g in todo[k][:2]))
            at = {g: x for x, g in enumerate(gids)}
            idx = np.array([(at[todo[k][0]], at[todo[k][1]]) for k in misses], dtype=np.int64)
            raw = _judge_many(idx, [self._mesh[g] for g in gids], lambda x: info(gids[x]), mode, tol, clr, progress)
            for k, v in zip(misses, raw):
                # a kept verdict may already be there for a second pair of the same two meshes
                verdicts[k] = self._verdicts.setdefault(todo[k][2], v)
        final = [self._duplicate_or(ga, gb, v, elements) for (ga, gb, _), v in zip(todo, verdicts)]
        if disk is not None:
            for k in misses:
                disk.put(todo[k][2], final[k])
        self._insert([self._record(ga, gb, v, elements, sa, sb) for (ga, gb, _), v in zip(todo, final) if v is not None])
        return len(misses)

    def _duplicate_or(self, ga: str, gb: str, verdict: Any, elements) -> Any:
        """A hard verdict becomes ``duplicate`` for two elements of one class with the same geometry."""
        if verdict is not None and verdict[0] == "hard" and _is_duplicate(
                elements.get(ga), elements.get(gb), self._info(ga), self._info(gb), self.tolerance):
            return ("duplicate",) + tuple(verdict[1:])
        return verdict

    def _record(self, ga: str, gb: str, verdict: Any, elements, sa, sb) -> Clash:
        """The clash record of a pair with a verdict, entered in the by-pair and by-element indexes."""
        key = (ga, gb) if ga < gb else (gb, ga)
        fwd, back = ga in sa and gb in sb, gb in sa and ga in sb
        if (back and not fwd) or (fwd and back and gb < ga):
            ga, gb = gb, ga          # A's element first; within one selection, by GlobalId
        ea, eb = elements.get(ga), elements.get(gb)
        rec = Clash(
            clash_id(ga, gb, self.mode), ga, gb, verdict[0], float(verdict[1]), tuple(verdict[2]), self.mode,
            a_class=ea.ifc_class if ea else "", b_class=eb.ifc_class if eb else "",
            a_file=ea.file if ea else "", b_file=eb.file if eb else "",
            a_name=ea.name if ea else None, b_name=eb.name if eb else None, method=verdict[3])
        self._by_pair[key] = rec
        self._partners.setdefault(ga, set()).add(gb)
        self._partners.setdefault(gb, set()).add(ga)
        if verdict[3] == "surface":
            opened = tuple(g for g in (ga, gb) if not self._info(g).closed)
            if opened:
                self._open[key] = opened
                self._open_count.update(opened)
        return rec
