import io

import docx
import pytest

from nianbao.errors import CodedError
from nianbao.extraction.document import TableBlock, TextBlock
from nianbao.extraction.readers import read
from nianbao.extraction.readers.encoding import decode

HTML = """<html><head><meta charset="utf-8"><title>t</title></head><body>
<div class="nav">首页 &gt; 政务公开</div>
<h1>某市交通运输局2023年政府信息公开工作年度报告</h1>
<table><tr><td>
  <table border="1">
    <tr><td rowspan="2">三、本年度办理结果</td><td>（一）予以公开</td><td>5</td></tr>
    <tr><td colspan="1">（二）部分公开</td><td>2</td></tr>
  </table>
</td></tr></table>
<p>五、存在的主要问题</p></body></html>"""


def test_html_rowspan_and_nested_layout_table() -> None:
    document = read("page.html", HTML.encode())
    tables = [b for b in document.blocks if isinstance(b, TableBlock)]
    assert len(tables) == 1, "the layout table holding a table is not itself data"
    grid = tables[0].grid
    assert [c.text for c in grid[1]] == ["三、本年度办理结果", "（二）部分公开", "2"]
    assert grid[1][0].copy and not grid[0][0].copy
    texts = [b.text for b in document.blocks if isinstance(b, TextBlock)]
    assert "某市交通运输局2023年政府信息公开工作年度报告" in texts


def test_gbk_page_with_wrong_declared_charset() -> None:
    page = HTML.replace("utf-8", "iso-8859-1").encode("gbk")
    document = read("page.htm", page)
    assert any("交通运输局" in b.text for b in document.blocks if isinstance(b, TextBlock))


def test_decode_gb18030_text() -> None:
    assert decode("二、主动公开政府信息情况".encode("gb18030")).text == "二、主动公开政府信息情况"


def test_markdown_pipe_and_embedded_html_tables() -> None:
    text = (
        "# 标题\n\n| 信息内容 | 本年处理决定数量 |\n|---|---|\n| 行政许可 | 3 |\n\n"
        "<table><tr><td colspan=2>行政处罚</td><td>4</td></tr></table>\n"
    )
    document = read("x.txt", text.encode())
    assert document.form == "markdown"
    tables = [b for b in document.blocks if isinstance(b, TableBlock)]
    assert [c.text for c in tables[0].grid[1]] == ["行政许可", "3"]
    assert [c.copy for c in tables[1].grid[0]] == [False, True, False]


def test_docx_merged_cells() -> None:
    document = docx.Document()
    document.add_paragraph("某县2022年政府信息公开工作年度报告")
    table = document.add_table(rows=2, cols=3)
    table.cell(0, 0).merge(table.cell(1, 0)).text = "（三）不予公开"
    table.cell(0, 1).text, table.cell(0, 2).text = "1.属于国家秘密", "0"
    table.cell(1, 1).text, table.cell(1, 2).text = "2.其他法律行政法规禁止公开", "1"
    buffer = io.BytesIO()
    document.save(buffer)
    read_back = read("r.docx", buffer.getvalue())
    grid = next(b for b in read_back.blocks if isinstance(b, TableBlock)).grid
    assert grid[1][0].text == "（三）不予公开" and grid[1][0].copy
    assert [c.text for c in grid[1][1:]] == ["2.其他法律行政法规禁止公开", "1"]


def _pdf(draw, **canvas_args) -> bytes:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, invariant=1, **canvas_args)
    c.setFont("STSong-Light", 10)
    draw(c)
    c.save()
    return buf.getvalue()


def _ruled_table(c) -> None:
    """A 3x3 ruled grid whose first column's lower two cells are merged (no line between them)."""
    c.drawString(72, 760, "某县民政局2022年政府信息公开工作年度报告")
    xs, ys = [72, 200, 300, 400], [700, 680, 660, 640]
    for x in xs:
        c.line(x, ys[0], x, ys[-1])
    c.line(xs[0], ys[0], xs[-1], ys[0])
    c.line(xs[0], ys[1], xs[-1], ys[1])
    c.line(xs[1], ys[2], xs[-1], ys[2])  # not across column 0: rows 1-2 of it are one cell
    c.line(xs[0], ys[3], xs[-1], ys[3])
    for (x, y), text in {
        (76, 686): "收到申请",
        (204, 686): "自然人",
        (304, 686): "总计",
        (76, 666): "三、本年度办理结果",
        (204, 666): "3",
        (304, 666): "3",
        (204, 646): "1",
        (304, 646): "1",
    }.items():
        c.drawString(x, y, text)


def test_pdf_ruled_table_with_a_merged_cell() -> None:
    document = read("report.pdf", _pdf(_ruled_table))
    assert document.form == "pdf"
    tables = [b for b in document.blocks if isinstance(b, TableBlock)]
    assert len(tables) == 1
    grid = [[(c.text, c.copy) for c in row] for row in tables[0].grid]
    assert grid[0] == [("收到申请", False), ("自然人", False), ("总计", False)]
    assert grid[1][0] == ("三、本年度办理结果", False)
    assert grid[2][0] == ("三、本年度办理结果", True), "the merged cell's text covers the row below"
    assert [c for c, _ in grid[2][1:]] == ["1", "1"]
    box = tables[0].grid[0][1].box  # 自然人: x 200-300, y 700-680 from the bottom of an 842 pt A4 page
    assert box is not None and box.page == 1
    assert (round(box.x0), round(box.top), round(box.x1), round(box.bottom)) == (200, 142, 300, 162)
    assert document.blocks[0].text == "某县民政局2022年政府信息公开工作年度报告"


def test_encrypted_pdf_is_refused_with_a_code() -> None:
    from reportlab.lib.pdfencrypt import StandardEncryption

    with pytest.raises(CodedError) as caught:
        read("report.pdf", _pdf(_ruled_table, encrypt=StandardEncryption("secret", canPrint=0)))
    assert caught.value.code == "E_ENCRYPTED"


def _unruled_table(c) -> None:
    """No rules: columns only by alignment, a wrapped label, and one cell left blank mid-row."""
    centres = (240, 310, 380)
    for x, text in zip(centres, ("自然人", "法人", "总计"), strict=True):
        c.drawCentredString(x, 700, text)
    rows = [("收到申请", "3", "1", "4"), ("予以公开", "2", "", "2"), ("不予公开", "1", "1", "2")]
    for i, (label, *values) in enumerate(rows):
        y = 680 - 20 * i
        c.drawString(76, y, label)
        for x, value in zip(centres, values, strict=True):
            c.drawCentredString(x, y, value)
    c.drawString(76, 613, "本机关不掌握相关政府")  # a label wrapped around its row's values
    c.drawString(76, 600, "信息")
    for x, value in zip(centres, ("5", "0", "5"), strict=True):
        c.drawCentredString(x, 606.5, value)


def test_pdf_unruled_table_keeps_blank_cells_in_place() -> None:
    """Read as text lines, "予以公开 2 2" would put the total under 法人; as a grid the blank stays."""
    tables = [b for b in read("report.pdf", _pdf(_unruled_table)).blocks if isinstance(b, TableBlock)]
    assert len(tables) == 1
    rows = [[c.text for c in row] for row in tables[0].grid]
    assert rows[0][-3:] == ["自然人", "法人", "总计"]
    assert rows[2][-4:] == ["予以公开", "2", "", "2"]
    assert rows[-1][-4:] == ["本机关不掌握相关政府\n信息", "5", "0", "5"]
    assert len({len(row) for row in rows}) == 1
    total = tables[0].grid[2][-1].box  # the 2 under 总计, in points from the top of the page
    assert total is not None and total.page == 1 and total.x0 < 380 < total.x1 and total.top < 842 - 660
