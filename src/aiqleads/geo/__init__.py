"""Geospatial analytics core: pure functions on numpy arrays of WGS84 points, metres throughout.

Modules: ``projection`` (local metric projection, haversine), ``neighbors`` (exact radius and
nearest queries), ``dbscan``, ``clusters``, ``heatmap``, ``boundaries`` (ZIP polygons),
``penetration``, ``competitors``, ``legend`` and ``geojson`` helpers.
"""
