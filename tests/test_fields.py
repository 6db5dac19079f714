"""The field table's shared rules: header matching and what counts as a special complaint."""

from __future__ import annotations

import pytest

from toolkit.fields import header_aliases, is_special, normalize_header


@pytest.mark.parametrize(("value", "special"), [
    (None, False), ("", False), ("  ", False), ("否", False), (" 否 ", False),
    ("消协", True), ("监管部门", True), ("疑似敲诈", True),
])
def test_blank_means_no_special_complaint(value: object, special: bool) -> None:
    assert is_special(value) is special


def test_headers_match_across_width_spacing_and_case() -> None:
    table = header_aliases({"customer_phone": ["手机号"]})
    for text in ("产品／服务", " 产品/\n服务 ", "PRODUCT / SERVICE"):
        assert table[normalize_header(text)] == "product"
    assert table[normalize_header("手机号")] == "customer_phone"


def test_built_in_aliases_and_group_spellings() -> None:
    table = header_aliases()
    assert table[normalize_header("客户姓名")] == "customer_name"
    assert table[normalize_header("纠正预防措施负责人")] == "capa_owner"  # group + sub-header
    assert table[normalize_header("纠正预防措施 完成期限")] == "capa_due"
    # a config alias wins over a built-in one
    assert header_aliases({"remarks": ["客户姓名"]})[normalize_header("客户姓名")] == "remarks"


def test_every_list_field_has_a_config_list_or_fixed_meaning() -> None:
    from toolkit.config import Config
    from toolkit.fields import FIELDS, LIST

    config = Config()
    configurable = {f.name: f.config_list for f in FIELDS if f.kind == LIST and f.config_list}
    assert configurable == {"channel": "channels", "category": "categories", "special": "specials",
                            "department": "departments", "root_cause": "root_causes"}
    # the lists whose values the rules read keep their meaning; synonyms map onto them
    assert {f.name for f in FIELDS if f.kind == LIST and not f.config_list} == {
        "nature", "severity", "satisfaction", "status"}
    for name, key in configurable.items():
        assert config.list_values(key), name
