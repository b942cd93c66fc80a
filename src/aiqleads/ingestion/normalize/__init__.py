"""Normalization: pure functions from a `RawRecord`'s source-shaped fields to typed lead columns.

Each module handles one concept and returns either a value or a `Reason`; `lead.normalize` puts
them together. Nothing here touches a database or the network.
"""
