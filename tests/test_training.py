"""Augmentation and the Baseline / Step 1 training loop (Sect. 4.1, Table 2; method.md)."""

import io
import os

import h5py
import numpy as np
import pytest
import torch

from photoz_debias.model import augment as aug
from photoz_debias.model.checkpoint import load_model
from photoz_debias.errors import InputError
from photoz_debias.model.inference import predict_densities
from photoz_debias.model.networks import build_model
from photoz_debias.io import load_training_arrays
from photoz_debias.model.training import TrainingBatches, TrainSettings, train_model

torch.set_num_threads(1)

# ------------------------------------------------------------------ augmentation


def test_views_are_the_eight_distinct_dihedral_transforms():
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert torch.equal(aug.apply_view(x, 1), torch.tensor([[2.0, 4.0], [1.0, 3.0]]))  # quarter turn
    assert torch.equal(aug.apply_view(x, 4), torch.tensor([[2.0, 1.0], [4.0, 3.0]]))  # left-right flip
    pattern = torch.arange(9.0).reshape(3, 3)
    views = {tuple(aug.apply_view(pattern, v).flatten().tolist()) for v in range(8)}
    assert len(views) == 8


def test_paper_outcomes_land_on_views_with_the_derived_multiplicity():
    t = aug.OUTCOME_TO_VIEW
    for k in range(4):
        assert t[k, aug.FLIP_NONE] == k
        assert t[k, aug.FLIP_LR] == 4 + k
        assert t[k, aug.FLIP_UD] == 4 + (k + 2) % 4  # flipud(R^k) = fliplr(R^(k+2))
    counts = np.bincount(t.flatten().numpy(), minlength=8)
    assert counts.tolist() == [1, 1, 1, 1, 2, 2, 2, 2]  # of 12 equally likely outcomes
    assert np.allclose(counts / 12, aug.DIHEDRAL_VIEW_PROBS)


def test_sampled_view_frequencies_match_probs():
    n = 240_000
    v = aug.sample_views(n, torch.Generator().manual_seed(0))
    freq = np.bincount(v.numpy(), minlength=8) / n
    p = np.array(aug.DIHEDRAL_VIEW_PROBS)
    assert abs(p.sum() - 1) < 1e-12
    assert np.all(np.abs(freq - p) < 5 * np.sqrt(p * (1 - p) / n))


def test_batched_gather_equals_per_image_views():
    x = torch.randn(16, 3, 6, 6)
    views = torch.arange(16) % 8
    out = aug.apply_views(x, views)  # the CPU path: grouped by view
    gathered = aug._apply_views_gather(x, views)  # the GPU path, run on the CPU
    for b in range(16):
        assert torch.equal(out[b], aug.apply_view(x[b], int(views[b])))
        assert torch.equal(gathered[b], out[b])


# ------------------------------------------------------------------ toy data


def _toy(n=256, size=32, seed=0, n_bins=4, n_rows=3):
    """Redshift bin = brightness of band 0, magnitude row = brightness of band 1 (learnable)."""
    rng = np.random.default_rng(seed)
    z_bin = rng.integers(0, n_bins, n)
    mag_row = rng.integers(0, n_rows, n)
    x = 0.3 * rng.normal(size=(n, 2, size, size)).astype(np.float32)
    x[:, 0] += z_bin[:, None, None].astype(np.float32)
    x[:, 1] += mag_row[:, None, None].astype(np.float32)
    ebv = rng.uniform(0, 0.1, n).astype(np.float32)
    return x, ebv, z_bin, mag_row


def _settings(**kw):
    base = dict(iterations=8, batch_size=8, lr=1e-3, seed=1, log_every=1, state_every=3, device="cpu")
    base.update(kw)
    return TrainSettings(**base)


def _model(unit="multi", seed=0):
    return build_model("netcpu", unit, n_bins=4, n_outputs=2, n_bands=2, rep_dim=32, seed=seed)


def _run(tmp_path, name, unit="multi", settings=None, **kw):
    x, ebv, z_bin, mag_row = _toy()
    model = _model(unit)
    s = settings or _settings()
    out = tmp_path / f"{name}.pt"
    summary = train_model(model, x, ebv, z_bin, mag_row, 2, s, out, state_path=tmp_path / f"{name}.state.pt", **kw)
    return model, summary, out


def _assert_same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


# ------------------------------------------------------------------ training


def test_lr_schedule_drops_by_five_after_half():
    s = TrainSettings(iterations=120_000, batch_size=128, lr=1e-4)
    assert s.lr_at(0) == 1e-4 and s.lr_at(59_999) == 1e-4
    assert s.lr_at(60_000) == pytest.approx(2e-5) and s.lr_at(119_999) == pytest.approx(2e-5)
    with pytest.raises(InputError):
        TrainSettings(iterations=0, batch_size=1)


@pytest.mark.parametrize("unit", ["single", "multi"])
def test_training_learns_toy_task(tmp_path, unit):
    x, ebv, z_bin, mag_row = _toy()
    model = _model(unit)

    def loss_on_train():
        p = predict_densities(model, x, ebv)
        return float(-np.mean(np.log(p[np.arange(len(z_bin)), z_bin] + 1e-12)))

    before = loss_on_train()
    log = io.StringIO()
    s = _settings(iterations=60, batch_size=16, lr=3e-3, log_every=20, state_every=1000)
    summary = train_model(model, x, ebv, z_bin, mag_row, 2, s, tmp_path / "m.pt", log=log)
    after = loss_on_train()
    assert summary["finished"] and summary["iteration"] == 60
    assert after < 0.5 * before, (before, after)  # ln 4 = 1.39 at chance
    lines = [ln for ln in log.getvalue().splitlines() if ln.startswith("iter ")]
    assert len(lines) == 3 and lines[-1].startswith("iter 60/60 loss ")
    assert all(k in lines[0] for k in ("lr 3.00e-03", "img/s", "elapsed", "eta"))
    assert "lr 6.00e-04" in lines[-1]  # divided by 5 after half the iterations
    loaded, meta = load_model(tmp_path / "m.pt")
    _assert_same_weights(loaded, model)
    assert meta["iterations"] == 60 and meta["seed"] == 1 and meta["unit"] == unit


def test_deterministic_on_cpu(tmp_path):
    a, _, _ = _run(tmp_path, "a")
    b, _, _ = _run(tmp_path, "b")
    _assert_same_weights(a, b)
    c, _, _ = _run(tmp_path, "c", settings=_settings(seed=2))  # other batches and views
    assert not torch.equal(a.state_dict()["unit.heads_weight"], c.state_dict()["unit.heads_weight"])


def test_resume_after_stop_and_after_crash_gives_identical_weights(tmp_path):
    ref, _, _ = _run(tmp_path, "ref", checkpoint_dir=tmp_path / "ck_ref")

    # a time-limited job: 5 iterations, then a second call finishes (lr drop at 4 in between)
    m1, s1, out = _run(tmp_path, "stop", max_iterations_this_call=5)
    assert not s1["finished"] and s1["iteration"] == 5 and not out.exists()
    assert (tmp_path / "stop.state.pt").exists()
    m2, s2, out = _run(tmp_path, "stop")
    assert s2["resumed_from"] == 5 and s2["finished"] and out.exists()
    assert not (tmp_path / "stop.state.pt").exists()  # removed at the end
    _assert_same_weights(load_model(out)[0], ref)

    # a crash during iteration 7: the state of iteration 6 (state_every=3) is resumed
    class Crash(io.StringIO):
        def write(self, s):
            if s.startswith("iter 7/"):
                raise RuntimeError("killed")
            return super().write(s)

    with pytest.raises(RuntimeError, match="killed"):
        _run(tmp_path, "crash", log=Crash())
    log = io.StringIO()
    _, s3, out = _run(tmp_path, "crash", log=log)
    assert s3["resumed_from"] == 6 and "resuming" in log.getvalue()
    _assert_same_weights(load_model(out)[0], ref)


def test_checkpoints_and_stale_state(tmp_path):
    ck = tmp_path / "ck"
    _run(tmp_path, "m", settings=_settings(checkpoint_iters=[2, 5]), checkpoint_dir=ck)
    assert sorted(os.listdir(ck)) == ["iter2.pt", "iter5.pt"]
    assert load_model(ck / "iter2.pt")[1]["iterations"] == 2
    # a state left by a run with other settings is not resumed
    _run(tmp_path, "s", settings=_settings(lr=5e-4), max_iterations_this_call=4)
    log = io.StringIO()
    _, summary, _ = _run(tmp_path, "s", log=log)
    assert summary["resumed_from"] == 0 and "ignoring" in log.getvalue()


def test_batches_draw_with_replacement_and_augment(tmp_path):
    x = np.arange(4 * 1 * 4 * 4, dtype=np.float32).reshape(4, 1, 4, 4)
    z_bin, mag_row = np.arange(4), np.array([0, 1, 2, 1])
    data = TrainingBatches(x, np.zeros(4), z_bin, mag_row, torch.device("cpu"), seed=0, resident=True, storage_dtype=torch.float16)
    xb, eb, zb, lo, hi = data.next(64)
    assert xb.dtype == torch.float32 and xb.shape == (64, 1, 4, 4)
    assert len(set(zb.tolist())) == 4  # 64 draws from 4 galaxies: with replacement
    assert torch.equal(lo, torch.as_tensor(mag_row // 2)[zb]) and torch.equal(hi, torch.as_tensor((mag_row + 1) // 2)[zb])
    seen = set()
    for b in range(64):
        src = torch.as_tensor(x[int(zb[b])]).half().float()  # float16 storage is exact here
        match = [v for v in range(8) if torch.equal(xb[b], aug.apply_view(src, v))]
        assert len(match) == 1
        seen.add(match[0])
    assert len(seen) >= 6  # the views vary per image


def test_invalid_labels_are_rejected(tmp_path):
    x, ebv, z_bin, mag_row = _toy(n=16)
    z_bin[5] = 4  # n_bins = 4
    with pytest.raises(InputError, match="galaxy row 5.*z_bin"):
        train_model(_model(), x, ebv, z_bin, mag_row, 2, _settings(), tmp_path / "m.pt")
    x, ebv, z_bin, mag_row = _toy(n=16)
    mag_row[3] = 3  # m = 2 -> rows 0..2
    with pytest.raises(InputError, match="galaxy row 3.*mag_row"):
        train_model(_model(), x, ebv, z_bin, mag_row, 2, _settings(), tmp_path / "m.pt")
    x[2, 0, 0, 0] = np.nan
    with pytest.raises(InputError, match="galaxy row 2"):
        train_model(_model(), x, ebv, z_bin, np.zeros(16, int), 2, _settings(), tmp_path / "m.pt")


def test_load_training_arrays_reads_the_split(tmp_path):
    path = tmp_path / "stamps.h5"
    n = 7
    split = np.array([0, 1, 0, 0, 1, 0, 1], np.uint8)
    images = np.arange(n * 2 * 4 * 4, dtype=np.float32).reshape(n, 2, 4, 4)
    with h5py.File(path, "w") as f:
        f["images"] = images
        f["split"] = split
        f["id"] = np.arange(100, 100 + n, dtype=np.int64)
        f["z_spec"] = np.linspace(0.01, 0.3, n)
        f["ebv"] = np.full(n, 0.02, np.float32)
        f["mag_row"] = np.array([0, 1, 2, 3, 4, 5, 6], np.int16)
    d = load_training_arrays(path, "train")
    assert d["id"].tolist() == [100, 102, 103, 105]
    assert np.array_equal(d["x"], images[[0, 2, 3, 5]])
    assert d["mag_row"].tolist() == [0, 2, 3, 5] and d["z_spec"].dtype == np.float64
    assert load_training_arrays(path, "test")["id"].tolist() == [101, 104, 106]
    with pytest.raises(InputError, match="split"):
        load_training_arrays(path, "valid")


def test_compile_for_follows_device_and_run_length():
    from photoz_debias.model.training import COMPILE_MIN_ITERATIONS, compile_for

    long, short = COMPILE_MIN_ITERATIONS, COMPILE_MIN_ITERATIONS - 1
    assert compile_for("auto", "cuda", long) and compile_for(None, torch.device("cuda:1"), long)
    assert not compile_for("auto", "cuda", short)  # compilation would not be won back
    assert not compile_for("", "cpu", 10 * long)  # never on the CPU unless asked
    assert compile_for("1", "cpu", 1) and compile_for("ON", "cuda", 1)
    assert not compile_for("0", "cuda", 10 * long) and not compile_for("off", "cuda", 10 * long)
    with pytest.raises(InputError, match="PHOTOZ_COMPILE"):
        compile_for("sometimes", "cuda", long)


def test_cpu_fast_switch():
    from photoz_debias.model.training import cpu_fast_for

    assert not cpu_fast_for(None) and not cpu_fast_for("") and not cpu_fast_for("auto")  # off by default
    assert cpu_fast_for("1") and cpu_fast_for("On") and not cpu_fast_for("0")
    with pytest.raises(InputError, match="PHOTOZ_CPU_FAST"):
        cpu_fast_for("fast")


def _losses(log: str) -> np.ndarray:
    return np.array([float(ln.split(" loss ")[1].split()[0]) for ln in log.splitlines() if ln.startswith("iter ")])


def test_cpu_fast_path_is_deterministic_and_learns_like_the_eager_loop(tmp_path):
    # compiled by inductor: the same maths rounded otherwise, so equal to itself, close to eager
    x, ebv, z_bin, mag_row = _toy()
    models, logs = {}, {}
    for name, fast in (("eager", False), ("fast1", True), ("fast2", True)):
        logs[name] = io.StringIO()
        models[name] = _model()
        s = _settings(iterations=60, batch_size=16, lr=3e-3, log_every=10, state_every=1000, cpu_fast=fast)
        train_model(models[name], x, ebv, z_bin, mag_row, 2, s, tmp_path / f"{name}.pt", log=logs[name])
    _assert_same_weights(models["fast1"], models["fast2"])
    # stopped after 25 iterations and resumed (fused Adam's state, no compiled state saved)
    s = _settings(iterations=60, batch_size=16, lr=3e-3, log_every=10, state_every=1000, cpu_fast=True)
    for _ in range(3):  # 25 + 25 + 10 iterations
        resumed = _model()
        train_model(resumed, x, ebv, z_bin, mag_row, 2, s, tmp_path / "resumed.pt", state_path=tmp_path / "resumed.state.pt",
                    max_iterations_this_call=25)
    _assert_same_weights(load_model(tmp_path / "resumed.pt")[0], models["fast1"])
    eager, fast = _losses(logs["eager"].getvalue()), _losses(logs["fast1"].getvalue())
    assert len(fast) == 6 and fast[-1] < 0.8 * fast[0], fast
    print("eager losses", eager, "fast", fast)
    np.testing.assert_allclose(fast, eager, rtol=0.02)
    # the fast path's checkpoint holds the plain module's weights: it loads and predicts
    loaded, _ = load_model(tmp_path / "fast1.pt")
    p_fast = predict_densities(loaded, x[:32], ebv[:32])
    assert np.isfinite(p_fast).all() and np.allclose(p_fast.sum(axis=1), 1, atol=1e-5)


def test_direct_views_on_the_cpu_give_the_gathered_then_augmented_batches():
    x, ebv, z_bin, mag_row = _toy(n=64, size=8)
    args = (x, ebv, z_bin, mag_row, torch.device("cpu"), 3, True)
    direct, gathered = TrainingBatches(*args), TrainingBatches(*args, direct_views=False)
    assert direct.direct_views and not gathered.direct_views
    for _ in range(3):
        for a, b in zip(direct.next(40), gathered.next(40)):
            assert torch.equal(a, b)
