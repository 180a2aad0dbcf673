"""Sizes read as people write them: whole figures, a tenth only where it tells something."""

import pytest

from webui.templating import file_size


@pytest.mark.parametrize(("size", "shown"), [
    (None, "—"), (0, "0 B"), (512, "512 B"), (1023, "1023 B"), (1024, "1.0 KiB"),
    (4300, "4.2 KiB"), (44_032, "43 KiB"), (100 * 1024, "100 KiB"), (5 << 20, "5.0 MiB"),
    (int(1.5 * (1 << 30)), "1.5 GiB"), (300 << 30, "300 GiB"), (3 << 40, "3.0 TiB"),
    (5000 << 40, "5000 TiB"),
])
def test_file_size(size, shown):
    assert file_size(size) == shown
