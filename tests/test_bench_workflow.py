"""bench.workflow sums Snakemake's benchmark TSVs per dataset or per rule."""

from photoz_debias.bench.workflow import main, summarise

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def _tsv(path, wall, cpu):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + f"{wall}\t0:00:01\t1\t1\t1\t1\t0\t0\t50\t{cpu}\n")


def test_sums_per_dataset_and_rule(tmp_path, capsys):
    _tsv(tmp_path / "sdss/netcpu/seed0/train_baseline.tsv", 10.0, 8.0)
    _tsv(tmp_path / "sdss/netcpu/seed1/train_baseline.tsv", 12.0, 9.0)
    _tsv(tmp_path / "cfhtls/netcpu/seed0/represent.tsv", 5.0, 4.0)
    by_ds = summarise(tmp_path)
    assert by_ds.loc["sdss"].tolist() == [2, 22, 17]
    assert by_ds.loc["cfhtls"].tolist() == [1, 5, 4]
    by_rule = summarise(tmp_path, "rule")
    assert by_rule.loc["train_baseline"].tolist() == [2, 22, 17]
    main([str(tmp_path), "--by", "rule"])
    assert "| **total** | 3 | 27 | 21 |" in capsys.readouterr().out
