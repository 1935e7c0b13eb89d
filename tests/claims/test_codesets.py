from pathlib import Path

import pytest

from claims.codesets import CodeKind, CodeSetError, CodeSets, read_official_list
from claims.status import ClaimStatus


def test_every_category_code_has_a_description_and_status() -> None:
    codes = CodeSets()
    categories = {c.code: c for c in codes.all(CodeKind.CATEGORY)}
    expected = (
        [f"A{i}" for i in range(9)]
        + [f"P{i}" for i in range(6)]
        + [f"F{i}" for i in range(5)]
        + [f"R{i}" for i in (0, *range(3, 17))]
        + [f"E{i}" for i in range(5)]
        + ["D0"]
    )
    for code in expected:
        assert code in categories, code
        assert categories[code].description
        assert categories[code].normalized_status is not None
    assert categories["A4"].normalized_status is ClaimStatus.NOT_FOUND


def test_lookups_are_case_and_space_tolerant() -> None:
    codes = CodeSets()
    found = codes.describe(CodeKind.RARC, " n290 ")
    assert found is not None and found.code == "N290"
    assert codes.describe(CodeKind.CARC, "99999") is None


@pytest.mark.parametrize(
    "carc", ["4", "16", "18", "22", "29", "45", "50", "96", "97", "109", "167", "197", "1", "2", "3", "204"]
)
def test_common_carcs_are_bundled(carc: str) -> None:
    assert CodeSets().describe(CodeKind.CARC, carc) is not None


def test_denial_text() -> None:
    codes = CodeSets()
    assert codes.denial_text("CO", "18") == "CO-18 Exact duplicate claim or service"
    assert codes.denial_text("CO", "999") == "CO-999 (unknown reason code)"
    assert {c.code for c in codes.all(CodeKind.GROUP)} == {"CO", "PR", "OA", "PI"}


def test_operator_official_list_overrides_bundled_text(tmp_path: Path) -> None:
    (tmp_path / "carc.csv").write_text("code,description\n18,Official duplicate text\n999,Brand new code\n")
    codes = CodeSets(tmp_path)
    assert codes.describe(CodeKind.CARC, "18") == codes.describe(CodeKind.CARC, "18")
    eighteen = codes.describe(CodeKind.CARC, "18")
    assert eighteen is not None and eighteen.official and eighteen.description == "Official duplicate text"
    assert codes.describe(CodeKind.CARC, "999") is not None
    unchanged = codes.describe(CodeKind.CARC, "45")
    assert unchanged is not None and not unchanged.official


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("wrong,header\n1,x\n", "line 1: the header must name"),
        ("code,description\n,text\n", "line 2: field 'code' is empty"),
        ("code,description\n18,\n", "line 2: field 'description' is empty for code 18"),
        ("code,description\n18,a\n18,b\n", "line 3: field 'code': 18 appears twice"),
        ("code,description\n", "holds no codes"),
    ],
)
def test_bad_official_lists_name_file_and_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "carc.csv"
    path.write_text(content)
    with pytest.raises(CodeSetError, match=message) as caught:
        read_official_list(path)
    assert str(path) in str(caught.value)


def test_codes_as_billers_write_them_explain_group_and_code() -> None:
    codes = CodeSets()
    explained = codes.explain(CodeKind.CARC, "co-45")
    assert [(c.kind, c.code) for c in explained] == [(CodeKind.GROUP, "CO"), (CodeKind.CARC, "45")]
    assert "Contractual" in explained[0].description and "fee schedule" in explained[1].description
    assert [c.code for c in codes.explain(CodeKind.CARC, "PR 2")] == ["PR", "2"]
    assert [c.code for c in codes.explain(CodeKind.CARC, "45")] == ["45"]
    assert [c.code for c in codes.explain(CodeKind.CATEGORY, "F2:21")] == ["F2", "21"]
    assert codes.explain(CodeKind.CARC, "CO-99999") == []
    assert codes.explain(CodeKind.CARC, "XX-45") == []


def test_remark_codes_read_with_their_text() -> None:
    codes = CodeSets()
    assert codes.remark_text("M15").startswith("M15 Separately billed")
    assert codes.remark_text("Z999") == "Z999 (unknown remark code)"
