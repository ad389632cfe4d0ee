"""cluster: join matched pairs into clusters without ever joining records that conflict."""

from mdm.cluster.conflicts import PROFILE_COLUMNS, Profile, StrongId, conflict, profiles_of
from mdm.cluster.constrained import cluster_records

__all__ = ["PROFILE_COLUMNS", "Profile", "StrongId", "cluster_records", "conflict", "profiles_of"]
