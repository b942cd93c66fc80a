"""All SQL of the geo analytics, one module per endpoint beside the shared parts.

Reads select only the needed columns with Core and hand numpy arrays to the algorithms; no ORM
objects. Dialect differences live here too: the PostgreSQL binary COPY (`binary_copy`) and the
PostGIS paths (radius counts with ST_DWithin on geography, ST_ClusterDBSCAN), behind
`common.is_postgis`.

* `common`: the tables, the dialect test, rows to numpy columns (which leads and where is
  `leads.visibility`'s: every query starts from it);
* `cache_inputs`: what a cache key reads (data versions, the visible edge, lapsed holds);
* `binary_copy`: a statement's result as numpy columns through PostgreSQL's binary COPY;
* `points`: the visible lead points;
* `heatmap`, `clusters`, `penetration`, `competitors`: each endpoint's own queries.
"""
