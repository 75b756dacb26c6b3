import numpy as np
import pytest

from crnn.data import DatasetError, FolderDataset, ShardDataset, write_line_pair, write_shard


class _Line:
    def __init__(self, width: int, text: str) -> None:
        self.image = np.full((32, width), 255, np.uint8)
        self.image[8:24, 2 : width - 2] = 0
        self.text = text
        self.font = "F"


def test_folder_dataset_reads_line_pairs_in_name_order(tmp_path):
    write_line_pair(tmp_path, "b", np.zeros((20, 40), np.uint8), "second")
    write_line_pair(tmp_path, "a", np.full((20, 30), 255, np.uint8), "first “line”")
    (tmp_path / "c.png").write_bytes((tmp_path / "a.png").read_bytes())  # an image without a transcription
    pairs = list(FolderDataset(tmp_path))
    assert [(p.text, p.source, p.image.shape) for p in pairs] == [("first “line”", "a.png", (20, 30)),
                                                                   ("second", "b.png", (20, 40))]
    assert len(FolderDataset(tmp_path)) == 2
    with pytest.raises(DatasetError, match="no such folder"):
        FolderDataset(tmp_path / "none")


def test_shard_dataset_reads_what_the_manifest_lists(tmp_path):
    import json

    lines = [_Line(40 + i, f"line {i}") for i in range(3)]
    write_shard(tmp_path / "shard-train-00000.npz", lines, ["F"])
    manifest = {"shards": {"train": [{"file": "shard-train-00000.npz", "lines": 3}], "validation": []}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    pairs = list(ShardDataset(tmp_path, "train"))
    assert [p.text for p in pairs] == ["line 0", "line 1", "line 2"] and len(ShardDataset(tmp_path)) == 3
    assert [p.image.shape for p in pairs] == [(32, 40), (32, 41), (32, 42)]
    assert list(ShardDataset(tmp_path, "validation")) == []
    (tmp_path / "shard-train-00000.npz").unlink()
    with pytest.raises(DatasetError, match="missing"):
        list(ShardDataset(tmp_path, "train"))
    with pytest.raises(DatasetError, match="make synth"):
        ShardDataset(tmp_path / "none")
