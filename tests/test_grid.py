"""grid.grids_from_config: Table 1's output grid and Step 3's extended grid from the config."""

import numpy as np

from photoz_debias.grid import grids_from_config


def test_extended_grid_appends_bins_of_the_same_width():
    grid, ext = grids_from_config({"z_min": 0.0, "z_max": 0.4, "n_bins": 180, "extend_left": 90, "extend_right": 90})
    assert grid.n_bins == 180 and np.isclose(grid.width, 0.4 / 180)
    assert ext.n_bins == 360 and np.isclose(ext.width, grid.width)
    assert np.isclose(ext.z_min, -0.2) and np.isclose(ext.z_max, 0.6)
    # the original bins sit inside the extended grid at an offset of extend_left
    np.testing.assert_allclose(ext.centres[90:270], grid.centres)


def test_output_grid_from_config_ignores_the_extension_keys():
    from photoz_debias.grid import RedshiftGrid

    grid = RedshiftGrid.from_config({"z_min": 0, "z_max": "0.4", "n_bins": 180.0, "extend_left": 90})
    assert grid == RedshiftGrid(0.0, 0.4, 180)
    assert isinstance(grid.n_bins, int) and grid.bin_index(np.array([0.399]))[0] == 179
