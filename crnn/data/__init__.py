"""Line data on disk: the shard format and the data sets that read shards and folders of line pairs."""

from crnn.data.datasets import (
    DatasetError,
    FolderDataset,
    LineDataset,
    LinePair,
    ShardDataset,
    load_manifest,
    write_line_pair,
)
from crnn.data.shards import SHARD_FORMAT_VERSION, Shard, read_shard, write_shard

__all__ = [
    "SHARD_FORMAT_VERSION",
    "DatasetError",
    "FolderDataset",
    "LineDataset",
    "LinePair",
    "Shard",
    "ShardDataset",
    "load_manifest",
    "read_shard",
    "write_line_pair",
    "write_shard",
]
