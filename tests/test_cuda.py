"""The GPU path: training, resuming, inference and head training on a CUDA device.

Skipped where no CUDA device is visible (CI, laptops): run them on a GPU machine with

    python -m pytest tests/test_cuda.py

(``tools/gpu_check.sh`` runs them with the GPU benchmarks).  ``PHOTOZ_TEST_DEVICE=cpu``
runs the same tests on the CPU, which checks the tests themselves, not the GPU path.

What only a GPU exercises: the training set resident on the device in float16, batch
indices and augmentation drawn there, bf16 autocast, channels_last, fused Adam with a
tensor learning rate, CUDA generator states saved and restored on resume, and the heads'
``HeadStep`` with ``torch._fused_adam_`` on the device.
"""

import io
import os

import numpy as np
import pytest
import torch

from photoz_debias.model import augment as aug
from photoz_debias.model.augment import DIHEDRAL_VIEW_PROBS
from photoz_debias.model.checkpoint import load_model
from photoz_debias.grid import activated_outputs
from photoz_debias.debias.heads import HeadSettings, head_densities, init_heads, train_heads
from photoz_debias.model.inference import compute_representations, predict_densities
from photoz_debias.model.networks import build_model
from photoz_debias.model.training import TrainSettings, TrainStep, TrainingBatches, train_model

DEVICE = os.environ.get("PHOTOZ_TEST_DEVICE", "cuda")
pytestmark = pytest.mark.skipif(
    DEVICE.startswith("cuda") and not torch.cuda.is_available(), reason="no CUDA device visible"
)
N_BINS, M = 20, 3


@pytest.fixture
def exact_fp32():
    """Plain fp32 matrix products on the GPU for comparisons with the CPU (train_model
    switches TF32 on for speed; this undoes it for the test and restores it after)."""
    if not torch.cuda.is_available():
        yield
        return
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def _toy(n=512, seed=0):
    """Images whose brightness profile encodes the redshift bin: a network can learn it."""
    rng = np.random.default_rng(seed)
    z_bin = rng.integers(0, N_BINS, n)
    mag_row = rng.integers(0, 2 * M - 1, n)
    yy, xx = np.mgrid[:64, :64]
    blob = np.exp(-((yy - 32) ** 2 + (xx - 32) ** 2) / 60.0).astype(np.float32)
    x = rng.normal(0, 0.3, (n, 5, 64, 64)).astype(np.float32)
    x += (z_bin / N_BINS)[:, None, None, None].astype(np.float32) * 3 * blob
    x[:, 0] += (mag_row / (2 * M))[:, None, None].astype(np.float32) * 2 * blob
    ebv = rng.uniform(0, 0.1, n).astype(np.float32)
    return x, ebv, z_bin, mag_row


def _settings(**kw):
    base = dict(iterations=240, batch_size=64, lr=1e-3, seed=3, log_every=40, state_every=40, device=DEVICE)
    base.update(kw)
    return TrainSettings(**base)


def _losses(text):
    return [float(line.split("loss ")[1].split()[0]) for line in text.splitlines() if line.startswith("iter ")]


def test_training_on_the_device_learns_and_its_checkpoint_predicts_on_the_cpu(tmp_path):
    x, ebv, z_bin, mag_row = _toy()
    model = build_model("netcpu", "multi", n_bins=N_BINS, n_outputs=M, seed=0)
    log = io.StringIO()
    out = train_model(model, x, ebv, z_bin, mag_row, M, _settings(data_on_device=True), tmp_path / "m.pt", log=log)
    assert out["finished"] and out["device"].startswith(DEVICE)
    assert "resident data" in log.getvalue()
    losses = _losses(log.getvalue())
    assert len(losses) == 6 and np.all(np.isfinite(losses))
    assert losses[-1] < 0.8 * losses[0], losses
    # the checkpoint is device-free: it loads and predicts on the CPU like on the device
    cpu_model, meta = load_model(tmp_path / "m.pt")
    assert meta["iterations"] == 240
    assert all(p.device.type == "cpu" for p in cpu_model.parameters())
    p_cpu = predict_densities(cpu_model, x[:64], ebv[:64], device="cpu")
    p_dev = predict_densities(load_model(tmp_path / "m.pt")[0], x[:64], ebv[:64], device=DEVICE)
    np.testing.assert_allclose(p_cpu.sum(axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(p_dev, p_cpu, atol=5e-3)
    # the model learned the toy's redshifts: its modes beat chance (1/20) by far
    assert np.mean(np.abs(p_cpu.argmax(axis=1) - z_bin[:64]) <= 1) > 0.3


def test_a_run_killed_on_the_device_resumes_to_the_uninterrupted_result(tmp_path):
    x, ebv, z_bin, mag_row = _toy()
    s = _settings(iterations=200)
    torch.backends.cudnn.deterministic = True
    try:
        full = build_model("netcpu", "multi", n_bins=N_BINS, n_outputs=M, seed=1)
        train_model(full, x, ebv, z_bin, mag_row, M, s, tmp_path / "full.pt")
        parted = build_model("netcpu", "multi", n_bins=N_BINS, n_outputs=M, seed=1)
        state = tmp_path / "parted.state.pt"
        first = train_model(parted, x, ebv, z_bin, mag_row, M, s, tmp_path / "parted.pt", state_path=state,
                            max_iterations_this_call=120)
        assert not first["finished"] and state.exists()
        # a fresh process would build a fresh model: the state must carry everything
        again = build_model("netcpu", "multi", n_bins=N_BINS, n_outputs=M, seed=1)
        log = io.StringIO()
        second = train_model(again, x, ebv, z_bin, mag_row, M, s, tmp_path / "parted.pt", state_path=state, log=log)
    finally:
        torch.backends.cudnn.deterministic = False
    assert second["finished"] and second["resumed_from"] == 120 and not state.exists()
    assert "resuming from" in log.getvalue()
    a, _ = load_model(tmp_path / "full.pt")
    b, _ = load_model(tmp_path / "parted.pt")
    diff = max(float((pa - pb).abs().max()) for pa, pb in zip(a.state_dict().values(), b.state_dict().values()))
    print(f"largest parameter difference, resumed vs uninterrupted: {diff:.3g}")
    # same batches, same augmentation, same optimiser state: the same run (a different
    # batch sequence moves parameters by ~1e-2 in 80 Adam steps of lr 1e-3)
    assert diff < 1e-4


def test_one_step_on_the_device_matches_the_cpu(exact_fp32):
    x, ebv, z_bin, mag_row = _toy(n=64)
    lo, hi = activated_outputs(mag_row)
    dev = torch.device(DEVICE)
    grads, losses = {}, {}
    for name, device, amp in (("cpu", torch.device("cpu"), False), ("fp32", dev, False), ("bf16", dev, True)):
        model = build_model("netcpu", "multi", n_bins=N_BINS, n_outputs=M, seed=2).to(device)
        step = TrainStep(model, _settings(amp=amp, fused_adam=True), device)
        batch = [torch.as_tensor(a).to(device) for a in (x, ebv, z_bin, lo, hi)]
        loss = step._loss(*batch)
        loss.backward()
        losses[name] = float(loss.detach())
        grads[name] = torch.cat([p.grad.detach().float().cpu().flatten() for p in model.parameters()])
    assert losses["fp32"] == pytest.approx(losses["cpu"], rel=1e-5)
    scale = float(grads["cpu"].abs().max())
    assert float((grads["fp32"] - grads["cpu"]).abs().max()) < 1e-4 * scale
    # bf16 autocast: the loss to bf16 precision, the gradient direction kept
    assert losses["bf16"] == pytest.approx(losses["cpu"], rel=2e-2)
    cos = torch.nn.functional.cosine_similarity(grads["bf16"], grads["cpu"], dim=0)
    assert float(cos) > 0.99


def test_resident_float16_batches_are_augmented_views_of_the_stored_images():
    x, ebv, z_bin, mag_row = _toy(n=32)
    dev = torch.device(DEVICE)
    half = dev.type == "cuda"
    data = TrainingBatches(x, ebv, z_bin, mag_row, dev, seed=0, resident=True,
                           storage_dtype=torch.float16 if half else torch.float32, channels_last=half)
    xb, eb, zb, lo, hi = data.next(16)
    assert xb.device.type == dev.type and xb.dtype == torch.float32 and xb.shape == (16, 5, 64, 64)
    if half:
        assert xb.is_contiguous(memory_format=torch.channels_last)
    stored = torch.as_tensor(x).to(torch.float16 if half else torch.float32).float()
    for b in range(16):
        k = int(np.flatnonzero(np.isclose(ebv, float(eb[b])))[0])
        assert int(zb[b]) == z_bin[k]
        assert any(torch.equal(xb[b].cpu(), aug.apply_view(stored[k], v)) for v in range(8))
    views = torch.arange(32) % 8
    t = torch.as_tensor(x)
    assert torch.equal(aug.apply_views(t.to(dev), views.to(dev)).cpu(), aug.apply_views(t, views))


def test_representations_on_the_device_match_the_cpu(exact_fp32):
    x, ebv, _, _ = _toy(n=40)
    model = build_model("netcpu", "multi", n_bins=N_BINS, n_outputs=M, seed=4)
    r_cpu = compute_representations(model, x, ebv, device="cpu").astype(np.float32)
    r_dev = compute_representations(model, x, ebv, device=DEVICE).astype(np.float32)
    assert r_dev.shape == (40, 8, 256)
    np.testing.assert_allclose(r_dev, r_cpu, rtol=2e-3, atol=2e-3 * float(np.abs(r_cpu).max()))


def test_head_training_on_the_device_matches_the_cpu(exact_fp32):
    rng = np.random.default_rng(5)
    n, d = 300, 64
    z_bin = rng.integers(0, N_BINS, n)
    rows = rng.integers(0, 2 * M - 1, n)
    lo, hi = activated_outputs(rows)
    centres = rng.normal(size=(N_BINS, d))
    reps = (centres[z_bin][:, None, :] + 0.3 * rng.normal(size=(n, 8, d))).astype(np.float16)
    w0, b0 = init_heads(M, N_BINS, d, seed=0)
    out = {}
    for device in ("cpu", DEVICE):
        s = HeadSettings(iterations=150, batch_size=32, lr=1e-2, seed=1, log_every=50, device=device)
        out[device] = train_heads(reps, DIHEDRAL_VIEW_PROBS, z_bin, z_bin, lo, hi, w0, b0, s)
    (w_c, b_c, s_c), (w_d, b_d, s_d) = out["cpu"], out[DEVICE]
    assert s_d["final_loss"] < s_d["loss_history"][0][1]
    assert s_d["final_loss"] == pytest.approx(s_c["final_loss"], rel=1e-3)
    mw, mb = rng.normal(size=(M, d)).astype(np.float32), np.zeros(M, np.float32)
    p_c = head_densities(reps[:, 0], w_c, b_c, mw, mb)
    p_d = head_densities(reps[:, 0], w_d, b_d, mw, mb)
    np.testing.assert_allclose(p_d, p_c, atol=1e-3)


@pytest.mark.skipif(not DEVICE.startswith("cuda"), reason="torch.compile with CUDA graphs is the GPU path")
def test_a_compiled_run_learns_like_the_eager_one_and_resumes(tmp_path):
    x, ebv, z_bin, mag_row = _toy()
    logs = {}
    for name, comp in (("eager", False), ("compiled", True)):
        model = build_model("netcpu", "multi", n_bins=N_BINS, n_outputs=M, seed=0)
        logs[name] = io.StringIO()
        train_model(model, x, ebv, z_bin, mag_row, M, _settings(compile=comp), tmp_path / f"{name}.pt", log=logs[name])
    eager, compiled = _losses(logs["eager"].getvalue()), _losses(logs["compiled"].getvalue())
    print("eager losses", np.round(eager, 4), "compiled", np.round(compiled, 4))
    assert compiled[-1] < 0.8 * compiled[0]
    # the same run to bf16 rounding: fused kernels round differently, so not bit for bit
    np.testing.assert_allclose(compiled, eager, rtol=0.1)
    # a killed compiled run resumes (the state holds no compiled code) and its checkpoint
    # is a plain model
    s = _settings(compile=True, iterations=120)
    state = tmp_path / "c.state.pt"
    model = build_model("netcpu", "multi", n_bins=N_BINS, n_outputs=M, seed=0)
    train_model(model, x, ebv, z_bin, mag_row, M, s, tmp_path / "c.pt", state_path=state, max_iterations_this_call=80)
    model = build_model("netcpu", "multi", n_bins=N_BINS, n_outputs=M, seed=0)
    out = train_model(model, x, ebv, z_bin, mag_row, M, s, tmp_path / "c.pt", state_path=state)
    assert out["finished"] and out["resumed_from"] == 80
    reloaded, _ = load_model(tmp_path / "c.pt")
    assert not any(k.startswith("_orig_mod") for k in reloaded.state_dict())
