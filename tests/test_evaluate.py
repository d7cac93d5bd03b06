"""Key-point coverage in `laidub eval`: each point is a list of regex alternatives, matched case-insensitively."""

from __future__ import annotations

import pytest

from assistant.measure.evaluate import PointScore, missed_points, parse_points, point_coverage
from store.errors import ParseError


def test_a_point_counts_when_any_alternative_matches():
    points = parse_points([["inevitable|yes"], ["multiple labs", "countries"], ["singleton"]], "dev.jsonl:1")
    assert missed_points(points, "Yes: several COUNTRIES would race [1].") == ["singleton"]


def test_coverage_is_reported_overall_and_per_language():
    report = point_coverage([PointScore("en", 2, 3), PointScore("en", 1, 1), PointScore("zh", 0, 2)])
    assert report == {"all": 0.5, "en": 0.75, "zh": 0.0, "points": 6}
    assert point_coverage([])["all"] is None


@pytest.mark.parametrize("points", [["inevitable"], [[]], [["(unclosed"]], "inevitable"])
def test_a_malformed_points_field_names_its_line(points):
    with pytest.raises(ParseError, match="dev.jsonl:7"):
        parse_points(points, "dev.jsonl:7")
