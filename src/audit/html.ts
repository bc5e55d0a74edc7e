/**
 * The audit as one self-contained HTML file: inline CSS and script, no network at view time.
 * Totals by action and the two charts (findings per rule, per namespace) are rendered here as
 * HTML and SVG; the workload table is drawn by the inline script from the report embedded as
 * JSON, one page at a time, so that 5,000 workloads open as fast as 50.
 *
 * Everything from the cluster is sanitised (controls escaped visibly, shortened) before it is
 * embedded; server-side text is HTML-escaped, the script only ever sets textContent, and the
 * embedded JSON has `<` escaped so that no name can close its script element.
 */
import type { ReportAction } from '../engine/types.js'
import { safeText } from '../text/sanitize.js'
import { version } from '../version.js'
import type { AuditReport } from './audit.js'
import { byCodeUnits } from '../text/order.js'

const MAX_NAME = 120
const MAX_TEXT = 600
/** Bars in each chart; the rest are summed in one "other" bar. */
const MAX_BARS = 25

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&#39;'))
}

/** Text from the cluster, safe for the page: controls escaped visibly, shortened, then HTML-escaped. */
function h(s: string, max = MAX_NAME): string {
  return escapeHtml(safeText(s, max))
}

interface Bar {
  label: string
  deny: number
  warn: number
  info: number
}

function chart(id: string, title: string, bars: Bar[]): string {
  bars.sort((a, b) => b.deny - a.deny || b.warn - a.warn || b.info - a.info || byCodeUnits(a.label, b.label))
  let shown = bars
  if (bars.length > MAX_BARS) {
    const rest = bars.slice(MAX_BARS - 1)
    const other: Bar = { label: `${rest.length} more`, deny: 0, warn: 0, info: 0 }
    for (const b of rest) {
      other.deny += b.deny
      other.warn += b.warn
      other.info += b.info
    }
    shown = [...bars.slice(0, MAX_BARS - 1), other]
  }
  const max = Math.max(1, ...shown.map((b) => b.deny + b.warn + b.info))
  const rowH = 20
  const labelW = 260
  const barW = 420
  const height = Math.max(1, shown.length) * rowH + 4
  const rows = shown.map((b, i) => {
    const y = i * rowH + 2
    let x = labelW
    const segs: string[] = []
    for (const action of ['deny', 'warn', 'info'] as const) {
      const w = (b[action] / max) * barW
      if (w > 0) segs.push(`<rect class="${action}" x="${x.toFixed(1)}" y="${y}" width="${Math.max(w, 1).toFixed(1)}" height="${rowH - 6}"><title>${b[action]} ${action}</title></rect>`)
      x += w
    }
    const total = b.deny + b.warn + b.info
    return `<g class="bar" data-label="${h(b.label)}" data-total="${total}"><text x="${labelW - 6}" y="${y + rowH - 9}" text-anchor="end">${h(b.label, 40)}</text>${segs.join('')}<text x="${(x + 4).toFixed(1)}" y="${y + rowH - 9}">${total}</text></g>`
  })
  const body = shown.length === 0 ? '<p class="empty">No findings.</p>' : `<svg id="${id}" role="img" aria-label="${escapeHtml(title)}" viewBox="0 0 ${labelW + barW + 60} ${height}" width="100%">${rows.join('')}</svg>`
  return `<section class="chart"><h2>${escapeHtml(title)}</h2>${body}</section>`
}

/** The compact data the table script reads: short keys, sanitised text. */
function tableData(report: AuditReport): unknown[] {
  return report.workloads.map((w) => {
    const counts: Record<ReportAction, number> = { deny: 0, warn: 0, info: 0 }
    for (const f of w.findings) counts[f.action]++
    return {
      k: w.object.kind,
      ns: safeText(w.object.namespace ?? '', MAX_NAME),
      n: safeText(w.object.name, MAX_NAME),
      ...(w.owner !== undefined ? { o: safeText(`${w.owner.kind} ${w.owner.name}`, MAX_NAME) } : {}),
      d: counts.deny,
      w: counts.warn,
      i: counts.info,
      p: w.pods.total,
      fp: w.pods.failing,
      f: w.findings.map((f) => ({ r: f.rule, a: f.action, p: safeText(f.path, MAX_TEXT), m: safeText(f.message, MAX_TEXT), x: safeText(f.fix, MAX_TEXT) })),
      fl: w.failures.map((f) => ({ c: f.cause, t: safeText(f.text, MAX_TEXT), s: safeText(f.summary, MAX_TEXT) })),
      pods: w.failingPods.map((p) => ({
        n: safeText(p.name, MAX_NAME),
        s: safeText(p.status, 40),
        d: p.diagnoses.map((d) => ({ c: d.cause, ct: d.container !== undefined ? safeText(d.container, MAX_NAME) : '', s: safeText(d.summary, MAX_TEXT), nx: d.next.slice(0, 3).map((x) => safeText(x, MAX_TEXT)) })),
      })),
    }
  })
}

/** JSON that can sit inside a script element: `<` (and the line separators) escaped. */
function embedJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029')
}

const CSS = `
:root{--deny:#c62828;--warn:#ef8f00;--info:#1e6fc8;--ok:#2e7d32;--bg:#fafafa;--fg:#1d1d1f;--muted:#666;--line:#ddd}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{padding:16px 24px;background:#fff;border-bottom:1px solid var(--line)}h1{margin:0 0 4px;font-size:20px}
.meta{color:var(--muted);font-size:12px}main{padding:16px 24px;max-width:1400px}
.totals{display:flex;flex-wrap:wrap;gap:12px;margin-bottom:16px}.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:10px 16px;min-width:140px}
.card .n{font-size:26px;font-weight:600}.card .l{color:var(--muted);font-size:12px}.card.deny .n{color:var(--deny)}.card.warn .n{color:var(--warn)}.card.info .n{color:var(--info)}.card.clean .n{color:var(--ok)}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:16px}.chart{background:#fff;border:1px solid var(--line);border-radius:8px;padding:8px 16px}
.chart h2{font-size:15px;margin:6px 0}svg text{font-size:11px;fill:var(--fg)}rect.deny{fill:var(--deny)}rect.warn{fill:var(--warn)}rect.info{fill:var(--info)}
.controls{display:flex;gap:8px;align-items:center;margin:16px 0 8px;flex-wrap:wrap}input,select,button{font:inherit;padding:4px 8px}
table{width:100%;border-collapse:collapse;background:#fff;border:1px solid var(--line)}th,td{padding:6px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{cursor:pointer;user-select:none;background:#f0f0f0;white-space:nowrap}th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
td.num{text-align:right;font-variant-numeric:tabular-nums}tr.workload{cursor:pointer}tr.workload:hover{background:#f6f9ff}
.pill{display:inline-block;border-radius:4px;padding:0 6px;color:#fff;font-size:12px;font-weight:600}.pill.deny{background:var(--deny)}.pill.warn{background:var(--warn)}.pill.info{background:var(--info)}.pill.fail{background:#6a1b9a}
.detail td{background:#fcfcfc}.finding{margin:4px 0 10px}.finding code,.path{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;word-break:break-all}
.fix{color:var(--ok)}.muted{color:var(--muted)}.pager{margin:8px 0;display:flex;gap:8px;align-items:center}.empty{color:var(--muted)}
`

const SCRIPT = `
(function(){
'use strict';
var data=JSON.parse(document.getElementById('audit-data').textContent);
var rows=data.workloads, view=rows.slice(), page=0, size=50, sortKey='d', sortDir=-1, open={};
var tbody=document.querySelector('#workloads tbody');
function el(tag,cls,text){var e=document.createElement(tag);if(cls)e.className=cls;if(text!==undefined)e.textContent=String(text);return e;}
function cmp(a,b){var x=a[sortKey],y=b[sortKey];if(typeof x==='number'&&typeof y==='number'){if(x!==y)return (x-y)*sortDir;}else{x=String(x);y=String(y);if(x<y)return -sortDir;if(x>y)return sortDir;}
 return (b.d-a.d)||(b.w-a.w)||(a.ns<b.ns?-1:a.ns>b.ns?1:0)||(a.n<b.n?-1:a.n>b.n?1:0);}
function apply(){var q=document.getElementById('filter').value.toLowerCase(),act=document.getElementById('action').value;
 view=rows.filter(function(r){if(act==='deny'&&!r.d)return false;if(act==='warn'&&!r.w)return false;if(act==='failing'&&!r.fp)return false;if(act==='clean'&&(r.d||r.w||r.i))return false;
  if(!q)return true;return (r.ns+'/'+r.n+' '+r.k).toLowerCase().indexOf(q)>=0||r.f.some(function(f){return f.r.indexOf(q)>=0;});});
 view.sort(cmp);page=Math.min(page,Math.max(0,Math.ceil(view.length/size)-1));draw();}
function detail(r){var td=el('td');td.colSpan=8;
 r.fl.forEach(function(f){var d=el('div','finding');d.appendChild(el('span','pill fail','FAILING'));d.appendChild(document.createTextNode(' '+f.t));d.appendChild(el('div','muted',f.s));td.appendChild(d);});
 r.f.forEach(function(f){var d=el('div','finding');d.appendChild(el('span','pill '+f.a,f.a.toUpperCase()));d.appendChild(document.createTextNode(' '));d.appendChild(el('strong','',f.r));
  d.appendChild(el('div','path',f.p));d.appendChild(el('div','',f.m));d.appendChild(el('div','fix','fix: '+f.x));td.appendChild(d);});
 if(r.pods.length){td.appendChild(el('h4','','Failing pods'));r.pods.forEach(function(p){var d=el('div','finding');d.appendChild(el('code','',p.n+' ('+p.s+')'));
  p.d.forEach(function(x){var l=el('div','');l.appendChild(el('strong','',x.c+(x.ct?' ['+x.ct+']':'')));l.appendChild(document.createTextNode(': '+x.s));d.appendChild(l);
   x.nx.forEach(function(n){d.appendChild(el('div','muted path',n));});});td.appendChild(d);});}
 if(!r.fl.length&&!r.f.length)td.appendChild(el('div','muted','No findings and no failing pods.'));
 var tr=el('tr','detail');tr.appendChild(td);return tr;}
function draw(){tbody.textContent='';var start=page*size,end=Math.min(view.length,start+size);
 for(var i=start;i<end;i++){(function(r){var tr=el('tr','workload');var key=r.k+'/'+r.ns+'/'+r.n;tr.dataset.key=key;
  tr.appendChild(el('td','',r.k));tr.appendChild(el('td','',r.ns));var name=el('td','',r.n);if(r.o)name.appendChild(el('div','muted','for the pods of '+r.o));tr.appendChild(name);
  tr.appendChild(el('td','num deny',r.d));tr.appendChild(el('td','num warn',r.w));tr.appendChild(el('td','num info',r.i));tr.appendChild(el('td','num',r.p));tr.appendChild(el('td','num failing',r.fp));
  tr.addEventListener('click',function(){open[key]=!open[key];draw();});tbody.appendChild(tr);if(open[key])tbody.appendChild(detail(r));})(view[i]);}
 document.getElementById('shown').textContent=view.length?('Showing '+(start+1)+'\\u2013'+end+' of '+view.length):'No workload matches';
 document.getElementById('prev').disabled=page===0;document.getElementById('next').disabled=end>=view.length;
 document.querySelectorAll('#workloads th').forEach(function(th){th.setAttribute('aria-sort',th.dataset.key===sortKey?(sortDir>0?'ascending':'descending'):'none');});}
document.querySelectorAll('#workloads th').forEach(function(th){th.addEventListener('click',function(){var k=th.dataset.key;if(sortKey===k)sortDir=-sortDir;else{sortKey=k;sortDir=(k==='k'||k==='ns'||k==='n')?1:-1;}page=0;apply();});});
document.getElementById('filter').addEventListener('input',function(){page=0;apply();});
document.getElementById('action').addEventListener('change',function(){page=0;apply();});
document.getElementById('prev').addEventListener('click',function(){if(page>0){page--;draw();}});
document.getElementById('next').addEventListener('click',function(){if((page+1)*size<view.length){page++;draw();}});
apply();document.body.dataset.readyMs=String(Math.round(performance.now()));document.body.dataset.ready='true';
})();
`

export function formatAuditHtml(report: AuditReport): string {
  const s = report.summary
  const card = (cls: string, id: string, n: number, label: string): string =>
    `<div class="card ${cls}"><div class="n" data-testid="${id}">${n}</div><div class="l">${escapeHtml(label)}</div></div>`
  const ruleBars: Bar[] = Object.entries(s.byRule).map(([label, c]) => ({ label, ...c }))
  const nsBars: Bar[] = Object.entries(s.byNamespace)
    .filter(([, c]) => c.deny + c.warn + c.info > 0)
    .map(([label, c]) => ({ label, deny: c.deny, warn: c.warn, info: c.info }))
  const notes = [...report.errors.map((e) => `<li class="error">${h(e, MAX_TEXT)}</li>`), ...report.notes.map((n) => `<li>${h(n, MAX_TEXT)}</li>`)]
  const scope = report.namespaces !== undefined ? `namespaces ${report.namespaces.map((n) => h(n)).join(', ')}` : 'all namespaces'
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>pod-preflight audit: ${s.workloads} workloads</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>pod-preflight audit</h1>
<div class="meta">${h(report.source)} · ${scope} · policy ${h(report.policy)} · ${escapeHtml(report.generatedAt)} · pod-preflight ${escapeHtml(version)}</div>
</header>
<main>
<section class="totals" aria-label="Totals">
${card('', 'total-workloads', s.workloads, `workloads in ${s.namespaces} namespaces`)}
${card('deny', 'workloads-deny', s.workloadsBy.deny, 'would be denied')}
${card('warn', 'workloads-warn', s.workloadsBy.warn, 'warned (nothing denied)')}
${card('info', 'workloads-info', s.workloadsBy.info, 'info only')}
${card('clean', 'workloads-clean', s.workloadsBy.clean, 'clean')}
${card('deny', 'findings-deny', s.findings.deny, 'deny findings')}
${card('warn', 'findings-warn', s.findings.warn, 'warn findings')}
${card('info', 'findings-info', s.findings.info, 'info findings')}
${card('deny', 'failing-pods', s.failingPods, `of ${s.pods} pods failing now`)}
${card('', 'predicted', s.predictedFailures, 'failures a rule predicted')}
</section>
${notes.length > 0 ? `<section class="notes"><ul>${notes.join('')}</ul></section>` : ''}
<div class="charts">
${chart('chart-rules', 'Findings per rule', ruleBars)}
${chart('chart-namespaces', 'Findings per namespace', nsBars)}
</div>
<div class="controls">
<input id="filter" type="search" placeholder="Filter: namespace/name, kind or rule" aria-label="Filter workloads" size="36">
<select id="action" aria-label="Show"><option value="all">all workloads</option><option value="deny">with deny findings</option><option value="warn">with warn findings</option><option value="failing">with failing pods</option><option value="clean">clean</option></select>
<span id="shown" data-testid="shown"></span>
</div>
<table id="workloads">
<thead><tr><th data-key="k">Kind</th><th data-key="ns">Namespace</th><th data-key="n">Name</th><th data-key="d">Deny</th><th data-key="w">Warn</th><th data-key="i">Info</th><th data-key="p">Pods</th><th data-key="fp">Failing</th></tr></thead>
<tbody></tbody>
</table>
<div class="pager"><button id="prev" type="button">Previous</button><button id="next" type="button">Next</button><span class="muted">Click a row for its findings, fixes and failing pods; click a heading to sort.</span></div>
</main>
<script type="application/json" id="audit-data">${embedJson({ workloads: tableData(report) })}</script>
<script>${SCRIPT}</script>
</body>
</html>
`
}
