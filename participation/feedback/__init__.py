"""Complaints and suggestions during the works (建设共管): tickets filed by residents with
photos, followed through a recorded lifecycle by committees, community staff and contractors,
with service levels, public supervision figures and an Open311 GeoReport v2 interface.
"""
