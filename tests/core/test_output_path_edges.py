"""R72 URIs: only ``/`` is trimmed from the prefix. Added to kill mutants that survived the mutation run."""

from __future__ import annotations

from taskaction_core.output_path import outputs_uri, report_uri


def test_outputs_and_report_uri_prefix_ending_in_x_keeps_it() -> None:
    """R72: ``<prefix>/outputs.pb`` and ``<prefix>/report.html``; a trailing ``X`` is part of the prefix."""
    assert outputs_uri("s3://bucket/runX") == "s3://bucket/runX/outputs.pb"
    assert report_uri("s3://bucket/runX/") == "s3://bucket/runX/report.html"
