"""Common random numbers: reproducible uniforms keyed by (seed, purpose, id, replication).

Every random quantity in a simulation (an activity's duration, a risk event, a day's weather, a
crane lift) is drawn from a uniform ``u`` that depends only on the seed, a *purpose* (``"duration"``,
``"risk"``, ``"weather"``...), the *id* it belongs to (activity id, risk id, day) and the
replication number. Two scenarios that share activity ids therefore draw the same numbers for them,
so their comparison is paired, whatever the order or number of other activities, and a replication
gives the same result whether it runs alone, in a process pool chunk or on a Dask worker.

How: a per-(seed, purpose, id) 64-bit key comes from :class:`numpy.random.SeedSequence` (entropy =
seed, spawn key = (purpose hash, id hash)); the draw for replication ``r`` and sub-draw ``j`` is the
SplitMix64 generator seeded with ``key xor h(j)`` at position ``r + 1`` (its output function applied
to ``key' + (r + 1) * golden``): a counter-based generator like Philox, vectorised over numpy arrays
(no per-draw Python call). Ids are hashed with BLAKE2b, not ``hash()``, so keys are stable across
processes.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Iterable, Sequence

import numpy as np
from numpy.typing import NDArray

__all__ = ["stable_hash", "stream_keys", "uniforms", "uniform_matrix", "sub_uniforms"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def stable_hash(text: str) -> int:
    """A 32-bit hash of ``text`` that is the same in every process and Python version."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=4).digest(), "little")


def stream_keys(seed: int, purpose: str, ids: Iterable[str]) -> NDArray[np.uint64]:
    """One 64-bit key per id for ``purpose``, derived with ``SeedSequence``.

    Keys are cached per (seed, purpose, ids) for the process (deriving 4,000 keys costs ~0.1 s and
    every chunk of replications needs the same ones).

    Returns
    -------
    ndarray of uint64, shape (n_ids,), read-only
    """
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    return _keys(int(seed), purpose, tuple(ids))


@lru_cache(maxsize=64)
def _keys(seed: int, purpose: str, ids: tuple[str, ...]) -> NDArray[np.uint64]:
    p = stable_hash(purpose)
    keys = np.asarray([
        np.random.SeedSequence(seed, spawn_key=(p, stable_hash(i))).generate_state(1, np.uint64)[0]
        for i in ids
    ], dtype=np.uint64)
    keys.setflags(write=False)
    return keys


def _to_bits(x: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """SplitMix64 output function, applied in place."""
    y = np.empty_like(x)
    for shift, mult in ((30, _M1), (27, _M2)):
        np.right_shift(x, np.uint64(shift), out=y)
        np.bitwise_xor(x, y, out=x)
        np.multiply(x, mult, out=x)
    np.right_shift(x, np.uint64(31), out=y)
    np.bitwise_xor(x, y, out=x)
    return x


def _to_unit(x: NDArray[np.uint64]) -> NDArray[np.float64]:
    """SplitMix64 output of ``x`` (in place), top 53 bits as a float in (0, 1)."""
    x = _to_bits(x)
    np.right_shift(x, np.uint64(11), out=x)
    f = x.astype(np.float64)
    f += 0.5
    f *= 1.0 / 9007199254740992.0
    return f


def _counters(runs: Sequence[int] | NDArray[np.int64]) -> NDArray[np.uint64]:
    r = np.asarray(runs, dtype=np.uint64)
    with np.errstate(over="ignore"):
        return (r + np.uint64(1)) * _GOLDEN


def _sub_key(keys: NDArray[np.uint64] | np.uint64 | int, sub: int) -> NDArray[np.uint64]:
    """Key of sub-stream ``sub``: the key itself for 0, else key xor a SplitMix64 hash of sub."""
    k = np.asarray(keys, dtype=np.uint64)
    if sub == 0:
        return k
    with np.errstate(over="ignore"):
        h = _to_bits(np.asarray([np.uint64(sub) * _GOLDEN], dtype=np.uint64))[0]
    return k ^ h


def uniforms(key: np.uint64 | int, runs: Sequence[int] | NDArray[np.int64], sub: int = 0) -> NDArray[np.float64]:
    """Uniforms in (0, 1) for one key, one per replication in ``runs`` (shape (len(runs),))."""
    with np.errstate(over="ignore"):
        x = _counters(runs) + _sub_key(key, sub)
    return _to_unit(x)


def uniform_matrix(keys: NDArray[np.uint64], runs: Sequence[int] | NDArray[np.int64], sub: int = 0
                   ) -> NDArray[np.float64]:
    """Uniforms for every (replication, key): shape (len(runs), len(keys)), values in (0, 1).

    Entry ``[i, j]`` equals ``uniforms(keys[j], [runs[i]], sub)[0]``.
    """
    with np.errstate(over="ignore"):
        x = _counters(runs)[:, None] + _sub_key(keys, sub)[None, :]
    return _to_unit(x)


def sub_uniforms(key: np.uint64 | int, run: int, subs: Sequence[int] | NDArray[np.int64]) -> NDArray[np.float64]:
    """Uniforms of one replication for many sub-streams at once: shape (len(subs),).

    Entry ``k`` equals ``uniforms(key, [run], subs[k])[0]`` (used for the lifts of one activity).
    """
    sub = np.asarray(subs, dtype=np.uint64)
    with np.errstate(over="ignore"):
        h = _to_bits(sub * _GOLDEN)
    h = np.where(sub == 0, np.uint64(0), h)
    with np.errstate(over="ignore"):
        x = (np.uint64(key) ^ h) + np.uint64(run + 1) * _GOLDEN
    return _to_unit(np.asarray(x, dtype=np.uint64))
