"""A small report writer: Markdown and a self-contained HTML page from the same sections."""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd


@dataclass
class Report:
    """Sections of text, tables and figures, written once as Markdown and as HTML."""

    title: str
    blocks: list[tuple[str, object]] = field(default_factory=list)

    def heading(self, text: str) -> None:
        """Add a section heading."""
        self.blocks.append(("heading", text))

    def text(self, text: str) -> None:
        """Add a paragraph (Markdown inline syntax is kept as is in both outputs)."""
        self.blocks.append(("text", text))

    def table(self, frame: pd.DataFrame, caption: str = "", digits: int = 4) -> None:
        """Add a table (numbers rounded to ``digits`` significant digits)."""
        self.blocks.append(("table", (frame, caption, digits)))

    def figure(self, figure, name: str, caption: str) -> None:
        """Add a matplotlib figure (saved as PNG next to the report and embedded in HTML)."""
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
        self.blocks.append(("figure", (buffer.getvalue(), name, caption)))

    def write(self, folder: Path, stem: str = "report") -> tuple[Path, Path]:
        """Write ``<stem>.md`` (with PNG files beside it) and ``<stem>.html`` (self-contained)."""
        markdown, page = [f"# {self.title}", ""], [_HTML_HEAD.format(title=html.escape(self.title))]
        page.append(f"<h1>{html.escape(self.title)}</h1>")
        for kind, content in self.blocks:
            if kind == "heading":
                markdown += [f"## {content}", ""]
                page.append(f"<h2>{html.escape(content)}</h2>")
            elif kind == "text":
                markdown += [content, ""]
                page.append(f"<p>{html.escape(content)}</p>")
            elif kind == "table":
                frame, caption, digits = content
                shown = _rounded(frame, digits)
                if caption:
                    markdown += [f"*{caption}*", ""]
                    page.append(f"<p><em>{html.escape(caption)}</em></p>")
                markdown += [_markdown(shown), ""]
                page.append(shown.to_html(border=0, na_rep=""))
            else:
                png, name, caption = content
                (folder / f"{name}.png").write_bytes(png)
                markdown += [f"![{caption}]({name}.png)", "", f"*{caption}*", ""]
                encoded = base64.b64encode(png).decode("ascii")
                alt = html.escape(caption)
                page.append(
                    f'<figure><img src="data:image/png;base64,{encoded}" alt="{alt}">'
                    f"<figcaption>{alt}</figcaption></figure>"
                )
        page.append("</body></html>")
        md_path, html_path = folder / f"{stem}.md", folder / f"{stem}.html"
        md_path.write_text("\n".join(markdown))
        html_path.write_text("\n".join(page))
        return md_path, html_path


def format_number(value, digits: int = 4) -> str:
    """Format a number for a table.

    Thousands separators for large values, ``digits`` significant digits otherwise, and 0
    for values below 1e-12 in magnitude (floating-point noise).
    """
    if not isinstance(value, float | int) or isinstance(value, bool):
        return str(value)
    if pd.isna(value):
        return ""
    if abs(value) >= 10 ** (digits - 1):
        return f"{value:,.0f}"
    if abs(value) < 1e-12:
        return "0"
    return f"{value:.{digits}g}"


def _rounded(frame: pd.DataFrame, digits: int) -> pd.DataFrame:
    return frame.map(lambda value: format_number(value, digits))


def _markdown(frame: pd.DataFrame) -> str:
    """A GitHub-style Markdown table (no optional dependency)."""
    header = [str(frame.index.name or "")] + [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for label, row in frame.iterrows():
        lines.append("| " + " | ".join([str(label)] + [str(v) for v in row]) + " |")
    return "\n".join(lines)


_HTML_HEAD = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto;line-height:1.4}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{padding:3px 8px;border-bottom:1px solid #ddd;
text-align:right}}img{{max-width:100%}}figcaption{{font-style:italic}}</style></head><body>"""
