"""report_page.py PAGE [POUT]: reads a report page (doc/report.md) as a
browser would parse it and prints what it holds as one JSON object, for
the command-line tests to compare with the pout:

  bars         the item index of each timeline bar (data-i), in order
  bar_classes  {index: class attribute}
  aggregated   the items the timeline's aggregate marks stand for
  scripts      <script> elements in the page
  budget_line  1 when the memory plot has its budget line
  rows         the item table's rows: [index, why, name, status, error]
  check        the attributes of #report-check (set by the page's script)
  text         every text node joined, to look for names

Python's html.parser turns entities back into characters, so a name
shows here as the text a reader sees; an unescaped "<" in a name would
show as an element instead.
"""
import html.parser
import json
import sys


class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.bars, self.bar_classes, self.aggregated = [], {}, 0
        self.scripts, self.budget_line, self.rows = 0, 0, []
        self.check, self.text = {}, []
        self.in_table = False
        self.row = None
        self.cell = None
        self.in_svg_timeline = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = a.get("class") or ""
        if tag == "svg":
            self.in_svg_timeline = a.get("id") == "timeline"
        if tag == "script":
            self.scripts += 1
        if tag == "rect" and self.in_svg_timeline:
            if "bar" in cls.split():
                i = int(a["data-i"])
                self.bars.append(i)
                self.bar_classes[i] = cls
            elif "agg" in cls.split():
                self.aggregated += int(a["data-n"])
        if tag == "line" and a.get("id") == "budget-line":
            self.budget_line = 1
        if tag == "div" and a.get("id") == "report-check":
            self.check = {k: v for k, v in attrs if k.startswith("data-")}
        if tag == "table" and a.get("id") == "item-table":
            self.in_table = True
        if self.in_table and tag == "tr":
            self.row = []
        if self.row is not None and tag == "td":
            self.cell = []

    def handle_endtag(self, tag):
        if tag == "svg":
            self.in_svg_timeline = False
        if tag == "td" and self.cell is not None:
            self.row.append("".join(self.cell))
            self.cell = None
        if tag == "tr" and self.row is not None:
            if self.row:
                self.rows.append(
                    [int(self.row[0]), self.row[1], self.row[2],
                     self.row[3], self.row[9]])
            self.row = None
        if tag == "table":
            self.in_table = False

    def handle_data(self, data):
        self.text.append(data)
        if self.cell is not None:
            self.cell.append(data)


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        page = Page()
        page.feed(f.read())
    print(json.dumps({
        "bars": page.bars,
        "bar_classes": page.bar_classes,
        "aggregated": page.aggregated,
        "scripts": page.scripts,
        "budget_line": page.budget_line,
        "rows": page.rows,
        "check": page.check,
        "text": "".join(page.text),
    }))


main()
