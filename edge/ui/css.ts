/**
 * The UI's one stylesheet, served at `/ui/assets/app.css`. A string (not a file read at runtime)
 * so the edge stays runtime-agnostic (Node and Workers) with no build step.
 *
 * Colours: every text/background pair used here is ≥ 4.5:1 (WCAG AA); status is never told by
 * colour alone (badges carry the word).
 */
export const CSS = String.raw`
:root {
  --fg: #1b1f24; --muted: #4f5661; --bg: #ffffff; --panel: #f6f7f9; --line: #d5d9e0;
  --accent: #1f5fbf; --accent-fg: #ffffff; --focus: #f5a300;
  --ok-bg: #dcf5e3; --ok-fg: #14532d; --bad-bg: #fde2e2; --bad-fg: #7f1d1d;
  --run-bg: #dbe8fd; --run-fg: #1e3a8a; --wait-bg: #fdf1c9; --wait-fg: #713f12;
  --cache-bg: #d4f4f0; --cache-fg: #134e4a; --off-bg: #eceef1; --off-fg: #3f4650;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif;
  color: var(--fg); background: var(--bg); line-height: 1.45;
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; }
a { color: var(--accent); }
a:hover { text-decoration-thickness: 2px; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
code, pre, textarea.code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 0.9em; }
.skip { position: absolute; left: -999px; top: 0; background: var(--accent); color: var(--accent-fg); padding: .5rem 1rem; z-index: 10; }
.skip:focus { left: 0; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
header.site { display: flex; align-items: center; gap: 1.5rem; padding: .6rem 1.25rem; background: #14213d; color: #fff; }
header.site .brand { font-weight: 700; color: #fff; text-decoration: none; letter-spacing: .02em; }
header.site nav ul { display: flex; gap: 1rem; list-style: none; margin: 0; padding: 0; }
header.site nav a { color: #e6ecf7; text-decoration: none; padding: .25rem .1rem; }
header.site nav a[aria-current="page"] { color: #fff; border-bottom: 2px solid #f5a300; }
main { padding: 1rem 1.25rem 3rem; max-width: 1200px; margin: 0 auto; }
h1 { font-size: 1.5rem; margin: .5rem 0 1rem; }
h2 { font-size: 1.15rem; margin: 1.25rem 0 .5rem; }
h3 { font-size: 1rem; margin: 0; }
.muted { color: var(--muted); }
.fallback { color: var(--bad-fg); font-weight: 600; }
.row { display: flex; gap: 1rem; flex-wrap: wrap; align-items: flex-end; }
.grow { flex: 1 1 auto; }
.btn, button { font: inherit; border: 1px solid var(--accent); background: var(--accent); color: var(--accent-fg);
  border-radius: 6px; padding: .4rem .9rem; cursor: pointer; text-decoration: none; display: inline-block; }
.btn.secondary, button.secondary { background: #fff; color: var(--accent); }
button:disabled { opacity: .55; cursor: not-allowed; }
label { font-weight: 600; font-size: .9rem; display: block; margin-bottom: .2rem; }
input, select, textarea { font: inherit; border: 1px solid #8a919c; border-radius: 5px; padding: .35rem .5rem; background: #fff; color: var(--fg); }
input[type=checkbox] { width: 1.1rem; height: 1.1rem; }
.field { display: flex; flex-direction: column; min-width: 0; max-width: 100%; }
input, select, textarea { max-width: 100%; }
.hint { font-size: .82rem; color: var(--muted); }
.notice { padding: .6rem .9rem; border-radius: 6px; border: 1px solid var(--line); background: var(--panel); }
.plan { margin: 0; padding-left: 1.1rem; font-size: .9rem; }
p.error { padding: .6rem .9rem; border-radius: 6px; background: var(--bad-bg); color: var(--bad-fg); }
.notice.error { background: var(--bad-bg); color: var(--bad-fg); border-color: #e8a3a3; }
.badge { display: inline-block; border-radius: 999px; padding: .05rem .55rem; font-size: .8rem; font-weight: 600; white-space: nowrap; }
.s-succeeded { background: var(--ok-bg); color: var(--ok-fg); }
.s-cached { background: var(--cache-bg); color: var(--cache-fg); }
.s-failed, .s-timed_out { background: var(--bad-bg); color: var(--bad-fg); }
.s-running { background: var(--run-bg); color: var(--run-fg); }
.s-queued, .s-pending { background: var(--wait-bg); color: var(--wait-fg); }
.s-canceled, .s-skipped, .s-off { background: var(--off-bg); color: var(--off-fg); }
.tag { white-space: nowrap; display: inline-block; border: 1px solid var(--line); border-radius: 4px; padding: 0 .35rem; font-size: .8rem; margin-right: .2rem; background: var(--panel); }

/* history */
.filters { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: .8rem 1rem; margin-bottom: 1rem; }
.counts { display: flex; gap: .5rem; flex-wrap: wrap; list-style: none; padding: 0; margin: 0 0 1rem; }
.counts a, .counts span.total { display: inline-flex; gap: .4rem; align-items: center; text-decoration: none; border: 1px solid var(--line); border-radius: 999px; padding: .15rem .3rem .15rem .15rem; color: var(--fg); }
.counts a[aria-current="true"] { outline: 2px solid var(--accent); }
.counts .n { font-variant-numeric: tabular-nums; font-weight: 600; padding-right: .35rem; }
table.runs { width: 100%; border-collapse: collapse; font-size: .92rem; }
table.runs th, table.runs td { text-align: left; padding: .45rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
table.runs th { background: var(--panel); font-size: .82rem; text-transform: uppercase; letter-spacing: .03em; color: var(--muted); }
table.runs td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
.pager { display: flex; gap: 1rem; align-items: center; margin-top: 1rem; }
.empty { padding: 2rem; text-align: center; color: var(--muted); border: 1px dashed var(--line); border-radius: 8px; }

/* run page */
.run-head { display: grid; grid-template-columns: 1fr auto; gap: .5rem 1rem; align-items: start; }
.run-head dl, .kv { display: grid; grid-template-columns: max-content 1fr; gap: .15rem .8rem; margin: 0; font-size: .9rem; }
.kv dt { color: var(--muted); }
.kv dd { margin: 0; overflow-wrap: anywhere; }
.outputs { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: .6rem 1rem; margin: .5rem 0 0; }
.outputs dt { font-weight: 600; }
.outputs dd { margin: 0; }
.inputs-panel { display: flex; gap: 1rem; flex-wrap: wrap; align-items: flex-start; }
figure.thumb { margin: 0; }
figure.thumb img { width: 128px; height: 128px; object-fit: contain; image-rendering: pixelated; border: 1px solid var(--line); border-radius: 6px; background: #000; }
figure.thumb figcaption { font-size: .8rem; color: var(--muted); }
figure.thumb.small img { width: 64px; height: 64px; }
ol.cells { list-style: none; padding: 0; margin: 0; counter-reset: cell; }
.cell { border: 1px solid var(--line); border-left: 5px solid #9aa3ae; border-radius: 8px; margin: 0 0 1rem; background: #fff; }
.cell[data-status="succeeded"] { border-left-color: #2f8a4c; }
.cell[data-status="cached"] { border-left-color: #1f8a80; }
.cell[data-status="running"] { border-left-color: #2e62c9; }
.cell[data-status="failed"], .cell[data-status="timed_out"] { border-left-color: #c23030; }
.cell > header { display: flex; gap: .6rem; align-items: center; flex-wrap: wrap; padding: .5rem .8rem; border-bottom: 1px solid var(--line); background: var(--panel); border-radius: 8px 8px 0 0; }
.cell > header .idx { color: var(--muted); font-variant-numeric: tabular-nums; font-size: .85rem; }
.cell > header .op { font-family: ui-monospace, Menlo, monospace; font-size: .85rem; border: 1px solid var(--line); padding: 0 .35rem; border-radius: 4px; background: #fff; }
.cell-body { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1.3fr); gap: 0; }
.cell-body > section { padding: .6rem .8rem; min-width: 0; }
.cell-body > section + section { border-left: 1px solid var(--line); }
.cell-body h4 { margin: 0 0 .35rem; font-size: .78rem; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); }
.cell footer { border-top: 1px solid var(--line); padding: .45rem .8rem; font-size: .85rem; }
.segments { display: flex; flex-wrap: wrap; gap: .3rem; align-items: center; margin: 0; padding: 0; list-style: none; }
.seg-span { background: #e9ddfb; color: #3b1c6e; border-radius: 4px; padding: 0 .35rem; font-family: ui-monospace, Menlo, monospace; font-size: .85rem; }
.seg-text { font-family: ui-monospace, Menlo, monospace; font-size: .85rem; white-space: pre-wrap; }
.answer { font-size: 1.35rem; font-weight: 650; margin: 0 0 .3rem; overflow-wrap: anywhere; }
.tokens { line-height: 2; margin: .2rem 0; }
.tok { display: inline-block; line-height: 1.3; margin-bottom: .25rem; max-width: 100%; overflow-wrap: anywhere; border-radius: 3px; padding: .05rem .15rem; margin-right: .12rem; font-family: ui-monospace, Menlo, monospace; font-size: .88rem;
  background: hsl(calc(var(--p, 1) * 130) 70% 86%); color: #111; border-bottom: 2px solid hsl(calc(var(--p, 1) * 130) 60% 38%); }
.legend { display: flex; gap: .5rem; align-items: center; font-size: .78rem; color: var(--muted); }
.legend .tok { font-size: .75rem; }
table.scores { border-collapse: collapse; width: 100%; font-size: .9rem; margin: .3rem 0; }
table.scores td, table.scores th { padding: .15rem .3rem; text-align: left; }
table.scores th[scope=row] { font-weight: 500; width: 8rem; }
table.scores tr.best th { font-weight: 700; }
.bar { height: .8rem; background: #e6e9ee; border-radius: 3px; overflow: hidden; min-width: 6rem; }
.bar > span { display: block; height: 100%; background: #3b6fd4; }
tr.best .bar > span { background: #2f8a4c; }
table.tensor { border-collapse: collapse; font-size: .88rem; }
table.tensor th { text-align: left; color: var(--muted); font-weight: 500; padding-right: 1rem; }
table.tensor td { font-variant-numeric: tabular-nums; }
details { margin: .35rem 0; }
details > summary { cursor: pointer; color: var(--accent); font-size: .88rem; }
.meta { font-size: .85rem; color: var(--muted); margin: .5rem 0 .2rem; }
.meta a { color: var(--accent); }
.receipt dd { font-family: ui-monospace, Menlo, monospace; font-size: .82rem; }
.edit-form { display: grid; grid-template-columns: repeat(auto-fill, minmax(9rem, 1fr)); gap: .5rem .8rem; background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: .6rem; margin-top: .4rem; }
.edit-form .wide { grid-column: 1 / -1; }
.edit-form input { width: 100%; }
.live { color: var(--run-fg); font-size: .85rem; }
.error-box { background: var(--bad-bg); color: var(--bad-fg); border-radius: 6px; padding: .4rem .6rem; font-size: .9rem; overflow-wrap: anywhere; }

/* new run */
.new-grid { display: grid; grid-template-columns: minmax(0, 1.25fr) minmax(0, 1fr); gap: 1.25rem; }
textarea.code { width: 100%; min-height: 26rem; tab-size: 2; line-height: 1.35; }
.outline { list-style: none; padding: 0; margin: .5rem 0; }
.outline > li { border: 1px solid var(--line); border-radius: 6px; padding: .35rem .6rem; margin-bottom: .35rem; }
.outline > li.has-errors { border-color: #d77; background: #fff7f7; }
.outline ul { margin: .25rem 0 0 1rem; padding: 0; color: var(--bad-fg); font-size: .88rem; }
.valid-ok { color: var(--ok-fg); font-weight: 600; }
.valid-bad { color: var(--bad-fg); font-weight: 600; }
.inputs-form .field { margin-bottom: .7rem; }
.inputs-form input[type=text], .inputs-form input[type=number] { width: 100%; }
.preview img { max-width: 128px; max-height: 128px; image-rendering: pixelated; border: 1px solid var(--line); margin-top: .3rem; }

/* compare */
table.compare { width: 100%; border-collapse: collapse; table-layout: fixed; }
table.compare th, table.compare td { border: 1px solid var(--line); padding: .45rem .6rem; vertical-align: top; text-align: left; overflow-wrap: anywhere; }
table.compare thead th { background: var(--panel); }
table.compare th[scope=row] { width: 11rem; background: var(--panel); font-weight: 600; }
table.compare td.diff { background: #fff8e1; }
.settings { list-style: none; margin: 0; padding: 0; font-family: ui-monospace, Menlo, monospace; font-size: .82rem; }
.settings mark { background: #ffe08a; color: #111; }
.diff-mark { font-size: .75rem; color: #7a4a00; font-weight: 600; }
.table-wrap { overflow-x: auto; }
h1 code { overflow-wrap: anywhere; }
@media (max-width: 820px) {
  .cell-body, .new-grid, .run-head { grid-template-columns: 1fr; }
  .run-head > .row { justify-content: flex-start !important; }
  table.runs .opt { display: none; }
  header.site { flex-wrap: wrap; gap: .5rem 1.5rem; }
  .cell-body > section + section { border-left: 0; border-top: 1px solid var(--line); }
}
`;
