"""cluster: join matched pairs into clusters without ever joining records that conflict."""

from mdm.cluster.constrained import cluster_records

__all__ = ["cluster_records"]
