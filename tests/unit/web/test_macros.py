"""The shared page macros: a field carries its label, hint and error; the pager and confirm button work."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

from jinja2 import Environment, FileSystemLoader

TEMPLATES = Path(__file__).resolve().parents[3] / "templates"


class Doc(HTMLParser):
    """The elements of a rendered fragment with their attributes and the text that follows each."""

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None], list[str]]] = []
        self.feed(markup)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs), []))

    def handle_data(self, data: str) -> None:
        if self.elements and data.strip():
            self.elements[-1][2].append(data.strip())

    def find(self, tag: str, **attrs: str) -> list[tuple[dict[str, str | None], str]]:
        return [
            (a, " ".join(text))
            for t, a, text in self.elements
            if t == tag and all(a.get(k.rstrip("_")) == v for k, v in attrs.items())
        ]

    @property
    def text(self) -> str:
        return " ".join(" ".join(text) for _, _, text in self.elements)


def render(source: str, **context: object) -> Doc:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True)
    template = env.from_string('{% import "_macros.html" as ui with context %}' + source)
    return Doc(template.render(csrf_input='<input name="_csrf_token">', **context))


def test_field_links_label_hint_and_error() -> None:
    doc = render(
        '{{ ui.field("scope", "Scope", value="ISO <9001>", hint="As on the certificate", errors=errors) }}',
        errors={"scope": "Scope is required."},
    )
    ((control, _),) = doc.find("input", name="scope")
    assert control["value"] == "ISO <9001>"
    assert doc.find("label", for_="scope")[0][1] == "Scope"
    assert control["aria-describedby"] == "scope-hint scope-error"
    assert doc.find("p", id="scope-error")[0][1] == "Scope is required."
    assert control["aria-invalid"] == "true"


def test_select_marks_the_current_value() -> None:
    doc = render(
        '{{ ui.field("grade", "Grade", value="major", type="select",'
        ' options=[("minor", "Minor"), ("major", "Major")]) }}'
    )
    assert [text for a, text in doc.find("option") if "selected" in a] == ["Major"]
    assert "aria-invalid" not in doc.find("select")[0][0]


def test_error_summary_links_each_field() -> None:
    doc = render("{{ ui.error_summary(errors) }}", errors={"scope": "Scope is required."})
    assert [a["href"] for a, _ in doc.find("a")] == ["#scope"]


def test_pager_shows_previous_and_next_with_filters() -> None:
    page = SimpleNamespace(page=2, per_page=20, total=45)
    doc = render('{{ ui.pager(page, "/tracker", "status=open") }}', page=page)
    assert [a["href"] for a, _ in doc.find("a", rel="prev")] == ["/tracker?status=open&page=1"]
    assert [a["href"] for a, _ in doc.find("a", rel="next")] == ["/tracker?status=open&page=3"]
    assert "Page 2 of 3" in doc.text
    single = render(
        '{{ ui.pager(page, "/t") }}', page=SimpleNamespace(page=1, per_page=20, total=3)
    )
    assert single.find("nav") == []


def test_confirm_button_asks_and_carries_csrf() -> None:
    doc = render(
        '{{ ui.confirm_button("/certificates/1/withdraw", "Withdraw",'
        ' confirm="Withdraw it?", danger=true) }}'
    )
    ((form, _),) = doc.find("form")
    assert form["data-confirm"] == "Withdraw it?"
    assert form["action"] == "/certificates/1/withdraw"
    assert doc.find("input", name="_csrf_token")
    assert doc.find("button", class_="danger")


def test_table_renders_rows_or_the_empty_state() -> None:
    doc = render(
        '{% call ui.table(["Code"], empty="None yet", count=1) %}<tr><td>A</td></tr>{% endcall %}'
    )
    assert doc.find("th")[0][1] == "Code"
    assert doc.find("td")[0][1] == "A"
    empty = render('{% call ui.table(["Code"], empty="None yet", count=0) %}<tr></tr>{% endcall %}')
    assert empty.find("p", class_="empty")[0][1] == "None yet"
