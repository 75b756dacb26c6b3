import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "ocr_page.py"


@pytest.fixture(scope="module")
def ocr_page():
    spec = importlib.util.spec_from_file_location("ocr_page", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_missing_checkpoint_is_a_one_line_error(ocr_page, tmp_path, capsys):
    code = ocr_page.main(["--demo", "--checkpoint", str(tmp_path / "nothing")])
    err = capsys.readouterr().err
    assert code == 2
    assert "no checkpoint" in err
    assert len(err.strip().splitlines()) == 1


def test_help_explains_usage(ocr_page, capsys):
    with pytest.raises(SystemExit) as exit_info:
        ocr_page.main(["--help"])
    assert exit_info.value.code == 0
    assert "--checkpoint" in capsys.readouterr().out
