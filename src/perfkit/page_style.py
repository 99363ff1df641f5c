"""The page every report and index is written in: the style sheet, on screen and in print.

:func:`page_css` is the ``<style>`` of a report's HTML (:func:`perfkit.render.export_html`) and
of an index page (:func:`perfkit.indexes.index_page`): one house style, and a printed page
titled by the report, never by the browser's header and footer.
"""

from __future__ import annotations

from .hostile_text import css_string

__all__ = ["page_css"]

# The reports' style sheet, on screen and in print. In print, Chromium draws its own header (the
# date and the page title) unless a top page-margin box has content, and its own footer (the
# file's path and the page number) unless a bottom one has: the empty top-left box and the page
# number at the bottom-right replace both (page_css puts the title in the top-left box).
_CSS = """
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       max-width: 1000px; margin: 2rem auto; padding: 0 1.2rem; color: #1a202c;
       line-height: 1.5; }
h1, h2, h3 { color: #1a365d; } h1 { border-bottom: 2px solid #2b6cb0; padding-bottom: .3rem; }
table { border-collapse: collapse; margin: .8rem 0; font-size: .92rem; }
th, td { border-bottom: 1px solid #e2e8f0; padding: .35rem .6rem; text-align: left; }
th { background: #f7fafc; } caption { caption-side: bottom; color: #4a5568; font-size: .85rem; }
img { max-width: 100%; height: auto; } .jp-OutputPrompt, .jp-InputPrompt { display: none; }
footer { margin-top: 3rem; color: #4a5568; font-size: .8rem; }
a { color: #2c5282; }
@media screen {  /* a wide table scrolls within its own box (a tab stop), not the page */
  table.wide { display: block; overflow-x: auto; max-width: 100%; }
  table.wide caption { position: sticky; left: 0; max-width: 60rem; text-align: left; }
}
@page wide { size: landscape; }
@page { margin: 1.2cm 1.3cm; @top-left { content: ""; }
        @bottom-right { content: "Page " counter(page) " of " counter(pages);
                        font-size: 8pt; color: #4a5568; } }
@media print {
  body { max-width: none; margin: 0; padding: 0; font-size: 9.5pt; line-height: 1.3; }
  h1 { font-size: 15pt; margin: 0 0 .5rem; } h2 { font-size: 12.5pt; margin: 1rem 0 .35rem; }
  h3 { font-size: 10.5pt; margin: .8rem 0 .3rem; } p, ul, ol { margin: .35rem 0; }
  h1, h2, h3, h4 { break-after: avoid; page-break-after: avoid; }
  table { font-size: 9pt; margin: .4rem 0; }
  th, td { padding: .12rem .4rem; line-height: 1.25; } caption { font-size: 9pt; }
  /* a wide table prints on landscape pages of its own, its legend above it, so it is never
     wider than the paper (Chromium would shrink every page of the report to fit it) and no
     word breaks inside */
  table.wide { page: wide; }
  table.wide caption { caption-side: top; text-align: left; }
  table.wide th, table.wide td { overflow-wrap: break-word; }
  table:not(.wide) td:first-child { white-space: nowrap; }  /* a name on one line */
  /* the check-in table: the clinician over their team and their standing, in a narrow
     column, so that the reasons have the width of the page and a row takes two or three
     lines, not five */
  /* a table of figures with their likely ranges: "43% (42%-44%)" on one line */
  table.figures td:not(:first-child) { white-space: nowrap; }
  table.check-ins { width: 100%; }
  table.check-ins tr { display: grid; grid-template-columns: 5rem 8.5rem 1fr;
                       grid-template-rows: auto 1fr; border-bottom: 1px solid #e2e8f0; }
  table.check-ins th, table.check-ins td { border-bottom: none; padding: 0 .4rem; }
  table.check-ins :is(th, td):first-child { grid-column: 1 / span 2; grid-row: 1;
                                            padding-top: .12rem; white-space: normal;
                                            overflow-wrap: anywhere; }
  table.check-ins :is(th, td):not(:first-child):not(:last-child) { align-self: start; }
  table.check-ins :is(th, td):nth-child(2):not(:last-child) { grid-column: 1; grid-row: 2;
                                                              color: #4a5568; }
  table.check-ins :is(th, td):nth-child(3):not(:last-child) { grid-column: 2; grid-row: 2;
                                                              color: #4a5568; }
  table.check-ins td:nth-last-child(2) { white-space: nowrap; }  /* "New or worsening" */
  table.check-ins :is(th, td):nth-child(2):nth-last-child(2) { grid-column: 1 / span 2; }
  table.check-ins :is(th, td):last-child { grid-column: 3; grid-row: 1 / span 2;
                                           padding: .12rem .4rem; }
  img { max-height: 22cm; }  /* a figure fits a page (A4 or Letter) with its caption */
  img, tr, caption, li, .output_png, .figure-text { break-inside: avoid;
                                                    page-break-inside: avoid; }
  /* a figure stays with its sentence; a figure drawn on several pages (an image each) may
     break between its pages, each a page of its own, so that its first page can follow the
     text before it */
  .output:has(.output_png):not(:has(> .output_area:nth-child(2) > .output_png)) {
    break-inside: avoid; page-break-inside: avoid; }
  .output_area:has(> .output_png):not(:has(+ .output_area > .output_png)) {
    break-after: avoid; page-break-after: avoid; }
  thead { display: table-header-group; }
  /* a figure's list of the names it draws: its own labels say them on paper */
  .figure-text .drawn { display: none; }
  p:has(> a#words) + ul { columns: 2; column-gap: 1.5rem; }  /* the words, in two columns */
  details.not-printed > :not(summary) { display: none; }
  details:not([open]) > summary::after,
  details.not-printed > summary::after { content: " (in the report on screen, not printed)";
                                         color: #4a5568; }
  a[href]::after { content: " (" attr(href) ")"; color: #4a5568; font-size: .85em;
                   overflow-wrap: anywhere; }
  a[href^="#"]::after, a[href^="data:"]::after, a[href^="mailto:"]::after { content: ""; }
  footer { margin-top: 1rem; font-size: 9pt; }
}
"""

# The longest running title printed at the top of each page after the first.
_RUNNING_TITLE_CHARS = 120


def page_css(title: str) -> str:
    """The page's style sheet: :data:`_CSS` and, when printed, the report's title at the top of
    every page after the first and "Page n of m" at the bottom. These page margin boxes take the
    place of the browser's own print header and footer, which would show the file's path on
    the reader's computer and the time it was printed. The title is written with
    :func:`perfkit.hostile_text.css_string` (it holds names from the records)."""
    if len(title) > _RUNNING_TITLE_CHARS:
        title = title[:_RUNNING_TITLE_CHARS - 1].rstrip() + "\u2026"
    return (_CSS + "@page { @top-left { content: " + css_string(title)
            + "; font-size: 8pt; color: #4a5568; } }\n"
            '@page :first { @top-left { content: ""; } }\n')
