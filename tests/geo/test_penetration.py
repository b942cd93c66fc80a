import pytest

from aiqleads.geo.penetration import penetration_by_region, penetration_geojson


def _fixture() -> tuple[list[str | None], list[str], list[bool]]:
    # region, status, bought by me
    rows = [
        ("98101", "available", False),
        ("98101", "held", False),
        ("98101", "sold", True),
        ("98101", "sold", False),
        ("98101", "new", False),  # not released: no supply
        ("98101", "returned", True),  # refunded: neither supply nor a purchase
        ("98102", "sold", False),
        ("98102", "withdrawn", False),
        ("98103", "expired", False),
        (None, "sold", True),  # no region: left out
    ]
    return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]


def test_counts_match_a_hand_count() -> None:
    regions, statuses, mine = _fixture()
    rows = {r.region: r for r in penetration_by_region(regions, statuses, mine)}
    assert set(rows) == {"98101", "98102", "98103"}
    a = rows["98101"]
    assert (a.offered, a.available_now, a.sold, a.bought_by_agent) == (4, 2, 2, 1)
    assert a.agent_penetration == pytest.approx(0.25)
    assert a.market_penetration == pytest.approx(0.5)
    b = rows["98102"]
    assert (b.offered, b.sold, b.bought_by_agent) == (1, 1, 0)
    assert b.market_penetration == 1.0 and b.agent_penetration == 0.0
    c = rows["98103"]
    assert c.offered == 0 and c.market_penetration is None


def test_geojson_with_classes_and_h3_keys() -> None:
    # given: H3 int keys (-1 = none) and a geometry lookup that knows two of three regions
    keys = [10, 10, 20, 30, -1]
    rows = penetration_by_region(
        keys, ["sold", "available", "available", "sold", "sold"], [True] * 5
    )
    assert [r.region for r in rows] == [10, 20, 30]
    square = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}
    fc = penetration_geojson(rows, lambda k: square if k != 30 else None, metric="agent")
    props = [f["properties"] for f in fc["features"]]
    assert [p["region"] for p in props] == [10, 20]
    assert [p["agent_penetration"] for p in props] == [0.5, 0.0]
    # then: the lower value is in a lower class, and equal values share a class
    assert props[0]["class"] > props[1]["class"]
    assert fc["legend"]["max"] == 1.0


def test_quantile_classes_stable_with_ties() -> None:
    from aiqleads.geo.legend import quantile_breaks, quantile_classes

    values = [0.0] * 8 + [0.1, 0.5]
    breaks = quantile_breaks(values, 5)
    classes = quantile_classes(values, breaks).tolist()
    assert len(set(classes[:8])) == 1
    assert classes[8] <= classes[9] and classes[9] == len(breaks) - 1
    assert breaks == sorted(set(breaks))
