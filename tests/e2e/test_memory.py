"""The memory runs of ``make soak``, smaller: at 128 MiB instead of 1 GiB, the
server's peak RSS stays under 100 MiB while it takes a multipart upload
saved with ``await file.save``, a ``request.stream`` read, and sends a
``send_file`` and an async generator download (the loop stalls are printed
by ``make soak``; on a shared machine they are no test); and at 32 MiB
instead of 240, a URL-encoded form takes under 1.5 times its size."""

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


@pytest.mark.timeout(120)
def test_a_large_urlencoded_form_in_under_one_and_a_half_times_its_size() -> None:
    """``make soak``'s form run at 32 MiB instead of 240: a few big fields
    and many small ones, each under raised limits, answered 200 with the
    server's peak RSS above its idle RSS under 1.5 times the body."""
    figures = soak.run_form(32 * soak.MiB)
    checked = [f for f in figures if f.name.endswith(("status", "over the body"))]
    assert len(checked) == 4
    assert [str(f) for f in checked if not f.ok] == []
