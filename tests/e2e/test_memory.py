"""The memory runs of ``make soak`` at 128 MiB instead of 1 GiB: the
server's peak RSS stays under 100 MiB while it takes a multipart upload
saved with ``await file.save``, a ``request.stream`` read, and sends a
``send_file`` and an async generator download (the loop stalls are printed
by ``make soak``; on a shared machine they are no test)."""

from __future__ import annotations

import pytest

from tests import soak


@pytest.mark.timeout(120)
def test_large_bodies_and_downloads_in_bounded_memory() -> None:
    figures = soak.run_memory(128 * soak.MiB)
    checked = [f for f in figures if f.name.endswith(("peak RSS", "status"))]
    assert len(checked) == 4
    assert [str(f) for f in checked if not f.ok] == []
    assert all(f.value < soak.MAX_PEAK_RSS_MIB for f in checked)
