"""One self-contained HTML file: heatmap by workload, graph of allowed flows,
namespace and port filters, lint findings, and an explanation for any cell; or,
when the data is aggregated, a namespace heatmap whose cells open the workload
cells of the pair when they are embedded (docs/report.md). No network access is
needed to open it: styles, script and data are inline."""

from __future__ import annotations

import html
import json
import math
from typing import Any

from netfence.analysis.report import MAX_WORKLOADS, Aggregated, PortCell, ReportData
from netfence.model.completeness import Completeness
from netfence.render.completeness import PARTIAL_STYLE, may_also_be_decided_by, partial_html
from netfence.render.explain import explain_decision
from netfence.render.terminal import safe_text

MAX_FINDINGS = 500  # rows of the findings table; the rest is counted
MAX_GRAPH_NODES = 80  # namespaces on the graph's circle, at most

STYLE = """
body{font:14px system-ui,sans-serif;margin:24px;color:#222}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table.matrix{border-collapse:collapse}
.matrix th,.matrix td{border:1px solid #ddd;padding:2px 6px;font-size:12px}
.matrix th.col{writing-mode:vertical-rl;transform:rotate(180deg);max-height:220px}
td.cell{width:28px;text-align:center;cursor:pointer}
td[data-state=all]{background:#2e9d4c;color:#fff}td[data-state=no]{background:#c8312f;color:#fff}
td[data-state=some]{background:#e7a33e}td[data-state=none]{background:#f3f3f3;color:#999}
td[data-state=loopback]{background:#dfe8df;color:#555}
td.cell.picked{outline:3px solid #222}
#explain{background:#f6f6f6;padding:10px;white-space:pre-wrap;font:12px monospace;min-height:40px}
.findings td{padding:2px 8px;font-size:12px;border-bottom:1px solid #eee}
.sev-error{color:#c8312f;font-weight:bold}.sev-warning{color:#b26b00}.sev-notice{color:#555}
"""

COMMON = """
const D=JSON.parse(document.getElementById('data').textContent);
const SYM={all:'✓',no:'✗',some:'~',none:'·',loopback:'↺'};
function stateOf(a,t,l){if(!t)return l?'loopback':'none';return a===t?'all':(a===0?'no':'some');}
function state(ports,port){const ps=port?ports.filter(p=>p.port===port):ports;
 return stateOf(ps.reduce((s,p)=>s+p.allowed,0),ps.reduce((s,p)=>s+p.total,0),ps.reduce((s,p)=>s+p.loopback,0));}
function counted(a,t,l){const own=l?' ('+l+' of a pod to itself: always allowed, not counted)':'';
 return (t?a+' of '+t+' connections between distinct pods allowed':'only pods reaching themselves')+own;}
function line(p,from,to){return p.port+': '+counted(p.allowed,p.total,p.loopback)+'\\n'+(p.explain||
 'not embedded (the page explains at most '+D.limits.explained+' workload cells): run netfence check '+
 from+' '+to+' --port '+p.port.split('/')[0]+' --protocol '+p.port.split('/')[1]+' with your input options')+
 (p.other?'\\n\\nand a pair of the other verdict:\\n'+p.other:'');}
function pick(c){document.querySelectorAll('td.picked').forEach(x=>x.classList.remove('picked'));c.classList.add('picked');}
function grid(t,rows,cols,cellsOf,port,explain){t.innerHTML='';
 const head=t.insertRow();head.appendChild(document.createElement('th')).textContent='from \\\\ to';
 cols.forEach(n=>{const th=document.createElement('th');th.className='col';th.textContent=n;head.appendChild(th);});
 rows.forEach((rn,i)=>{const r=t.insertRow();const th=document.createElement('th');th.textContent=rn;r.appendChild(th);
  cols.forEach((cn,j)=>{const c=r.insertCell();const ports=cellsOf(i,j);const s=state(ports,port);
   c.className='cell';c.dataset.from=rn;c.dataset.to=cn;c.dataset.state=s;c.textContent=SYM[s];
   c.onclick=()=>{pick(c);const shown=port?ports.filter(p=>p.port===port):ports;
    explain.textContent=rn+' -> '+cn+'\\n\\n'+(shown.map(p=>line(p,rn,cn)).join('\\n\\n')||'nothing to probe');};});});}
"""

SCRIPT = """
const nsSel=document.getElementById('ns'),portSel=document.getElementById('port');
function draw(){const ns=nsSel.value;
 const idx=D.groups.map((g,i)=>i).filter(i=>!ns||D.groups[i].namespace===ns);const names=idx.map(i=>D.groups[i].name);
 grid(document.getElementById('matrix'),names,names,(a,b)=>D.cells[idx[a]+','+idx[b]]||[],portSel.value,
  document.getElementById('explain'));}
nsSel.onchange=draw;portSel.onchange=draw;draw();
"""

AGGREGATED_SCRIPT = """
const names=D.ns.map(n=>n.name);
const P=x=>({port:x[0],allowed:x[1],total:x[2],loopback:x[3],explain:x[4],other:x[5]});
function drawPair(i,j){const key=i+','+j,d=D.drill[key],t=document.getElementById('matrix'),
 p=document.getElementById('pair');t.innerHTML='';
 if(!d){const c=D.counts[key];p.textContent=names[i]+' -> '+names[j]+': '+(c?'its '+D.ns[i].workloads+' × '+
  D.ns[j].workloads+' workload cells are not embedded (this page embeds at most '+D.limits.pair+
  ' for a pair and '+D.limits.cells+' in all). For this pair alone run: netfence report -o FILE '+
  '--namespace-filter '+names[i]+(i===j?'':' --namespace-filter '+names[j])+' with your input options.':'nothing to probe.');return;}
 p.textContent=names[i]+' -> '+names[j]+': its workloads (rows: '+names[i]+', columns: '+names[j]+')';
 grid(t,d.from,d.to,(a,b)=>(d.cells[a+','+b]||[]).map(P),'',document.getElementById('explain'));}
const esc=x=>String(x).replace(/[&<>"]/g,c=>({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'})[c]);
function nsClick(e){const c=e.target.closest('td.cell');if(!c)return;
 const i=c.parentElement.rowIndex-1,j=c.cellIndex-1,v=D.counts[i+','+j]||[0,0,0];
 pick(c);document.getElementById('explain').textContent=names[i]+' -> '+names[j]+' (namespaces)\\n\\n'+
  counted(v[0],v[1],v[2])+'\\nClick a workload cell below for its explanation.';drawPair(i,j);}
function drawNs(){const t=document.getElementById('nsmatrix'),h=['<tr><th>from \\\\ to</th>'];
 // one string and one click handler for the whole table: a namespace grid can hold 40,000 cells
 names.forEach(n=>h.push('<th class="col">'+esc(n)+'</th>'));h.push('</tr>');
 names.forEach((rn,i)=>{const r=esc(rn);h.push('<tr><th>'+r+'</th>');
  names.forEach((cn,j)=>{const v=D.counts[i+','+j]||[0,0,0],s=stateOf(v[0],v[1],v[2]);
   h.push('<td class="cell" data-from="'+r+'" data-to="'+esc(cn)+'" data-state="'+s+'" data-embedded="'+
    ((i+','+j) in D.drill?'yes':'no')+'">'+SYM[s]+'</td>');});h.push('</tr>');});
 t.innerHTML=h.join('');t.onclick=nsClick;}
drawNs();
const h=/^#pair=(\\d+),(\\d+)$/.exec(location.hash);  // a link to one pair: report.html#pair=3,4
if(h&&names[+h[1]]!==undefined&&names[+h[2]]!==undefined)
 document.querySelector('#nsmatrix').rows[+h[1]+1].cells[+h[2]+1].click();
"""


def _h(text: object) -> str:
    """Any value as HTML text or a quoted attribute value: escaped, and with control
    characters and lone surrogates shown as escapes (so the page is valid UTF-8)."""
    return html.escape(safe_text(str(text)), quote=True)


# In a <script> element "</script" ends it and "<!--" can stop a later "</script>"
# from ending it; U+2028 and U+2029 end a line in old JavaScript. JSON can say
# each of these characters as a \u escape, so the page never holds them raw.
_SCRIPT_UNSAFE = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def script_json(value: Any) -> str:
    """``value`` as JSON that can be put inside a <script> element as it is."""
    text = json.dumps(value, ensure_ascii=True, check_circular=False)  # data: no cycles
    for unsafe, escaped in _SCRIPT_UNSAFE.items():  # a few passes in C, not one per character
        text = text.replace(unsafe, escaped)
    return text


def _port_cells(ports: tuple[PortCell, ...], also: str = "") -> list[dict[str, Any]]:
    """``also``: the lines naming policies of other kinds that may decide the cell too."""
    return [
        {
            "port": safe_text(p.port),
            "allowed": p.allowed,
            "total": p.total,
            "loopback": p.loopback,
            **(
                {"explain": safe_text("\n".join(explain_decision(p.example)) + also)}
                if p.example is not None
                else {}
            ),
            **(
                {"other": safe_text("\n".join(explain_decision(p.other)))}
                if p.other is not None
                else {}
            ),
        }
        for p in ports
    ]


def _compact(
    ports: tuple[PortCell, ...], port_text: dict[str, str] | None = None
) -> list[list[Any]]:
    """Port cells as [port, allowed, total, loopback, explanation?, other?]: an
    aggregated page embeds tens of thousands of them (the fields of
    ``_port_cells``, built as lists directly). ``port_text`` keeps the safe text of
    the ports seen (a page has few distinct ones)."""
    texts = {} if port_text is None else port_text
    out: list[list[Any]] = []
    for p in ports:
        port = texts.get(p.port)
        if port is None:
            port = texts[p.port] = safe_text(p.port)
        row: list[Any] = [port, p.allowed, p.total, p.loopback]
        if p.example is not None:
            row.append(safe_text("\n".join(explain_decision(p.example))))
        if p.other is not None:
            row.append(safe_text("\n".join(explain_decision(p.other))))
        out.append(row)
    return out


def _data(data: ReportData, completeness: Completeness | None = None) -> dict[str, Any]:
    """What the page's script draws; the same visible text as the HTML around it. A
    cell that policies of other kinds may also decide names them in its explanation."""

    def also(i: int, j: int) -> str:
        if completeness is None or not completeness.policies:
            return ""
        pair = (data.groups[i].namespace, data.groups[j].namespace)
        lines = may_also_be_decided_by(completeness.affecting(pair))
        return "".join(f"\n{line}" for line in lines)

    return {
        "groups": [
            {"name": safe_text(g.key), "namespace": safe_text(g.namespace)} for g in data.groups
        ],
        "cells": {
            f"{i},{j}": _port_cells(ports, also(i, j))
            for (i, j), ports in data.cells.items()
            if ports
        },
    }


def _aggregated_data(agg: Aggregated) -> dict[str, Any]:
    port_text: dict[str, str] = {}
    return {
        "ns": [
            {"name": safe_text(n), "pods": pods, "workloads": len(ws)}
            for n, pods, ws in zip(agg.namespaces, agg.pods, agg.workloads, strict=True)
        ],
        "counts": {
            f"{i},{j}": [c.allowed, c.total, c.loopback] for (i, j), c in agg.counts.items()
        },
        "drill": {
            f"{i},{j}": {
                "from": [safe_text(g.key) for g in agg.workloads[i]],
                "to": [safe_text(g.key) for g in agg.workloads[j]],
                "cells": {
                    f"{a},{b}": _compact(ports, port_text) for (a, b), ports in cells.items()
                },
            }
            for (i, j), cells in agg.drill.items()
        },
        "limits": {
            "pair": agg.pair_limit,
            "cells": agg.cell_limit,
            "explained": agg.explained_limit,
        },
    }


def _graph(names: list[str], flows: list[tuple[int, int]]) -> str:
    """Workloads (or namespaces) on a circle, an arrow per allowed flow (any port)."""
    n = max(len(names), 1)
    size, radius = 760, 250
    points = [
        (
            size / 2 + radius * math.cos(2 * math.pi * k / n),
            size / 2 + radius * math.sin(2 * math.pi * k / n),
        )
        for k in range(n)
    ]
    parts = [f'<svg id="graph" width="{size}" height="{size}" viewBox="0 0 {size} {size}" xmlns="http://www.w3.org/2000/svg">',
             '<defs><marker id="a" markerWidth="8" markerHeight="8" refX="8" refY="3" orient="auto">'
             '<path d="M0,0 L8,3 L0,6 z" fill="#2e9d4c"/></marker></defs>']  # fmt: skip
    for i, j in flows:
        (x1, y1), (x2, y2) = points[i], points[j]
        parts.append(f'<line class="flow" x1="{x1:.0f}" y1="{y1:.0f}" x2="{x2:.0f}" y2="{y2:.0f}" '
                     f'stroke="#2e9d4c" stroke-opacity="0.45" marker-end="url(#a)"/>')  # fmt: skip
    for (x, y), name in zip(points, names, strict=False):
        parts.append(f'<circle cx="{x:.0f}" cy="{y:.0f}" r="6" fill="#333"/>')
        parts.append(
            f'<text x="{x:.0f}" y="{y - 10:.0f}" font-size="11" text-anchor="middle">{_h(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _findings(data: ReportData) -> str:
    if not data.findings:
        return "<p>No findings.</p>"
    rows = [
        f'<tr><td class="sev-{_h(f.severity.value)}">{_h(f.check.id)} {_h(f.severity.value)}</td>'
        f"<td>{_h(f.location())}</td><td>{_h(f.message)}</td></tr>"
        for f in data.findings[:MAX_FINDINGS]
    ]
    more = len(data.findings) - MAX_FINDINGS
    tail = f"<p>and {more:,} more: run <code>netfence lint</code> for all.</p>" if more > 0 else ""
    return f'<table class="findings">{"".join(rows)}</table>{tail}'


COUNTED = """Counted: connections between distinct pods; a pod reaching itself is always allowed (loopback)
and not counted."""


def _shown(data: ReportData) -> str:
    if not data.namespaces:
        return ""
    names = ", ".join(_h(n) for n in data.namespaces)
    return (
        f"<p>Only namespaces {names} (--namespace-filter): "
        "the policies of every namespace still apply.</p>\n"
    )


def _page(
    title: str, body: str, payload: str, script: str, completeness: Completeness | None
) -> str:
    """The page around a body; a partial input shows as a banner under the title."""
    partial = completeness is not None and completeness.partial
    style = STYLE + PARTIAL_STYLE if partial else STYLE
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{_h(title)}</title><style>{style}</style></head>
<body>
<h1>{_h(title)}</h1>
{partial_html(completeness)}{body}
<script type="application/json" id="data">{payload}</script>
<script>{COMMON}{script}</script>
</body></html>
"""


def report_html(
    data: ReportData, title: str = "netfence report", completeness: Completeness | None = None
) -> str:
    if data.aggregated is not None:
        return _aggregated_html(data, data.aggregated, title, completeness)
    namespaces = sorted({g.namespace for g in data.groups})
    ports = sorted({p.port for cell in data.cells.values() for p in cell})
    ns_options = "".join(f'<option value="{_h(n)}">{_h(n)}</option>' for n in namespaces)
    port_options = "".join(f'<option value="{_h(p)}">{_h(p)}</option>' for p in ports)
    flows = [
        (i, j)
        for (i, j), cell in sorted(data.cells.items())
        if i != j and any(p.allowed for p in cell)  # loopback is no flow
    ]
    body = f"""{_shown(data)}<p>{len(data.groups)} workloads. Each cell: can the row's pods reach the column's pods on the ports they declare?
✓ all allowed, ✗ none, ~ some, · nothing to probe, ↺ only pods reaching themselves.
{COUNTED} Click a cell for its explanation.</p>
<label>namespace <select id="ns"><option value="">all</option>{ns_options}</select></label>
<label>port <select id="port"><option value="">any declared port</option>{port_options}</select></label>
<h2>Connectivity by workload</h2>
<table class="matrix" id="matrix"></table>
<h2>Explanation</h2>
<pre id="explain">Click a cell.</pre>
<h2>Allowed flows</h2>
{_graph([g.key for g in data.groups], flows)}
<h2>Lint findings ({len(data.findings)})</h2>
{_findings(data)}"""
    return _page(title, body, script_json(_data(data, completeness)), SCRIPT, completeness)


def _aggregated_html(
    data: ReportData, agg: Aggregated, title: str, completeness: Completeness | None
) -> str:
    workloads = sum(len(ws) for ws in agg.workloads)
    pairs = sum(1 for c in agg.counts.values() if c.total)
    if len(agg.namespaces) <= MAX_GRAPH_NODES:
        flows = [(i, j) for (i, j), c in sorted(agg.counts.items()) if i != j and c.allowed]
        graph = _graph(list(agg.namespaces), flows)
    else:
        graph = (
            f"<p>Not drawn: {len(agg.namespaces):,} namespaces are more than "
            f"{MAX_GRAPH_NODES} on one circle.</p>"
        )
    body = f"""{_shown(data)}<p class="aggregated"><strong>Aggregated by namespace.</strong> {workloads:,} workloads
({sum(agg.pods):,} pods) in {len(agg.namespaces):,} namespaces are more than the {MAX_WORKLOADS} this page
shows one by one, so each cell stands for every workload of its two namespaces: can the row namespace's
pods reach the column namespace's pods on the ports they declare? Counted by the whole-cluster analysis,
in IPv4. ✓ all allowed, ✗ none, ~ some, · nothing to probe, ↺ only pods reaching themselves.
{COUNTED}</p>
<p>Click a namespace cell for its counts and its workloads: the page embeds the workload cells of
{len(agg.drill):,} of the {pairs:,} namespace pairs with connections (pairs of at most {agg.pair_limit:,}
workload cells, {agg.cell_limit:,} in all: within a namespace first, then pairs with allowed connections).
For any other pair the page says which <code>netfence report --namespace-filter</code> run shows it.</p>
<h2>Connectivity by namespace</h2>
<table class="matrix" id="nsmatrix"></table>
<h2>Workloads of the chosen namespace pair</h2>
<p id="pair">Click a namespace cell.</p>
<table class="matrix" id="matrix"></table>
<h2>Explanation</h2>
<pre id="explain">Click a cell.</pre>
<h2>Allowed flows between namespaces</h2>
{graph}
<h2>Lint findings ({len(data.findings)})</h2>
{_findings(data)}"""
    payload = script_json(_aggregated_data(agg))
    return _page(title, body, payload, AGGREGATED_SCRIPT, completeness)
