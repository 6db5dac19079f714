"""Build the shipped example register ``examples/complaint-register.xlsx``.

Sixty complaints of a tobacco retailer / cigarette factory / mobile operator's service desk,
received September to November 2026, laid out as staff keep them: a merged title row above
the Chinese header row, dates partly typed as text, a phone stored as a number, one blank row
and one hidden row. Seen from 2026-11-23 (a Monday) several replies, follow-ups and
corrective actions are overdue at escalation levels 1-3 (one of them a 消协 special
complaint), one reply is due tomorrow, and seven rows carry the mistakes staff typically make
(``validate --today 2026-11-23`` reports them):

- 台账 row 20: complaint number repeats row 4's (duplicate-id)
- 台账 row 25: 被投诉方 left blank (missing-required)
- 台账 row 38: phone with ten digits (bad-phone)
- 台账 row 45: date received after today (date-in-future)
- 台账 row 50: closed with no follow-up date (close-incomplete)
- 台账 row 55: department not in the configured list (not-in-list)
- 台账 row 61: corrective action without an owner (capa-incomplete)

Row 31 is blank; row 36 is hidden. The workbook is saved with openpyxl, then re-saved by LibreOffice so the shipped file is one an
office program wrote. Deterministic: fixed dates, no clock, no randomness.

    python examples/make_example.py [OUT.xlsx]
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from toolkit.fields import FIELDS

OUT = Path(__file__).resolve().parent / "complaint-register.xlsx"
SHEET = "台账"
TITLE = "2026年投诉登记台账"
EXTRA_HEADER = "登记人"  # a column the toolkit does not know: kept, never touched
D = dt.date

# Who handles what; 王芳 has no address in the register (config.toml [people] has hers).
HANDLERS = {
    "王芳": "", "李明": "liming@example.com", "张伟": "zhangwei@example.com",
    "刘洋": "liuyang@example.com", "陈静": "chenjing@example.com", "赵磊": "zhaolei@example.com",
}
CAPA_OWNERS = {
    "质量部": ("孙丽", "sunli@example.com"), "生产部": ("周强", "zhouqiang@example.com"),
    "物流部": ("吴刚", "wugang@example.com"), "销售部": ("郑浩", "zhenghao@example.com"),
    "客服部": ("陈静", "chenjing@example.com"),
}

# Complaint kinds: product, batch prefix, respondent, description, category, nature, class,
# department, root cause, cause analysis, immediate action, resolution, corrective action.
KINDS = [
    ("卷烟（中华·硬）", "20260712B", "人民路烟酒店（零售户）",
     "购买的一条中华（硬）中有两包烟支松散、掉丝，烟丝发潮。", "产品质量", "有效投诉", "B", "质量部",
     "运输及储存过程不良", "零售户库房临近卫生间，湿度长期偏高。", "当场封存同批次在售卷烟两条。",
     "为顾客调换两包，指导零售户改善仓储条件。", "将零售户仓储温湿度检查纳入客户经理月度巡查。", 0),
    ("卷烟（红塔山·经典1956）", "20260803A", "卷烟厂卷包车间",
     "烟支内发现黑色颗粒状异物，顾客担心影响健康。", "产品质量", "有效投诉", "A", "生产部",
     "制造品质不良", "卷包机组清洁不到位，积尘混入烟丝。", "回收顾客手中余烟并送检。",
     "送检结果为烟丝焦化颗粒，向顾客书面说明并赔付。", "卷包机组加装异物剔除检测，同批次加严抽检。", 200),
    ("卷烟（云烟·紫）", "20260820C", "卷烟厂包装车间",
     "烟盒封口开裂，小盒透明纸破损。", "产品质量", "有效投诉", "C", "生产部",
     "制造品质不良", "包装机热封温度设定偏低。", "为顾客调换。",
     "调换新品，顾客认可。", "", 0),
    ("卷烟（玉溪·软）", "20260301A", "解放路便利店（零售户）",
     "买到的玉溪（软）口味发苦，查看生产日期已超过一年半。", "产品质量", "有效投诉", "B", "销售部",
     "过期产品", "零售户未执行先进先出，陈烟压库。", "下架该户同规格陈烟。",
     "为顾客退换，并对零售户进行经营指导。", "在订货系统中提示零售户库存周转超期规格。", 0),
    ("卷烟订货配送", "PS-", "配送中心第三线路",
     "网上订货后承诺次日送达，实际延迟三天才到货。", "物流配送", "有效投诉", "C", "物流部",
     "流程问题", "线路调整后未及时通知送货员。", "当天安排专车补送。",
     "向零售户致歉，补送到位。", "", 0),
    ("客户经理服务", "", "客户经理（城东片区）",
     "客户经理电话沟通时态度生硬，拒绝解释货源分配规则。", "服务态度", "有效投诉", "C", "客服部",
     "服务态度", "客户经理对货源政策理解不足，沟通方式欠妥。", "片区主管电话致歉。",
     "主管上门解释货源分配规则，客户表示理解。", "", 0),
    ("营业厅服务", "", "解放路营业厅",
     "营业厅排队等候超过一小时，叫号系统故障无人解释。", "服务态度", "有效投诉", "C", "客服部",
     "流程问题", "叫号系统故障时缺少人工分流预案。", "值班经理现场致歉并优先办理。",
     "为客户优先办理业务，赠送话费补偿。", "", 20),
    ("5G畅享套餐129元", "", "计费中心",
     "本月套餐月费被重复扣取两次。", "计费收费", "有效投诉", "B", "销售部",
     "流程问题", "套餐变更当月系统重复出账。", "冻结重复扣费。",
     "退还重复扣取的129元并致歉。", "套餐变更出账增加重复扣费校验。", 129),
    ("家庭宽带300M", "", "城南营业厅",
     "宣传单写明办理融合套餐宽带免费提速至1000M，办理后未生效。", "营销宣传", "有效投诉", "C", "销售部",
     "流程问题", "宣传单未注明提速需另行预约。", "当场为客户预约提速。",
     "提速生效，客户认可。", "", 0),
    ("营业厅业务办理", "", "人民路营业厅",
     "营业员拍照留存身份证正反面，未告知用途。", "信息安全", "有效投诉", "B", "客服部",
     "流程问题", "营业员违规使用个人手机拍照。", "当场删除照片并登记。",
     "向客户说明处理情况并致歉。", "开展客户信息保护专项培训，禁止个人设备采集证件。", 0),
    ("卷烟零售许可证", "", "专卖管理科",
     "咨询卷烟零售许可证延续办理需要哪些材料。", "其他", "咨询型", "C", "客服部",
     "其他", "", "",
     "电话告知办理材料清单及网上办理方式。", "", 0),
    ("手机号复机", "", "城北营业厅",
     "手机号欠费停机后缴费仍无法复机，急需使用。", "计费收费", "求助型", "C", "客服部",
     "流程问题", "缴费到账延迟。", "人工为客户办理复机。",
     "当日复机成功。", "", 0),
    ("卷烟价格", "", "零售终端",
     "对部分规格卷烟零售价上调强烈不满，要求说明理由。", "其他", "发泄型", "C", "销售部",
     "其他", "", "耐心倾听并记录。",
     "解释价格政策，客户情绪平复。", "", 0),
]

CUSTOMERS = [
    "张先生", "李女士", "王建国", "刘秀英", "陈晓明", "杨丽", "黄海", "赵敏", "周杰", "吴芳",
    "徐强", "孙红", "马超", "朱琳", "胡军", "郭静", "何勇", "高翔", "林芳", "罗斌",
    "宏发烟酒店", "万家便利店", "梁先生", "宋女士", "谢丹", "韩磊", "唐颖", "冯涛", "董洁", "程伟",
]
CHANNELS = ["电话", "来访", "电话", "网站", "信函", "电子邮件", "电话", "电话", "来访", "网站"]
SATISFACTION = ["满意", "满意", "基本满意", "满意", "不满意", "基本满意"]
LANDLINES = ["0871-63125678", "0871-6512 3401", "010-8456 7821-806", "+852 9123 4567"]

# Received dates: working days September - November 2026 (National Day week skipped).
_CLOSED_DATES = [
    D(2026, 9, 1), D(2026, 9, 2), D(2026, 9, 4), D(2026, 9, 7), D(2026, 9, 9), D(2026, 9, 10),
    D(2026, 9, 14), D(2026, 9, 15), D(2026, 9, 17), D(2026, 9, 21), D(2026, 9, 22), D(2026, 9, 24),
    D(2026, 9, 28), D(2026, 9, 29), D(2026, 9, 30), D(2026, 10, 8), D(2026, 10, 9), D(2026, 10, 12),
    D(2026, 10, 13), D(2026, 10, 15), D(2026, 10, 19), D(2026, 10, 20), D(2026, 10, 22),
    D(2026, 10, 26), D(2026, 10, 27), D(2026, 10, 29), D(2026, 11, 2), D(2026, 11, 3),
]


def add_workdays(day: dt.date, n: int) -> dt.date:
    """Plain Monday-Friday arithmetic; enough for the example's explicit due dates."""
    while n:
        day += dt.timedelta(days=1)
        if day.weekday() < 5 and not (D(2026, 10, 1) <= day <= D(2026, 10, 7)):
            n -= 1
    return day


def phone(i: int) -> object:
    if i % 9 == 4:
        return LANDLINES[(i // 9) % len(LANDLINES)]
    prefix = ["138", "139", "135", "186", "151", "177", "159", "189"][i % 8]
    return f"{prefix}{(i * 7919 + 1234567) % 100000000:08d}"


def base_row(i: int, kind: int, received: dt.date, status: str) -> dict[str, object]:
    """A complete, correct row; scenarios below change what they need."""
    (product, batch, respondent, desc, category, nature, severity, dept, cause, analysis,
     immediate, resolution, capa, comp) = KINDS[kind]
    handler = list(HANDLERS)[i % len(HANDLERS)]
    if batch == "PS-":
        batch = f"PS-{received:%m%d}-03"
    elif batch:
        batch = f"{batch}{i % 20 + 1:02d}"
    row: dict[str, object] = {
        "complaint_id": f"KS-2026-{i:03d}", "received_on": received,
        "channel": CHANNELS[i % len(CHANNELS)], "customer_name": CUSTOMERS[i % len(CUSTOMERS)],
        "customer_phone": phone(i), "customer_email": f"customer{i:03d}@example.com" if i % 5 == 0 else None,
        "product": product, "batch_no": batch or None, "respondent": respondent, "description": desc,
        "category": category, "nature": nature, "severity": severity, "special": "否" if i % 3 else None,
        "department": dept, "handler": handler, "handler_email": HANDLERS[handler] or None,
        "immediate_action": immediate or None, "remarks": None,
        "status": status,
    }
    if status != "待处理":
        row["root_cause"] = cause
        row["cause_analysis"] = analysis or None
    if capa and nature == "有效投诉" and severity in ("A", "B"):
        owner, email = CAPA_OWNERS[dept]
        row.update(corrective_action=capa, capa_owner=owner, capa_owner_email=email,
                   capa_due=add_workdays(received, 20))
    if status == "已结案":
        reply = add_workdays(received, 1)
        followup = add_workdays(received, {"A": 3, "B": 6, "C": 9}[severity])
        row.update(resolution=resolution, compensation=comp, followup_done=followup,
                   satisfaction=SATISFACTION[i % len(SATISFACTION)], closed_on=followup)
        if row.get("corrective_action"):
            row["capa_done"] = add_workdays(received, 12)
            row["closed_on"] = max(followup, row["capa_done"])  # type: ignore[type-var]
        if i % 4:  # the rest leave due dates blank: computed from the class
            row["reply_due"] = reply
            row["followup_due"] = add_workdays(received, {"A": 3, "B": 7, "C": 15}[severity])
    return row


def build_rows() -> list[dict[str, object] | None]:
    """The sixty complaints in register order; ``None`` is the blank row."""
    rows: list[dict[str, object] | None] = []
    n = 0

    def add(kind: int, received: dt.date, status: str, **changes: object) -> dict[str, object]:
        nonlocal n
        n += 1
        row = base_row(n, kind, received, status)
        row.update(changes)
        rows.append(row)
        return row

    closed = iter(_CLOSED_DATES)
    for j in range(14):
        add(j % len(KINDS), next(closed), "已结案")
    # Dates typed as text, as staff paste them from chat tools.
    add(1, next(closed), "已结案", received_on="2026/9/30")
    add(3, next(closed), "已结案", received_on="2026/10/8")
    add(5, next(closed), "已结案", received_on="2026年10月9日")
    # The duplicate: repeats the number of the second complaint.
    add(8, next(closed), "已结案", complaint_id="KS-2026-002")
    for j in range(4):
        add((j + 9) % len(KINDS), next(closed), "已结案")
    add(0, next(closed), "已结案", respondent=None)  # respondent left blank
    add(2, next(closed), "已结案", customer_phone=13912345678)  # typed as a number
    for j in range(4):
        add((j + 4) % len(KINDS), next(closed), "已结案")
    rows.append(None)  # the blank row staff leave between months

    # November: the open work.
    for kind, received in ((0, D(2026, 11, 2)), (3, D(2026, 11, 3)), (6, D(2026, 11, 5)),
                           (2, D(2026, 11, 6)), (4, D(2026, 11, 9)), (10, D(2026, 11, 10))):
        add(kind, received, "已结案")
    # Reply overdue (status 待处理 past reply_due): levels 1, 2, 3.
    add(6, D(2026, 11, 18), "待处理", reply_due=D(2026, 11, 20), followup_due=D(2026, 12, 10),
        customer_phone="1380013800")  # ten digits: bad-phone
    add(11, D(2026, 11, 13), "待处理", reply_due=D(2026, 11, 17), followup_due=D(2026, 12, 4))
    add(8, D(2026, 11, 3), "待处理", reply_due=D(2026, 11, 6), followup_due=D(2026, 12, 1),
        remarks="客户多次来电催促")
    # Follow-up overdue (no follow-up after followup_due): levels 1, 2, 3.
    add(4, D(2026, 11, 10), "待回访", followup_due=D(2026, 11, 20),
        resolution="补送到位，待电话回访。")
    add(5, D(2026, 11, 5), "待回访", followup_due=D(2026, 11, 16),
        resolution="主管已上门解释，待回访确认。")
    add(7, D(2026, 10, 20), "处理中", followup_due=D(2026, 11, 2),
        resolution=None)
    # Special complaint forwarded by the consumer association: escalates at once.
    add(1, D(2026, 11, 16), "处理中", channel="消协转办", special="消协", reply_due=D(2026, 11, 17),
        followup_due=D(2026, 11, 19), capa_due=D(2026, 12, 15),
        remarks="消协转办单 XH-2026-1187，需书面答复")
    # Date received after today (typing slip: 2026-11-30 for 2026-10-30).
    add(11, D(2026, 11, 30), "待处理")
    # CAPA overdue (corrective action, no capa_done after capa_due): levels 1, 2, 3.
    add(7, D(2026, 10, 26), "处理中", capa_due=D(2026, 11, 20), followup_due=D(2026, 12, 18))
    add(9, D(2026, 10, 19), "处理中", capa_due=D(2026, 11, 13), followup_due=D(2026, 12, 11))
    add(0, D(2026, 10, 9), "待回访", capa_due=D(2026, 10, 30), followup_due=D(2026, 12, 7),
        resolution="已为顾客调换。")
    # Due tomorrow: heads-up.
    add(2, D(2026, 11, 20), "待处理", reply_due=D(2026, 11, 24), followup_due=D(2026, 12, 11))
    # Closed without a follow-up date.
    add(12, D(2026, 11, 4), "已结案", followup_done=None)
    # Not yet due: in progress, some with blank (computed) due dates.
    add(3, D(2026, 11, 19), "处理中", followup_due=D(2026, 12, 10))
    add(6, D(2026, 11, 20), "处理中")
    add(10, D(2026, 11, 20), "待处理")
    add(11, D(2026, 11, 23), "待处理", channel="电话")
    # Department not in the configured list.
    add(4, D(2026, 11, 17), "处理中", department="仓储部", followup_due=D(2026, 12, 8))
    add(5, D(2026, 11, 18), "待回访", resolution="已致歉，待回访。", followup_due=D(2026, 11, 27))
    add(8, D(2026, 11, 19), "处理中", followup_due=D(2026, 12, 4))
    add(9, D(2026, 11, 19), "处理中", capa_due=D(2026, 12, 18), followup_due=D(2026, 12, 2))
    add(12, D(2026, 11, 20), "待处理")
    add(2, D(2026, 11, 20), "待处理", reply_due=D(2026, 11, 25))
    # Corrective action without an owner.
    add(7, D(2026, 11, 12), "处理中", capa_owner=None, capa_owner_email=None, capa_due=D(2026, 12, 11),
        followup_due=D(2026, 12, 3))
    add(0, D(2026, 11, 20), "处理中", followup_due=D(2026, 12, 4))
    add(6, D(2026, 11, 23), "待处理")
    return rows


def write_workbook(path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    headers = [f.zh for f in FIELDS] + [EXTRA_HEADER]
    last = get_column_letter(len(headers))
    ws["A1"] = TITLE
    ws["A1"].font = Font(size=16, bold=True)
    ws["A1"].alignment = Alignment(horizontal="center")
    ws.merge_cells(f"A1:{last}1")
    thin = Side(style="thin", color="999999")
    fill = PatternFill("solid", fgColor="DDEBF7")
    for col, text in enumerate(headers, start=1):
        cell = ws.cell(row=2, column=col, value=text)
        cell.font = Font(bold=True)
        cell.fill = fill
        cell.border = Border(top=thin, bottom=thin, left=thin, right=thin)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    kinds = {f.name: f.kind for f in FIELDS}
    for r, row in enumerate(build_rows(), start=3):
        if row is None:
            continue
        for col, f in enumerate(FIELDS, start=1):
            value = row.get(f.name)
            if value is None:
                continue
            cell = ws.cell(row=r, column=col, value=value)
            if kinds[f.name] == "date" and isinstance(value, dt.date):
                cell.number_format = "yyyy-mm-dd"
            elif f.name == "compensation":
                cell.number_format = "#,##0.00"
        ws.cell(row=r, column=len(headers), value="前台-" + ("小周" if r % 2 else "小林"))
    ws.row_dimensions[36].hidden = True  # a row someone hid; still data
    ws.freeze_panes = "B3"
    widths = {"date": 12, "text": 16, "list": 11, "phone": 15, "email": 22, "number": 10}
    for col, f in enumerate(FIELDS, start=1):
        width = 40 if f.name in ("description", "resolution", "corrective_action") else widths[f.kind]
        ws.column_dimensions[get_column_letter(col)].width = width
    wb.save(path)


def libreoffice_resave(src: Path, out: Path) -> None:
    """Re-save ``src`` through LibreOffice Calc into ``out``."""
    with tempfile.TemporaryDirectory() as tmp:
        profile = Path(tmp) / "profile"
        outdir = Path(tmp) / "out"
        subprocess.run(
            ["soffice", f"-env:UserInstallation={profile.as_uri()}", "--headless",
             "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(outdir), str(src)],
            check=True, capture_output=True, timeout=180,
        )
        converted = outdir / (src.stem + ".xlsx")
        tmp_out = out.with_name(f".{out.name}.tmp")
        shutil.copyfile(converted, tmp_out)
        os.replace(tmp_out, out)


def check(path: Path) -> None:
    """What the round trip must keep: the merged title, the hidden row, the header."""
    wb = load_workbook(path)
    ws = wb[SHEET]
    assert ws["A1"].value == TITLE, ws["A1"].value
    assert any(str(r).startswith("A1:") for r in ws.merged_cells.ranges), ws.merged_cells.ranges
    assert ws.row_dimensions[36].hidden, "hidden row lost"
    assert ws["A2"].value == "投诉编号"


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else OUT
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "complaint-register.xlsx"
        write_workbook(raw)
        if shutil.which("soffice"):
            libreoffice_resave(raw, out)
        else:  # pragma: no cover - keeps the script usable without LibreOffice
            print("soffice not found: writing the openpyxl file as it is", file=sys.stderr)
            shutil.copyfile(raw, out)
    check(out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
