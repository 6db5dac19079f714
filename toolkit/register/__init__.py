"""Read the complaint register (.xlsx, .xlsm, .xls, .xlsb, .ods) into plain
:class:`~toolkit.model.Register` data.

>>> from toolkit.config import Config
>>> register = read_register(Config(), "tests/data/reg-libreoffice-monthly-sheets.xlsx")
>>> register.records[0].values["received_on"]
datetime.date(2026, 10, 8)

The package, one concern a module:

- :mod:`.read` - the entry point: bytes -> sheets -> typed records (column by column).
- :mod:`.formats` - what the bytes are, zip-bomb limits, merged cells calamine does not give,
  the scan for formulas without a saved value.
- :mod:`.layout` - header blocks of one to three rows, records spanning rows, "same as above".
- :mod:`.values` - parsing dates, numbers and text as staff type them (shared with other stages).
- :mod:`.cache` - the parsed records of unchanged bytes, for the daily job.
"""

from .formats import Limits, formula_cells, read_stable_bytes
from .read import read_register
from .values import (
    AMBIGUOUS_DATE,
    BAD_DATE,
    BAD_NUMBER,
    CONFLICTING_VALUES,
    FORMULA_ERROR,
    FORMULA_NO_VALUE,
    ValueParseError,
    clean_text,
    list_value_table,
    parse_date,
    parse_number,
)

__all__ = ["AMBIGUOUS_DATE", "BAD_DATE", "BAD_NUMBER", "CONFLICTING_VALUES", "FORMULA_ERROR", "FORMULA_NO_VALUE", "Limits",
           "ValueParseError", "clean_text", "formula_cells", "list_value_table", "parse_date", "parse_number",
           "read_register", "read_stable_bytes"]
