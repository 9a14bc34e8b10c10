"""Sherwood's look: calm white (or dark) surfaces, green for up, red for down."""

from nicegui import ui

GREEN = "#00C805"
RED = "#FF5000"

CSS = """
body { font-family: -apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif; }
.sw-card { border-radius: 16px; box-shadow: 0 1px 3px rgba(0,0,0,.08); }
.sw-brand { font-weight: 800; letter-spacing: -0.02em; }
.sw-up { color: #00C805; }
.sw-down { color: #FF5000; }
.sw-header { background: #fff; color: #111; border-bottom: 1px solid #e5e7eb; }
.sw-nav { color: #374151; }
.body--dark .sw-header { background: #111; color: #f3f4f6; border-bottom-color: #262626; }
.body--dark .sw-nav { color: #d1d5db; }
.body--dark .sw-card { box-shadow: none; border: 1px solid #262626; }
.sw-num { font-variant-numeric: tabular-nums; }
.sw-flash-up { animation: sw-flash-up .8s; }
.sw-flash-down { animation: sw-flash-down .8s; }
@keyframes sw-flash-up { from { background: rgba(0,200,5,.25); } to { background: transparent; } }
@keyframes sw-flash-down { from { background: rgba(255,80,0,.25); } to { background: transparent; } }
/* A mini chart still loading: its placeholder line breathes. */
.sw-pulse { animation: sw-pulse 1.2s ease-in-out infinite; }
@keyframes sw-pulse { 50% { opacity: .35; } }
/* Numbers that may be out of date look it: the feed is silent, or this page lost its connection. */
.sw-stale .sw-num, body:has(#popup[aria-hidden="false"]) .sw-num { opacity: .45; }
/* NiceGUI shows #popup from the socket's disconnect until its next handshake: the header says so meanwhile,
   not the market state it last heard. */
.sw-reconnecting { display: none !important; }
body:has(#popup[aria-hidden="false"]) .sw-reconnecting { display: flex !important; }
body:has(#popup[aria-hidden="false"]) .sw-market-state { display: none !important; }
/* A phone stacks table rows (components/tables.py): one block per row, one line per cell, led by its column. */
@media (max-width: 599.98px) {
  .sw-stack thead { display: none; }
  .sw-stack table, .sw-stack tbody { display: block; width: 100%; }
  .sw-stack tbody tr { display: block; height: auto; padding: 6px 0; border-bottom: 1px solid rgba(128,128,128,.2); }
  .sw-stack tbody td { display: flex; justify-content: space-between; align-items: center; gap: 12px;
    height: auto !important; padding: 2px 8px !important; border: none !important; white-space: normal;
    text-align: right !important; }
  /* Quasar draws a cell's ::before over it (absolute, for the hover shade): here it is the line's name, in line. */
  .sw-stack tbody td::before { content: attr(data-label); color: #6b7280; text-align: left; flex: none;
    position: static; background: none; }
  .sw-stack tbody td:empty { display: none; }
}
"""


# Prices flash green or red when they change, and signed changes take their colour, in the browser:
# the server only sends the new text.
FLASH_SCRIPT = r"""
const paintSign = (el) => {
  const text = el.textContent.trim();
  el.classList.toggle('sw-down', text.startsWith('-'));
  el.classList.toggle('sw-up', text.startsWith('+') && !/^\+0?\.?0*%?$/.test(text.split(' ')[0]));
};
new MutationObserver((mutations) => {
  for (const m of mutations) {
    for (const added of m.addedNodes) {
      if (added.nodeType !== 1) continue;
      if (added.matches('.sw-sign')) paintSign(added);
      added.querySelectorAll('.sw-sign').forEach(paintSign);
    }
    const node = m.target.nodeType === 3 ? m.target.parentElement : m.target;
    if (!node || !node.closest) continue;
    const signed = node.closest('.sw-sign');
    if (signed) paintSign(signed);
    const cell = node.closest('.sw-tick');
    if (!cell) continue;
    const now = parseFloat(cell.textContent.replace(/[^0-9.-]/g, ''));
    const before = parseFloat(cell.dataset.before);
    cell.dataset.before = now;
    if (isNaN(before) || now === before) continue;
    cell.classList.remove('sw-flash-up', 'sw-flash-down');
    void cell.offsetWidth;
    cell.classList.add(now > before ? 'sw-flash-up' : 'sw-flash-down');
  }
}).observe(document.body, {subtree: true, childList: true, characterData: true});
"""


def apply() -> None:
    """Colours and base styles; call once at the top of every page."""
    ui.colors(primary=GREEN, positive=GREEN, negative=RED, secondary="#1f2937", accent=GREEN)
    ui.add_css(CSS)
    ui.add_body_html(f"<script>{FLASH_SCRIPT}</script>")


def brand(size: str = "text-2xl", *, name_on_phone: bool = True) -> None:
    with ui.row().classes("items-center gap-2 no-wrap"):
        ui.html('<img src="/static/favicon.svg" alt="" width="32" height="32">', sanitize=False)
        ui.label("Sherwood").classes(f"sw-brand {size}" + ("" if name_on_phone else " gt-xs"))
