"""Writes rep-statistics-register.xlsx, the fixture of tests/test_report.py (kept so the fixture
can be rebuilt; the committed file is this output saved again by LibreOffice):

    python tests/data/rep-make-statistics-register.py /tmp/rep.xlsx
    soffice -env:UserInstallation=file:///tmp/lo-F --headless --convert-to xlsx \
        --outdir /tmp/lo-out /tmp/rep.xlsx
    cp /tmp/lo-out/rep.xlsx tests/data/rep-statistics-register.xlsx

20 complaints from 2025-12 to 2026-04 with figures worked out by hand in the test, plus two
rows with errors in fields some figures need (a closed complaint without a closing date; an
impossible date under an id that looks like a formula), one with no class and no category, and
errors in fields no figure needs on three good rows (a mistyped phone on the media complaint, a
handler e-mail with Chinese characters, a blank respondent): those change no figure.
"""

import datetime as dt
import sys

from openpyxl import Workbook

HEADERS = ["投诉编号", "受理日期", "投诉渠道", "客户名称", "联系电话", "被投诉方", "投诉内容", "投诉类别",
           "投诉性质", "等级", "特殊客诉", "责任部门", "首问负责人", "负责人邮箱", "原因分类", "处理结果",
           "承诺答复日期", "纠正预防措施", "措施负责人", "措施负责人邮箱", "措施完成期限", "措施完成日期",
           "回访期限", "回访日期", "客户满意度", "处理状态", "结案日期"]

D = dt.date
# id, received, class, category, nature, special, department, root cause, status,
# reply_due, followup_due, followup_done, satisfaction, closed_on, (capa_due, capa_done) or None
ROWS = [
    ("KS-2512-01", D(2025, 12, 15), "C", "服务态度", "咨询型", "否", "客服部", "服务态度", "已结案",
     D(2025, 12, 18), D(2026, 1, 5), D(2025, 12, 19), "满意", D(2025, 12, 22), None),
    ("KS-2601-01", D(2026, 1, 5), "A", "产品质量", "有效投诉", "否", "质量部", "制造品质不良", "已结案",
     D(2026, 1, 6), D(2026, 1, 8), D(2026, 1, 8), "满意", D(2026, 1, 9), (D(2026, 1, 20), D(2026, 1, 16))),
    ("KS-2601-02", D(2026, 1, 7), "B", "产品质量", "有效投诉", "消协", "质量部", "制造品质不良", "已结案",
     D(2026, 1, 8), D(2026, 1, 12), D(2026, 1, 14), "基本满意", D(2026, 1, 16), (D(2026, 1, 30), D(2026, 1, 28))),
    ("KS-2601-03", D(2026, 1, 12), "C", "物流配送", "求助型", "否", "物流部", "运输及储存过程不良", "已结案",
     D(2026, 1, 15), D(2026, 2, 2), D(2026, 1, 20), "满意", D(2026, 1, 21), None),
    ("KS-2601-04", D(2026, 1, 20), "B", "服务态度", "有效投诉", "否", "客服部", "服务态度", "已结案",
     D(2026, 1, 22), D(2026, 1, 29), D(2026, 1, 27), "不满意", D(2026, 1, 30), (D(2026, 2, 10), D(2026, 2, 5))),
    ("KS-2601-05", D(2026, 1, 26), "C", "计费收费", "发泄型", "否", "财务部", None, "已结案",
     D(2026, 1, 29), D(2026, 2, 13), D(2026, 2, 3), "基本满意", D(2026, 2, 4), None),
    ("KS-2602-01", D(2026, 2, 2), "A", "产品质量", "有效投诉", "监管部门", "质量部", "设计品质不良", "已结案",
     D(2026, 2, 3), D(2026, 2, 5), D(2026, 2, 5), "满意", D(2026, 2, 6), (D(2026, 3, 2), D(2026, 2, 26))),
    ("KS-2602-02", D(2026, 2, 4), "C", "营销宣传", "咨询型", "否", "市场部", None, "已结案",
     D(2026, 2, 9), D(2026, 2, 27), D(2026, 2, 10), "满意", D(2026, 2, 11), None),
    ("KS-2602-03", D(2026, 2, 10), "B", "产品质量", "有效投诉", "否", "生产部", "制造品质不良", "已结案",
     D(2026, 2, 12), D(2026, 2, 27), D(2026, 3, 2), "不满意", D(2026, 3, 3), (D(2026, 3, 10), D(2026, 3, 5))),
    ("KS-2602-04", D(2026, 2, 25), "C", "物流配送", "有效投诉", "否", "物流部", "运输及储存过程不良", "已结案",
     D(2026, 2, 28), D(2026, 3, 18), D(2026, 3, 6), "满意", D(2026, 3, 6), None),
    ("KS-2603-01", D(2026, 3, 2), "A", "服务态度", "有效投诉", "媒体", "客服部", "服务态度", "已结案",
     D(2026, 3, 3), D(2026, 3, 5), D(2026, 3, 5), "基本满意", D(2026, 3, 9), (D(2026, 3, 20), D(2026, 3, 16))),
    ("KS-2603-02", D(2026, 3, 4), "B", "产品质量", "有效投诉", "否", "质量部", "使用后发生不良反映", "待回访",
     D(2026, 3, 6), D(2026, 3, 13), D(2026, 3, 12), None, None, (D(2026, 3, 25), None)),
    ("KS-2603-03", D(2026, 3, 10), "C", "计费收费", "求助型", "否", "财务部", "流程问题", "已结案",
     D(2026, 3, 13), D(2026, 3, 31), D(2026, 3, 20), "满意", D(2026, 3, 20), None),
    ("KS-2603-04", D(2026, 3, 16), "C", "产品质量", "有效投诉", "否", "生产部", "消费者保存或处理不当", "处理中",
     D(2026, 3, 19), D(2026, 4, 3), None, None, None, None),
    ("KS-2603-05", D(2026, 3, 23), "B", "服务态度", "发泄型", "否", "客服部", "服务态度", "已结案",
     D(2026, 3, 25), D(2026, 4, 1), D(2026, 3, 27), "满意", D(2026, 3, 27), None),
    ("KS-2603-06", D(2026, 3, 30), "A", "信息安全", "有效投诉", "疑似敲诈", "市场部", None, "待处理",
     D(2026, 3, 31), D(2026, 4, 2), None, None, None, None),
    ("KS-2604-01", D(2026, 4, 1), "C", "其他", "咨询型", "否", "销售部", None, "已结案",
     D(2026, 4, 3), D(2026, 4, 22), D(2026, 4, 8), "满意", D(2026, 4, 8), None),
    # Blank due dates: computed from the class in working days.
    ("KS-2604-02", D(2026, 4, 7), "B", "物流配送", "有效投诉", "否", "物流部", None, "待处理",
     None, None, None, None, None, None),
    ("KS-2604-03", D(2026, 4, 9), "C", "产品质量", "求助型", "否", "质量部", None, "待处理",
     D(2026, 4, 14), D(2026, 4, 30), None, None, None, None),
    ("KS-2604-04", D(2026, 4, 10), "A", "服务态度", "有效投诉", "否", "客服部", None, "处理中",
     None, None, None, None, None, None),
    # Errors: closed without a closing date; an impossible date (and an id that looks like a formula).
    ("KS-2603-07", D(2026, 3, 18), "C", "服务态度", "咨询型", "否", "客服部", None, "已结案",
     D(2026, 3, 23), D(2026, 4, 8), D(2026, 3, 25), "满意", None, None),
    ("=1+2", "2026-02-30", "C", "其他", "咨询型", "否", "销售部", None, "处理中",
     D(2026, 3, 5), D(2026, 3, 20), None, None, None, None),
    # No class and no category: out of the class split, the category Pareto and the on-time rates
    # (its due dates would be a guess), in everything else; the reminders still see it (as class A).
    ("KS-2604-05", D(2026, 4, 8), None, None, "咨询型", "否", "客服部", None, "待处理",
     None, None, None, None, None, None),
]

#: Errors in fields no figure needs: column header -> value, by complaint id.
UNRELATED_ERRORS = {
    "KS-2603-01": {"联系电话": "138-0013"},
    "KS-2601-03": {"负责人邮箱": "陈静@example.com"},
    "KS-2602-02": {"被投诉方": None},
}

CHANNEL = {"消协": "消协转办", "监管部门": "监管部门转办"}
HANDLER = {"客服部": ("李娜", "lina@example.com"), "质量部": ("王强", "wangqiang@example.com"),
           "生产部": ("赵磊", "zhaolei@example.com"), "物流部": ("陈静", "chenjing@example.com"),
           "销售部": ("刘洋", "liuyang@example.com"), "市场部": ("杨帆", "yangfan@example.com"),
           "财务部": ("周敏", "zhoumin@example.com")}


def main(path: str) -> None:
    book = Workbook()
    ws = book.active
    ws.title = "台账"
    ws["A1"] = "2026年客户投诉登记台账"
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADERS))
    ws.append(HEADERS)
    for i, (cid, received, cls, category, nature, special, dept, cause, status, reply_due, fu_due,
            fu_done, satisfaction, closed_on, capa) in enumerate(ROWS):
        handler, email = HANDLER[dept]
        closed = status == "已结案"
        values = [cid, received, CHANNEL.get(special, "电话"), f"客户{i + 1:02d}", f"1380013{8000 + i:04d}",
                  "示例烟草零售有限公司", f"第{i + 1}号投诉内容", category, nature, cls, special, dept,
                  handler, email, cause, "已向客户说明并处理完毕" if closed else None, reply_due,
                  "改进工序并培训" if capa else None, "质量主管" if capa else None,
                  "qa-lead@example.com" if capa else None, capa[0] if capa else None,
                  capa[1] if capa else None, fu_due, fu_done, satisfaction, status, closed_on]
        for header, value in UNRELATED_ERRORS.get(cid, {}).items():
            values[HEADERS.index(header)] = value
        ws.append(values)
        row = ws.max_row
        ws.cell(row=row, column=1).data_type = "s"  # "=1+2" is an id typed as text, not a formula
        for col in range(1, len(values) + 1):
            if isinstance(values[col - 1], dt.date):
                ws.cell(row=row, column=col).number_format = "yyyy-mm-dd"
    book.save(path)


if __name__ == "__main__":
    main(sys.argv[1])
