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
