"""Checks of the merged workflow configuration that the JSON schema cannot make.

The Snakefile runs :func:`check_keys` before the schema (so that a misspelt key gets a
"did you mean" rather than jsonschema's wording) and :func:`check_config` after it, at parse
time: a bad configuration stops the workflow before any job runs, a dry run included.
Every problem is reported at once, each with the key's full path (``datasets.sdss.grid``),
what is wrong and what was expected, as :class:`ConfigError`.

Keys: an object of the schema that lists its ``properties`` takes no other keys; a map
(``additionalProperties: {...}``: datasets, parts, resources, test samples) takes any name
and checks its values.  A dataset's ``source`` takes the keys its layout reads
(:data:`SOURCE_KEYS`, from :mod:`photoz_debias.data.ingest`).

A dataset block may start from another (``base:``, :func:`resolve_bases`): the Snakefile
resolves the bases first, so that the checks and every rule see whole blocks.

This module imports neither torch nor the readers: the Snakefile imports it at parse time.
"""

from __future__ import annotations

import copy
import difflib
import math

from .errors import InputError

# The keys each layout's reader takes (photoz_debias.data.ingest.open_source and the layout's
# _open_* function), and the ones it cannot do without.
_TABLE_KEYS = {"table_format", "table_hdu", "text_columns"}
_COMMON_KEYS = {"layout", "bands", "columns", "non_detection"}
SOURCE_KEYS = {
    # the raw folder of photoz_debias.data.synth, read as npz (sdss_like) or generic (cfhtls_like)
    "synthetic": {"layout", "survey", "n_galaxies", "seed", "params", "columns"},
    "npz": _COMMON_KEYS | {"path", "cube_key", "labels_key", "axis_order", "stamp_size",
                           "pixel_scale_arcsec"},
    "generic": _COMMON_KEYS | _TABLE_KEYS | {"images", "images_hdu", "catalogue", "axis_order",
                                             "stamp_size", "pixel_scale_arcsec"},
    "per_galaxy": _COMMON_KEYS | _TABLE_KEYS | {"stamp_dir", "stamp_pattern", "table",
                                                "train_index", "test_index", "axis_order",
                                                "pixel_scale_arcsec"},
    "catalogue": _COMMON_KEYS | _TABLE_KEYS | {"catalogue", "catalogue_train", "catalogue_test"},
}
SOURCE_REQUIRED = {
    "synthetic": ("survey", "n_galaxies", "seed"),
    "npz": (),
    "generic": ("images", "catalogue", "pixel_scale_arcsec"),
    "per_galaxy": ("stamp_dir", "table", "train_index", "test_index", "pixel_scale_arcsec"),
    "catalogue": (),
}
# Standard columns a `columns` mapping may name besides mag_<band> / magerr_<band>.
COLUMN_KEYS = ("id", "z_spec", "r_mag", "ebv", "field", "quality", "z_true", "photoz_survey")
DEPLETED = "_depleted"  # suffix of the depleted-training variant (workflow/rules/common.smk)


class ConfigError(InputError):
    """A bad configuration: one line per problem, each naming the key's path, what is
    wrong and what was expected, e.g.::

        config key datasets.sdss.source.band: unknown key (did you mean 'bands'?); expected ...
    """

    def __init__(self, problems: list[tuple[str, str, str]]):
        lines = [f"config key {path}: {what}; expected {expected}"
                 for path, what, expected in problems]
        head = "" if len(lines) == 1 else f"{len(lines)} problems in the config:\n  "
        ValueError.__init__(self, head + "\n  ".join(lines))
        self.problems = problems
        self.file, self.row, self.gal_id = None, None, None
        self.field, self.what, self.expected = problems[0] if problems else (None,) * 3


def _did_you_mean(key, allowed) -> str:
    lower = {str(a).lower(): a for a in sorted(allowed)}
    close = difflib.get_close_matches(str(key).lower(), list(lower), n=1, cutoff=0.6)
    return f" (did you mean {lower[close[0]]!r}?)" if close else ""


def _unknown(path, key, allowed, what=None) -> tuple[str, str, str]:
    what = what or (f"keys of {path}" if path else "top-level keys")
    return (f"{path}.{key}" if path else str(key), "unknown key" + _did_you_mean(key, allowed),
            f"one of the {what}: {', '.join(sorted(allowed))}")


#: AB zero points of the flux units a catalogue may give magnitudes in: m = zp - 2.5 log10(f).
#: A nanomaggy is the AB flux of magnitude 22.5 (SDSS, the Legacy Surveys); a jansky that of
#: 2.5 log10(3631) = 8.90 (Oke & Gunn 1983).
FLUX_ZERO_POINTS = {
    "nanomaggy": 22.5,
    "maggy": 0.0,
    "Jy": 2.5 * math.log10(3631.0),
    "mJy": 2.5 * math.log10(3631.0e3),
    "uJy": 2.5 * math.log10(3631.0e6),
    "nJy": 2.5 * math.log10(3631.0e9),
}


def flux_spec_problem(spec) -> str | None:
    """What is wrong with a flux mapping ``{flux: column, unit: ...}`` or ``{flux: column,
    zero_point: zp}`` (None when it is one)."""
    if not isinstance(spec, dict) or not isinstance(spec.get("flux"), str):
        return "a flux column name under 'flux'"
    rest = set(spec) - {"flux"}
    if rest == {"unit"}:
        if spec["unit"] in FLUX_ZERO_POINTS:
            return None
        return f"unit {spec['unit']!r}: one of {', '.join(FLUX_ZERO_POINTS)}"
    if rest == {"zero_point"}:
        zp = spec["zero_point"]
        if _is_number(zp):
            return None
        return f"zero_point {zp!r}: a number (the AB magnitude of unit flux)"
    return "exactly one of 'unit' or 'zero_point' beside 'flux'"


# ----------------------------------------------------------------------------- bases


def resolve_bases(config: dict) -> dict:
    """The configuration with every dataset's ``base:`` resolved: a new dict, the input is
    not modified.

    A dataset block with ``base: other`` becomes ``datasets.other``'s block (itself resolved
    first, so chains ``a -> b -> c`` work) with the dataset's own keys deep-merged over it as
    ``--configfile`` overlays merge: mappings key by key, lists and other values replaced.
    The exception is ``source``, replaced whole when the dataset gives one.  The ``base`` key
    is removed.  Blocks without ``base`` are kept as they are.

    Raises
    ------
    ConfigError
        Every bad base at once, at its key path (``datasets.legacy.base``): a base that is not
        a string, one that names no dataset (with a "did you mean"), and each cycle
        (``a -> b -> a``, ``a -> a``), named.  A dataset whose base fails only because its
        own base does is not reported again.
    """
    out = copy.deepcopy(config)
    datasets = out.get("datasets")
    if not isinstance(datasets, dict):
        return out  # the schema reports the type
    from .studies import deep_merge

    resolved: dict = {}
    failed: set = set()
    problems: list = []

    def resolve(name, above):
        """Resolve ``name`` (reached through the bases ``above`` it); False if it cannot be."""
        if name in resolved or name in failed:
            return name in resolved
        block = datasets[name]
        if not isinstance(block, dict) or "base" not in block:
            resolved[name] = block
            return True
        path, base, chain = f"datasets.{name}.base", block["base"], above + [name]
        others = sorted(str(d) for d in datasets if d != name)
        if not isinstance(base, str):
            problems.append((path, f"base {base!r}",
                             f"a dataset name (a string), one of {', '.join(others)}"))
        elif base not in datasets:
            problems.append((path, f"base {base!r}: no such dataset" + _did_you_mean(base, others),
                             f"one of the dataset names: {', '.join(others)}"))
        elif not isinstance(datasets[base], dict):
            problems.append((path, f"base {base!r}, whose block is {datasets[base]!r}",
                             "a dataset whose block is a mapping"))
        elif base in chain:
            cycle = chain[chain.index(base):] + [base]
            problems.append((f"datasets.{cycle[0]}.base",
                             f"a cycle of bases {' -> '.join(cycle)}",
                             "a chain of bases that ends at a dataset without 'base'"))
            failed.update(cycle)
            return False
        elif resolve(base, chain):
            own = {k: v for k, v in block.items() if k not in ("base", "source")}
            merged = deep_merge(resolved[base], own)
            # a source is replaced whole: one of another layout must not inherit the base's
            # layout-specific keys (an npz source's path or cube_key under a generic layout)
            if "source" in block:
                merged["source"] = copy.deepcopy(block["source"])
            resolved[name] = merged
            return True
        failed.add(name)
        return False

    for name in datasets:
        resolve(name, [])
    if problems:
        raise ConfigError(problems)
    out["datasets"] = {name: resolved[name] for name in datasets}
    return out


# ----------------------------------------------------------------------------- keys


def _resolve(node, root):
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            raise ValueError(f"schema $ref {ref!r}: only local references are supported")
        target = root
        for part in ref[2:].split("/"):
            target = target[part]
        node = target
    return node if isinstance(node, dict) else {}


def _walk(value, node, path, root, out):
    """Unknown keys of ``value`` under the schema ``node`` (appended to ``out``)."""
    node = _resolve(node, root)
    if isinstance(value, list):
        items = node.get("items")
        if isinstance(items, dict):
            for i, v in enumerate(value):
                _walk(v, items, f"{path}[{i}]", root, out)
        return
    if not isinstance(value, dict):
        return
    props = node.get("properties")
    extra = node.get("additionalProperties")
    for key, v in value.items():
        sub = f"{path}.{key}" if path else str(key)
        if props is not None and key in props:
            if props[key] is _source_node(root):
                out += _source_keys(v, sub)
            else:
                _walk(v, props[key], sub, root, out)
        elif isinstance(extra, dict):
            _walk(v, extra, sub, root, out)
        elif props is not None and extra is not True:
            out.append(_unknown(path, key, props))


def _source_node(root):
    return root.get("definitions", {}).get("dataset", {}).get("properties", {}).get("source")


def _source_keys(src, path) -> list:
    """Unknown and missing keys of a dataset's ``source`` block, for its layout."""
    if not isinstance(src, dict):
        return []  # the schema reports the type
    layout = src.get("layout")
    if layout not in SOURCE_KEYS:
        return [(f"{path}.layout", f"layout {layout!r}", f"one of {', '.join(SOURCE_KEYS)}")]
    allowed = SOURCE_KEYS[layout]
    out = []
    for k in src:
        if k in allowed:
            continue
        path_, what, expected = _unknown(path, k, allowed, f"{layout} layout's source keys")
        other = [name for name, keys in SOURCE_KEYS.items() if k in keys]
        if other:
            # the usual way to get here: an overlay that changes the layout is deep-merged
            # into config/config.yaml and inherits the default's synthetic source keys
            what += (f" for layout {layout} (a key of the {'/'.join(other)} layout: an overlay "
                     "that changes the layout also needs --replace-workflow-config)")
        out.append((path_, what, expected))
    out += [(f"{path}.{k}", "missing", f"the {layout} layout's {k!r} key")
            for k in SOURCE_REQUIRED[layout] if k not in src]
    if layout == "catalogue":
        pair = [k in src for k in ("catalogue_train", "catalogue_test")]
        if ("catalogue" in src) == any(pair) or any(pair) != all(pair):
            out.append((f"{path}.catalogue", "given keys " + str(
                [k for k in ("catalogue", "catalogue_train", "catalogue_test") if k in src]),
                "either catalogue (the split drawn by the config) or both catalogue_train "
                "and catalogue_test (the files fix the split)"))
    cols = src.get("columns")
    if isinstance(cols, dict):
        out += _column_problems(cols, _bands(src), f"{path}.columns")
    elif cols is not None:
        out.append((f"{path}.columns", f"{cols!r}", "a mapping of standard column names"))
    return out


def _bands(src) -> tuple:
    b = src.get("bands", "ugriz")
    return tuple(b) if isinstance(b, str) else tuple(str(x) for x in b)


def _column_problems(cols: dict, bands, path) -> list:
    allowed = set(COLUMN_KEYS) | {f"{p}_{b}" for b in bands for p in ("mag", "magerr")}
    out = [_unknown(path, k, allowed, f"standard columns of bands {''.join(bands)}")
           for k in cols if k not in allowed]
    for k, spec in cols.items():
        if isinstance(spec, str):
            continue
        if isinstance(spec, dict) and "flux" in spec and (k.startswith("mag_") or k == "r_mag"):
            problem = flux_spec_problem(spec)
            if problem:
                out.append((f"{path}.{k}", f"{spec!r}", problem))
        elif not (isinstance(spec, dict) and set(spec) == {"constant"}):
            expected = "a column name or {constant: value}"
            if k.startswith("mag_") or k == "r_mag":
                expected += (", or a flux column: {flux: FLUX_G, unit: nanomaggy} "
                             "(or zero_point: 22.5 for another unit)")
            out.append((f"{path}.{k}", f"{spec!r}", expected))
        elif k == "ebv" and not (_is_number(spec["constant"]) and spec["constant"] >= 0):
            out.append((f"{path}.ebv.constant", f"E(B-V) = {spec['constant']!r}",
                        "a non-negative reddening in mag (0.0 where the magnitudes are "
                        "already dereddened)"))
    return out


def check_keys(config: dict, schema: dict) -> None:
    """Refuse keys the schema does not know, at every level, and source keys the layout does
    not read; a source's missing keys and its ``columns`` mapping (names for its bands, column
    names or ``{constant: value}``, E(B-V) constants >= 0) are checked with them.

    Parameters
    ----------
    config : the merged configuration.
    schema : the parsed ``workflow/schemas/config.schema.yaml``.

    Raises
    ------
    ConfigError
        Every unknown key, with its full path and a "did you mean" for a near miss.
    """
    out: list = []
    _walk(config, schema, "", schema, out)
    if out:
        raise ConfigError(out)


# ----------------------------------------------------------------------------- values


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def grid_problems(grid: dict, valid_z, path: str) -> list:
    """The redshift grid (Table 1) against itself and the valid z range of the input.

    Galaxies are binned by ``RedshiftGrid.bin_index``, which puts a z outside
    ``[z_min, z_max]`` into an end bin: a valid range reaching beyond the grid would clip
    labels silently, so it is refused.  Ingestion rejects galaxies outside ``valid_range``
    (``ingest.validate_labels``, with their count).
    """
    out = []
    z_min, z_max, n_bins = grid.get("z_min"), grid.get("z_max"), grid.get("n_bins")
    if not (_is_number(z_min) and _is_number(z_max) and z_min < z_max):
        out.append((f"{path}.grid", f"z_min = {z_min!r}, z_max = {z_max!r}",
                    "finite z_min < z_max"))
    if not (isinstance(n_bins, int) and n_bins >= 1):
        out.append((f"{path}.grid.n_bins", f"n_bins = {n_bins!r}", "an integer >= 1"))
    if out or valid_z is None:
        return out
    lo, hi = valid_z
    if _is_number(lo) and _is_number(hi) and (lo < z_min or hi > z_max):
        out.append((f"{path}.valid_range.z",
                    f"valid_range.z [{lo}, {hi}] reaches beyond the grid [{z_min}, {z_max}] "
                    "(labels outside the grid would be clipped into its end bins)",
                    f"valid_range.z within [grid.z_min, grid.z_max] = [{z_min}, {z_max}], "
                    "or a grid covering the data"))
    return out


def _range_problem(pair, path, what):
    if (isinstance(pair, (list, tuple)) and len(pair) == 2 and all(map(_is_number, pair))
            and pair[0] < pair[1]):
        return []
    return [(path, f"{what} {pair!r}", "[low, high] with finite low < high")]


def dataset_problems(ds: dict, path: str) -> list:
    """Value checks of one dataset block (after the schema: types and required keys hold)."""
    out = []
    vr = ds.get("valid_range", {})
    out += _range_problem(vr.get("z"), f"{path}.valid_range.z", "z range")
    out += _range_problem(vr.get("r"), f"{path}.valid_range.r", "r range")
    z_ok = not out or all(p[0] != f"{path}.valid_range.z" for p in out)
    out += grid_problems(ds.get("grid", {}), vr.get("z") if z_ok else None, path)
    rows = ds.get("rows", {})
    if isinstance(rows.get("n_rows"), int) and rows["n_rows"] % 2 == 0:
        out.append((f"{path}.rows.n_rows", f"n_rows = {rows['n_rows']}",
                    "an odd number (2m - 1 rows for m magnitude outputs)"))
    t = ds.get("training", {})
    n_it, ck = t.get("iterations"), t.get("checkpoint_iters") or []
    late = [c for c in ck if isinstance(n_it, int) and c >= n_it]
    if late:
        out.append((f"{path}.training.checkpoint_iters",
                    f"checkpoints {late} at or after the last iteration ({n_it})",
                    f"checkpoint iterations < training.iterations = {n_it} (the final model "
                    "is saved anyway)"))
    split, src = ds.get("split", {}), ds.get("source", {})
    fixed = src.get("layout") == "per_galaxy" or "catalogue_test" in src
    if ("test_fraction" in split) == ("n_test" in split) and not fixed:
        out.append((f"{path}.split", f"keys {sorted(split)}",
                    "exactly one of test_fraction or n_test (and seed)"))
    grid = ds.get("grid", {})
    for name, part in (ds.get("parts") or {}).items():
        pp = f"{path}.parts.{name}"
        rb = part.get("r_bins") or []
        if any(not b < a for b, a in zip(rb[:-1], rb[1:])):
            out.append((f"{pp}.r_bins", f"r_bins {rb}", "strictly increasing magnitudes"))
        zb = part.get("z_break")
        if _is_number(zb) and _is_number(grid.get("z_min")) and _is_number(grid.get("z_max")) \
                and not grid["z_min"] < zb < grid["z_max"]:
            out.append((f"{pp}.z_break", f"z_break = {zb}",
                        f"a redshift inside the grid ({grid['z_min']}, {grid['z_max']})"))
    return out


APPLIED_KEYS = ("apply", "source", "pixel_divisor", "valid_range")


def applied_problems(name: str, ds: dict, datasets: dict, path: str) -> list:
    """An applied sample (apply mode): its model is a trained dataset, not itself applied;
    it has only its own ingestion keys (the grid, rows, net and parts are the model's),
    a source with pixel_divisor and valid_range unless it withholds the model's test
    sample, parts of the model and increasing tomographic bin edges."""
    out = []
    ap = ds["apply"]
    model = datasets.get(ap.get("model"))
    if model is None or "apply" in model:
        out.append((f"{path}.apply.model", f"{ap.get('model')!r}",
                    "a dataset with a trained model (a key of 'datasets' without 'apply'), "
                    f"one of {sorted(d for d, v in datasets.items() if 'apply' not in v)}"))
        return out
    for k in ds:
        if k not in APPLIED_KEYS:
            out.append((f"{path}.{k}", f"key {k!r} of an applied sample",
                        f"only {', '.join(APPLIED_KEYS)}: an applied sample uses its model "
                        f"{ap['model']!r}'s {k}"))
    own = [k for k in APPLIED_KEYS[1:] if k in ds]
    if ap.get("withhold_test"):
        if own:
            out.append((path, f"withhold_test with {own}",
                        "no source, pixel_divisor, valid_range: the validation sample is the "
                        "model's own test galaxies"))
    else:
        out += [(f"{path}.{k}", "missing", f"the applied sample's {k}")
                for k in APPLIED_KEYS[1:] if k not in ds]
        vr = ds.get("valid_range", {})
        out += _range_problem(vr.get("r"), f"{path}.valid_range.r", "r range")
        out += _survey_problems(ds.get("source", {}), f"{path}.source")
    bad = [p for p in ap.get("parts") or [] if p not in (model.get("parts") or {})]
    if bad:
        out.append((f"{path}.apply.parts", f"{bad}",
                    f"parts of the model {ap['model']!r}: {sorted(model.get('parts') or {})}"))
    edges = ap.get("tomography", {}).get("bins") or []
    if any(not b < a for b, a in zip(edges[:-1], edges[1:])):
        out.append((f"{path}.apply.tomography.bins", f"{edges}", "strictly increasing z_photo edges"))
    return out


def check_config(config: dict) -> None:
    """Value checks of the merged configuration, after the schema.

    Checks: ``run`` names datasets; dataset names carry no derived-run marker; per dataset
    the grid (``z_min < z_max``, ``n_bins >= 1``) and ``valid_range`` within it, the ranges
    (low < high), odd ``rows.n_rows``, ``training.checkpoint_iters`` before
    ``training.iterations``, the split, the parts' ``r_bins`` and ``z_break``; the depleted
    training's dataset and range; a synthetic source's survey parameters.

    Raises
    ------
    ConfigError
        Every problem found, each with the key's path and what was expected.
    """
    from .studies import SEP

    out = []
    datasets = config.get("datasets") or {}
    missing = [d for d in config.get("run", []) if d not in datasets]
    if missing:
        out.append(("run", f"{missing} are not keys of 'datasets'",
                    f"some of {sorted(datasets)}"))
    for name, ds in datasets.items():
        path = f"datasets.{name}"
        if SEP in name or name.endswith(DEPLETED):
            out.append((path, f"dataset name {name!r}",
                        f"a name without {SEP!r} and not ending in {DEPLETED!r} (both mark "
                        "derived runs)"))
        if "apply" in ds:
            out += applied_problems(name, ds, datasets, path)
            continue
        out += dataset_problems(ds, path)
        out += _survey_problems(ds.get("source", {}), f"{path}.source")
    dep = (config.get("calibrate") or {}).get("depleted_training") or {}
    if dep.get("activate"):
        if dep.get("dataset") not in datasets:
            out.append(("calibrate.depleted_training.dataset", f"{dep.get('dataset')!r}",
                        f"one of the datasets {sorted(datasets)}"))
        lo, hi = dep.get("lo"), dep.get("hi")
        if not (_is_number(lo) and _is_number(hi) and lo < hi):
            out.append(("calibrate.depleted_training", f"lo = {lo!r}, hi = {hi!r}",
                        "the removed redshift interval as numbers lo < hi"))
    if out:
        raise ConfigError(out)


def _survey_problems(src: dict, path: str) -> list:
    """A synthetic source's survey parameters, as the generator will build them."""
    if src.get("layout") != "synthetic" or "survey" not in src:
        return []
    from .data.synth.survey import survey_parameters

    try:
        survey_parameters(src["survey"], **(src.get("params") or {}))
    except InputError as exc:
        key = f"{path}.survey" if exc.field == "kind" else f"{path}.params.{exc.field}"
        return [(key, exc.what, exc.expected)]
    return []
