"""Geo analytics for one caller: who sees what, the cache, and the work behind each answer.

Each endpoint function returns the answer as encoded JSON bytes (a GeoJSON FeatureCollection),
because that is what the cache stores: a warm answer is one cache read, no re-encoding.
CPU-heavy steps (DBSCAN, hulls, polygons, point-in-polygon) run in a worker thread so the event
loop keeps serving other requests meanwhile.

* `common`: the call context, visibility, allowed statuses, encoding and the cached answer;
* `heatmap_answer`, `clusters_answer`, `penetration_answer`, `competitors_answer`: one endpoint
  each (named apart from the endpoint functions re-exported here, so a module never hides
  behind a function of the same name).
"""

from aiqleads.geo.service.clusters_answer import clusters
from aiqleads.geo.service.common import GeoContext
from aiqleads.geo.service.competitors_answer import competitors
from aiqleads.geo.service.heatmap_answer import heatmap
from aiqleads.geo.service.penetration_answer import penetration

__all__ = ["GeoContext", "clusters", "competitors", "heatmap", "penetration"]
