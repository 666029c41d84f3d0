# The scaling experiment (config/scaling.yaml): every part of each `scaling.datasets` dataset,
# Baseline -> Step 4, then one table and figure against training-set size.


def scaling_datasets():
    return list(config.get("scaling", {}).get("datasets", []))


def scaling_part_outputs(wildcards=None):
    out = []
    for ds in scaling_datasets():
        out.append(paths.stamps_path(ds))
        for part in dataset_parts(ds):
            out += part_outputs(ds, part)
    return out


rule scaling:
    input:
        scaling_part_outputs,
