"""One self-contained HTML file: heatmap by workload, graph of allowed flows,
namespace and port filters, lint findings, and an explanation for any cell.
No network access is needed to open it: styles, script and data are inline."""

from __future__ import annotations

import html
import json
import math
from typing import Any

from netfence.analysis.report import ReportData
from netfence.render.explain import explain_decision
from netfence.render.terminal import safe_text

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

SCRIPT = """
const D=JSON.parse(document.getElementById('data').textContent);
const nsSel=document.getElementById('ns'),portSel=document.getElementById('port');
function state(ports,port){const ps=port?ports.filter(p=>p.port===port):ports;
 const a=ps.reduce((s,p)=>s+p.allowed,0),t=ps.reduce((s,p)=>s+p.total,0);
 if(!t)return ps.some(p=>p.loopback)?'loopback':'none';
 return a===t?'all':(a===0?'no':'some');}
function line(p){const own=p.loopback?' ('+p.loopback+' of a pod to itself: always allowed, not counted)':'';
 return p.port+': '+(p.total?p.allowed+' of '+p.total+' connections between distinct pods allowed':
  'only pods reaching themselves')+own+'\\n'+p.explain;}
function draw(){const ns=nsSel.value,port=portSel.value;
 const idx=D.groups.map((g,i)=>i).filter(i=>!ns||D.groups[i].namespace===ns);
 const t=document.getElementById('matrix');t.innerHTML='';
 const head=t.insertRow();head.appendChild(document.createElement('th')).textContent='from \\\\ to';
 idx.forEach(j=>{const th=document.createElement('th');th.className='col';th.textContent=D.groups[j].name;head.appendChild(th);});
 idx.forEach(i=>{const r=t.insertRow();const th=document.createElement('th');th.textContent=D.groups[i].name;r.appendChild(th);
  idx.forEach(j=>{const c=r.insertCell();const ports=D.cells[i+','+j]||[];const s=state(ports,port);
   c.className='cell';c.dataset.from=D.groups[i].name;c.dataset.to=D.groups[j].name;c.dataset.state=s;
   c.textContent={all:'✓',no:'✗',some:'~',none:'·',loopback:'↺'}[s];
   c.onclick=()=>{document.querySelectorAll('td.picked').forEach(x=>x.classList.remove('picked'));c.classList.add('picked');
    const shown=port?ports.filter(p=>p.port===port):ports;
    document.getElementById('explain').textContent=D.groups[i].name+' -> '+D.groups[j].name+'\\n\\n'+
     (shown.map(line).join('\\n\\n')||'nothing to probe');};});});}
nsSel.onchange=draw;portSel.onchange=draw;draw();
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
    text = json.dumps(value, ensure_ascii=True)
    return "".join(_SCRIPT_UNSAFE.get(c, c) for c in text)


def _data(data: ReportData) -> dict[str, Any]:
    """What the page's script draws; the same visible text as the HTML around it."""
    return {
        "groups": [
            {"name": safe_text(g.key), "namespace": safe_text(g.namespace)} for g in data.groups
        ],
        "cells": {
            f"{i},{j}": [
                {
                    "port": safe_text(p.port),
                    "allowed": p.allowed,
                    "total": p.total,
                    "loopback": p.loopback,
                    "explain": safe_text("\n".join(explain_decision(p.example))),
                }
                for p in ports
            ]
            for (i, j), ports in data.cells.items()
            if ports
        },
    }


def _graph(data: ReportData) -> str:
    """Workloads on a circle, an arrow per allowed flow (any port)."""
    n = max(len(data.groups), 1)
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
    for (i, j), ports in sorted(data.cells.items()):
        if i != j and any(p.allowed for p in ports):  # loopback is no flow
            (x1, y1), (x2, y2) = points[i], points[j]
            parts.append(f'<line class="flow" x1="{x1:.0f}" y1="{y1:.0f}" x2="{x2:.0f}" y2="{y2:.0f}" '
                         f'stroke="#2e9d4c" stroke-opacity="0.45" marker-end="url(#a)"/>')  # fmt: skip
    for (x, y), group in zip(points, data.groups, strict=False):
        parts.append(f'<circle cx="{x:.0f}" cy="{y:.0f}" r="6" fill="#333"/>')
        parts.append(
            f'<text x="{x:.0f}" y="{y - 10:.0f}" font-size="11" text-anchor="middle">{_h(group.key)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _findings(data: ReportData) -> str:
    if not data.findings:
        return "<p>No findings.</p>"
    rows = [
        f'<tr><td class="sev-{_h(f.severity.value)}">{_h(f.check.id)} {_h(f.severity.value)}</td>'
        f"<td>{_h(f.location())}</td><td>{_h(f.message)}</td></tr>"
        for f in data.findings
    ]
    return f'<table class="findings">{"".join(rows)}</table>'


def report_html(data: ReportData, title: str = "netfence report") -> str:
    namespaces = sorted({g.namespace for g in data.groups})
    ports = sorted({p.port for cell in data.cells.values() for p in cell})
    ns_options = "".join(f'<option value="{_h(n)}">{_h(n)}</option>' for n in namespaces)
    port_options = "".join(f'<option value="{_h(p)}">{_h(p)}</option>' for p in ports)
    payload = script_json(_data(data))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{_h(title)}</title><style>{STYLE}</style></head>
<body>
<h1>{_h(title)}</h1>
<p>{len(data.groups)} workloads. Each cell: can the row's pods reach the column's pods on the ports they declare?
✓ all allowed, ✗ none, ~ some, · nothing to probe, ↺ only pods reaching themselves.
Counted: connections between distinct pods; a pod reaching itself is always allowed (loopback)
and not counted. Click a cell for its explanation.</p>
<label>namespace <select id="ns"><option value="">all</option>{ns_options}</select></label>
<label>port <select id="port"><option value="">any declared port</option>{port_options}</select></label>
<h2>Connectivity by workload</h2>
<table class="matrix" id="matrix"></table>
<h2>Explanation</h2>
<pre id="explain">Click a cell.</pre>
<h2>Allowed flows</h2>
{_graph(data)}
<h2>Lint findings ({len(data.findings)})</h2>
{_findings(data)}
<script type="application/json" id="data">{payload}</script>
<script>{SCRIPT}</script>
</body></html>
"""
