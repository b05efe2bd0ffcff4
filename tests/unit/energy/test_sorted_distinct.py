"""`sorted_distinct` is `np.unique` for arrays of times (no NaN), and spares the command the import of numpy.ma."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from wattline.energy.core import sorted_distinct


@given(arrays(np.int64, st.integers(0, 60), elements=st.integers(-5, 5)))
def test_distinct_integers_are_numpys(values: np.ndarray) -> None:
    found = sorted_distinct(values)
    assert found.dtype == np.int64
    assert np.array_equal(found, np.unique(values))


@given(arrays(np.float64, st.integers(0, 60), elements=st.sampled_from([-1.5, -0.0, 0.0, 0.5, 1e9, 1795132800.25])))
def test_distinct_floats_are_numpys_even_for_signed_zeros(values: np.ndarray) -> None:
    found = sorted_distinct(values)
    expected = np.unique(values)
    assert np.array_equal(found.view(np.int64), expected.view(np.int64))  # bit for bit: which zero is kept too


def test_it_leaves_numpy_ma_unimported() -> None:
    program = (
        "import sys, numpy as np\n"
        "from wattline.energy.core import sorted_distinct\n"
        "sorted_distinct(np.array([3, 1, 3]))\n"
        "print('numpy.ma' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
