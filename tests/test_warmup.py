"""twin.warmup: the install-time compile step runs both kernels and gives their real answers."""
import numpy as np
import pytest

from twin import warmup


def test_warm_up_runs_both_kernels_and_they_agree_with_the_reference():
    pytest.importorskip("numba")
    assert warmup.warm_clash() is True
    assert warmup.warm_cpm() is True
    # the cubes the warm-up judges overlap by half a metre: the kernel must say so
    from twin import clashkern
    from twin.clashgeom import mesh_info

    pack = clashkern.pack_shapes([mesh_info(*warmup._box(0.0)), mesh_info(*warmup._box(0.0))])
    code, depth, _, _ = clashkern.judge_pairs(pack, np.array([0]), np.zeros((1, 3)), np.array([1]),
                                              np.array([[0.5, 0.0, 0.0]]), "hard", 0.002, 0.05)
    assert code[0] == clashkern.VERDICT and depth[0] == pytest.approx(0.5)


def test_main_reports_and_succeeds(capsys):
    assert warmup.main() == 0
    out = capsys.readouterr().out
    assert "clash narrow phase" in out or "numba is not installed" in out
