"""Write a realistic synthetic complaint register for benchmarks.

    python bench/make_register.py 100000 /tmp/register-100k.xlsx

Chinese headers for every field of REGISTER.md under a merged title row; real Excel dates
mostly, some dates typed as text, phones as numbers and as text. A few percent of rows carry
findings (bad or ambiguous dates, missing required values, duplicate ids, bad phones, values
not in a list) and a few percent are overdue relative to 2026-11-23. Deterministic: the same
N gives the same file. Written with openpyxl's write-only mode so 100k rows fit in memory.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import re
import sys
import zipfile
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font

from toolkit.fields import (
    CHANNELS,
    DEFAULT_CATEGORIES,
    DEFAULT_DEPARTMENTS,
    FIELDS,
    NATURES,
    ROOT_CAUSES,
    SATISFACTIONS,
    SPECIALS,
)
from toolkit.model import column_letter

TODAY = dt.date(2026, 11, 23)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英"]
PRODUCTS = ["中华（软）", "玉溪（硬）", "云烟（紫）", "黄鹤楼（1916）", "芙蓉王（硬）", "利群（新版）",
            "南京（炫赫门）", "会员积分服务", "门店配送服务", "线上订购服务"]
STORES = ["人民路店", "解放路店", "中山路店", "建设路店", "和平路店", "新华路店", "胜利路店", "文化路店"]
ISSUES = ["烟支破损，包装内有碎屑", "商品过期仍在销售", "店员服务态度差，拒绝开具发票", "配送超时三天未到",
          "重复扣费，要求退款", "宣传赠品未兑现", "会员信息被泄露，收到骚扰电话", "烟支受潮发霉",
          "价格与标签不符", "条码无法查询真伪"]
ACTIONS = ["已安排门店经理致电道歉", "已下架同批次商品", "已退还差价", "已补发商品", "已登记并转质量部"]
RESULTS = ["已更换商品，客户认可", "已退款，客户接受", "已道歉并赠送积分", "解释说明后客户理解"]
HANDLERS = [(f"{s}{g}", f"staff{n:02d}@example.com")
            for n, (s, g) in enumerate(zip("王李张刘陈杨黄赵吴周徐孙", "伟芳娜敏静丽强磊军洋勇艳", strict=True))]
CAPA = ["加强到货检验，每批抽检", "组织门店服务礼仪培训", "优化配送路线与时效考核", "修订退款审批流程"]


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def _phone(rng: random.Random) -> int | str:
    number = f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"
    roll = rng.random()
    if roll < 0.5:
        return int(number)  # typed as a number
    if roll < 0.6:
        return f"{number[:3]} {number[3:7]} {number[7:]}"
    if roll < 0.7:
        return f"0{rng.randint(10, 999)}-{rng.randrange(10**7, 10**8)}"
    return number


def _row(i: int, rng: random.Random, ids: list[str]) -> list[object]:
    received = TODAY - dt.timedelta(days=rng.randint(0, 320))
    severity = rng.choices("ABC", weights=(1, 3, 6))[0]
    nature = rng.choices(NATURES, weights=(7, 1, 1, 1))[0]
    department = rng.choice(DEFAULT_DEPARTMENTS)
    handler, handler_email = HANDLERS[rng.randrange(len(HANDLERS))]
    age = (TODAY - received).days
    overdue = rng.random() < 0.03
    if overdue or age < 3:
        status = rng.choice(("待处理", "处理中", "待回访"))
    else:
        status = rng.choices(("已结案", "待回访", "处理中"), weights=(90, 6, 4))[0]
    reply_due = received + dt.timedelta(days={"A": 1, "B": 2, "C": 3}[severity])
    followup_due = received + dt.timedelta(days={"A": 3, "B": 7, "C": 15}[severity])
    if overdue:
        status = "待处理"
        reply_due = TODAY - dt.timedelta(days=rng.randint(1, 12))
    closed = status == "已结案"
    capa = nature == "有效投诉" and severity in "AB"
    owner = _name(rng)
    done = received + dt.timedelta(days=rng.randint(1, 10))
    if done > TODAY:
        done = TODAY
    received_cell: object = received
    if rng.random() < 0.05:
        received_cell = f"{received.year}/{received.month}/{received.day}"  # typed as text
    row: dict[str, object] = {
        "complaint_id": f"TS{received:%Y%m}{i:06d}",
        "received_on": received_cell,
        "channel": rng.choice(CHANNELS),
        "customer_name": _name(rng),
        "customer_phone": _phone(rng),
        "customer_email": f"user{i}@example.com" if rng.random() < 0.3 else None,
        "product": rng.choice(PRODUCTS),
        "batch_no": f"B{received:%y%m}{rng.randrange(1000):03d}",
        "respondent": rng.choice(STORES),
        "description": f"{rng.choice(ISSUES)}（{rng.choice(STORES)}，订单号{rng.randrange(10**8)}）",
        "category": rng.choice(DEFAULT_CATEGORIES),
        "nature": nature,
        "severity": severity,
        "special": rng.choices(SPECIALS, weights=(90, 3, 3, 2, 1))[0] if rng.random() < 0.5 else None,
        "department": department,
        "handler": handler,
        "handler_email": handler_email,
        "immediate_action": rng.choice(ACTIONS),
        "root_cause": rng.choice(ROOT_CAUSES) if closed or rng.random() < 0.5 else None,
        "cause_analysis": "经核查，" + rng.choice(ISSUES) if closed else None,
        "resolution": rng.choice(RESULTS) if closed else None,
        "compensation": rng.choice((0, 0, 0, 20, 50, 100.5, 200)),
        "reply_due": reply_due if rng.random() < 0.7 else None,
        "corrective_action": rng.choice(CAPA) if capa else None,
        "capa_owner": owner if capa else None,
        "capa_owner_email": f"owner{i % 500:03d}@example.com" if capa else None,
        "capa_due": received + dt.timedelta(days=30) if capa else None,
        "capa_done": done if capa and closed else None,
        "followup_due": followup_due if rng.random() < 0.5 else None,
        "followup_done": done if closed else None,
        "satisfaction": rng.choice(SATISFACTIONS) if closed else None,
        "status": status,
        "closed_on": done if closed else None,
        "remarks": "客户要求书面答复" if rng.random() < 0.05 else None,
    }
    _spoil(row, rng, ids)
    ids.append(str(row["complaint_id"]))
    return [row[f.name] for f in FIELDS]


def _spoil(row: dict[str, object], rng: random.Random, ids: list[str]) -> None:
    """Give a few percent of rows the mistakes staff make."""
    roll = rng.random()
    if roll < 0.01:
        row["received_on"] = rng.choice(("2026-13-45", "下周一", "3/5/2026", "2026年2月30日"))
    elif roll < 0.02:
        row[rng.choice(("customer_name", "description", "handler", "category"))] = None
    elif roll < 0.03:
        row["customer_phone"] = rng.choice(("1380013800", "12345", "138-0013-80000"))
    elif roll < 0.035 and ids:
        row["complaint_id"] = ids[-rng.randint(1, min(len(ids), 50))]  # entered twice
    elif roll < 0.04:
        row["channel"] = rng.choice(("抖音", "电 话", "热线"))
    elif roll < 0.045:
        row["compensation"] = rng.choice(("一百元", "-50", "1,200"))


#: Groups of the two-row header ``--merged`` writes: group text -> its fields.
GROUPS = {"客户信息": ("customer_name", "customer_phone", "customer_email"),
          "纠正预防措施": ("corrective_action", "capa_owner", "capa_owner_email", "capa_due", "capa_done")}


def make_register(rows: int, path: Path, seed: int = 20261123, merged: bool = False) -> Path:
    """Write ``rows`` complaints to ``path`` (an .xlsx) and return the path.

    With ``merged``, the layout WPS exports: a two-row header (group cells over their columns,
    single headers merged down) and every tenth complaint over two rows, its 投诉编号 merged down
    and a second line of corrective action in the second row.
    """
    rng = random.Random(seed)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("投诉登记台账")
    title = WriteOnlyCell(ws, value="示例烟草零售有限公司 投诉登记台账（2026年）")
    title.font = Font(bold=True, size=14)
    title.alignment = Alignment(horizontal="center")
    ws.merged_cells.add(f"A1:{column_letter(len(FIELDS) - 1)}1")
    ws.append([title])
    excel_row = 2
    if not merged:
        ws.append([f.zh for f in FIELDS])
        excel_row = 3
    else:
        group_of = {name: group for group, names in GROUPS.items() for name in names}
        top: list[str | None] = []
        for col, f in enumerate(FIELDS):
            group = group_of.get(f.name)
            letter = column_letter(col)
            if group is None:
                top.append(f.zh)
                ws.merged_cells.add(f"{letter}2:{letter}3")
            elif GROUPS[group][0] == f.name:
                top.append(group)
                ws.merged_cells.add(f"{letter}2:{column_letter(col + len(GROUPS[group]) - 1)}2")
            else:
                top.append(None)
        ws.append(top)
        ws.append([f.zh if f.name in group_of else None for f in FIELDS])
        excel_row = 4
    key = column_letter(0)
    action = [f.name for f in FIELDS].index("corrective_action")
    ids: list[str] = []
    for i in range(1, rows + 1):
        ws.append(_row(i, rng, ids))
        if merged and i % 10 == 0:
            second: list[str | None] = [None] * len(FIELDS)
            second[action] = "复查落实情况"
            ws.append(second)
            ws.merged_cells.add(f"{key}{excel_row}:{key}{excel_row + 1}")
            excel_row += 1
        excel_row += 1
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def edit_register(source: Path, target: Path, every: int = 1000, column: str = "J") -> int:
    """Copy ``source`` to ``target`` as staff would leave it after a day's edits: the text in
    ``column`` (投诉内容 in make_register's layout) of every ``every``-th data row gets a line
    added. Edits the sheet XML in the zip, so a 100k-row file takes seconds, not minutes of
    openpyxl. Returns the number of rows changed (their documents must be rewritten)."""
    changed = 0
    cell = re.compile(rf'(<c r="{column}(\d+)"[^>]*t="inlineStr"><is><t[^>]*>)(.*?)(</t>)'.encode())

    def edit(match: re.Match[bytes]) -> bytes:
        nonlocal changed
        row = int(match.group(2))
        if row < 3 or row % every:
            return match.group(0)
        changed += 1
        return match.group(1) + match.group(3) + "（客户来电补充说明）".encode() + match.group(4)

    partial = target.with_name(target.name + ".part")
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.startswith("xl/worksheets/sheet"):
                data = cell.sub(edit, data)
            dst.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)
    partial.replace(target)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", type=int, help="number of complaint rows")
    parser.add_argument("path", type=Path, help="the .xlsx to write")
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--merged", action="store_true",
                        help="a two-row header and every tenth complaint over two merged rows (WPS layout)")
    args = parser.parse_args(argv)
    make_register(args.rows, args.path, args.seed, args.merged)
    print(f"wrote {args.rows} rows to {args.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
