// The Show Schedule webview: draws the Gantt chart the extension posts (src/core/scheduleData.ts).
// Plain browser JS on purpose: no framework to bundle, and nothing computed here that the CLI
// could disagree with; this file only turns minutes into pixels.
(function () {
  'use strict';

  const vscode = typeof acquireVsCodeApi === 'function' ? acquireVsCodeApi() : { postMessage() {}, getState() {}, setState() {} };
  const SVG = 'http://www.w3.org/2000/svg';
  const app = document.getElementById('app') || document.body.appendChild(document.createElement('main'));
  const maxWorkers = Number(app.dataset.maxWorkers) || 32;

  const LABEL_W = 84;
  const RIGHT_PAD = 24;
  const AXIS_H = 26;
  const ROW_H = 30;
  const BAR_H = 20;
  const LANE_H = 18;
  const MARKER_H = 36;
  const MIN_PLOT_W = 240;
  // Monospace-ish estimate of an ID's width at the bar font size; measuring every label would force a layout per bar.
  const CHAR_W = 7;

  let data = (vscode.getState() || {}).data;

  function el(tag, attrs, parent, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }

  function svg(tag, attrs, parent, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    if (parent) parent.appendChild(node);
    return node;
  }

  // The skeleton is built once so that the worker input keeps its focus and caret across redraws.
  const header = el('header', { class: 'toolbar' }, app);
  const title = el('h1', { class: 'title' }, header);
  const controls = el('div', { class: 'controls' }, header);
  el('label', { for: 'workers' }, controls, 'Workers');
  const minus = el('button', { type: 'button', class: 'step', title: 'One worker less', 'aria-label': 'One worker less' }, controls, '−');
  const input = el('input', { id: 'workers', type: 'number', min: 1, max: maxWorkers, step: 1, value: 3, 'aria-describedby': 'workers-hint' }, controls);
  const plus = el('button', { type: 'button', class: 'step', title: 'One worker more', 'aria-label': 'One worker more' }, controls, '+');
  el('span', { id: 'workers-hint', class: 'hint' }, controls, `1–${maxWorkers}`);
  const summary = el('section', { class: 'summary', 'aria-live': 'polite' }, app);
  const legend = el('div', { class: 'legend' }, app);
  const banner = el('p', { class: 'banner', role: 'status', hidden: '' }, app);
  const message = el('p', { class: 'message', role: 'alert', hidden: '' }, app);
  const chart = el('div', { class: 'chart' }, app);

  for (const [cls, text] of [
    ['task', 'task'],
    ['critical', 'critical path'],
    ['verify', 'VERIFY with estimate'],
    ['milestone', 'check / group (no worker)'],
    ['default', 'no estimate: default length'],
  ]) {
    const item = el('span', { class: 'legend-item' }, legend);
    el('span', { class: `swatch ${cls}` }, item);
    item.appendChild(document.createTextNode(text));
  }

  let pending;
  function requestWorkers(value) {
    const n = Math.min(maxWorkers, Math.max(1, Math.floor(Number(value))));
    if (!Number.isFinite(n)) return;
    input.value = String(n);
    input.classList.remove('invalid');
    clearTimeout(pending);
    // Typing "12" must not simulate 1 worker first.
    pending = setTimeout(() => vscode.postMessage({ type: 'setWorkers', workers: n }), 200);
  }
  input.addEventListener('input', () => {
    const v = Number(input.value);
    const ok = input.value !== '' && Number.isInteger(v) && v >= 1 && v <= maxWorkers;
    input.classList.toggle('invalid', !ok && input.value !== '');
    if (ok) requestWorkers(v);
  });
  input.addEventListener('change', () => requestWorkers(input.value || 1));
  minus.addEventListener('click', () => requestWorkers(Number(input.value || 1) - 1));
  plus.addEventListener('click', () => requestWorkers(Number(input.value || 1) + 1));

  function reveal(bar) {
    vscode.postMessage({ type: 'reveal', id: bar.id, line: bar.line });
  }

  function summaryLine(parent, parts) {
    const p = el('p', {}, parent);
    parts.forEach(([name, value, cls], i) => {
      if (i > 0) p.appendChild(document.createTextNode(' · '));
      // A narrow panel wraps between figures, never between a name and its value.
      const part = el('span', { class: 'part' }, p);
      el('span', { class: 'name' }, part, `${name} `);
      el('strong', { class: cls || '' }, part, value);
    });
  }

  function renderSummary(d, bars) {
    summary.replaceChildren();
    const s = d.summary;
    if (!s || bars === 0) return;
    summaryLine(summary, [
      ['Makespan', s.text.makespan],
      ['lower bound', s.text.lowerBound],
      ['one worker', s.text.totalWork],
      ['speedup', s.text.speedup, 'speedup'],
    ]);
    const second = [];
    if (s.text.batched !== null) {
      const gain = s.makespan > 0 && s.batchedMakespan > s.makespan ? ` (×${(s.batchedMakespan / s.makespan).toFixed(2)} slower)` : '';
      second.push(['one batch at a time (the old way)', `${s.text.batched}${gain}`]);
    }
    second.push(['utilisation', `${Math.round(s.utilisation * 100)}%`]);
    const guessed = (d.defaultEstimates || []).length;
    if (guessed) second.push(['without an estimate', `${guessed} × ${d.defaultMinutes || 60} min (default)`, 'default']);
    summaryLine(summary, second);
    const cp = el('p', { class: 'critical-path' }, summary);
    el('span', { class: 'name' }, cp, 'Critical path ');
    el('strong', {}, cp, s.text.criticalPath);
  }

  function render() {
    if (!data) return;
    title.textContent = data.title ? `Schedule: ${data.title}` : 'Schedule';
    if (document.activeElement !== input) input.value = String(data.workers);
    const bars = data.rows.reduce((n, r) => n + r.bars.length, 0);
    // Errors in the plan (an unknown dependency, a cycle broken up) make the chart a guess: say so first.
    const errors = data.planErrors || 0;
    banner.hidden = !errors || Boolean(data.error);
    banner.textContent = errors ? `⚠ The plan has ${errors} error${errors === 1 ? '' : 's'} (see the Problems panel): this schedule may not be what will run.` : '';
    renderSummary(data, bars);
    chart.replaceChildren();
    const text = data.error ? data.error : bars === 0 ? 'This plan has no tasks to schedule.' : '';
    message.hidden = !text;
    message.textContent = text;
    message.classList.toggle('error', Boolean(data.error));
    legend.hidden = Boolean(data.error) || bars === 0;
    if (data.error || bars === 0) return;
    drawChart(data);
  }

  function drawChart(d) {
    const width = Math.max(LABEL_W + MIN_PLOT_W + RIGHT_PAD, chart.clientWidth || document.documentElement.clientWidth - 32);
    const plotW = width - LABEL_W - RIGHT_PAD;
    const x = (m) => LABEL_W + (m / d.domain) * plotW;
    const rowHeights = d.rows.map((r) => Math.max(ROW_H, r.lanes * LANE_H + 10));
    const plotH = rowHeights.reduce((a, b) => a + b, 0);
    const height = AXIS_H + plotH + MARKER_H;
    const root = svg('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'group', 'aria-label': `Gantt chart on ${d.workers} workers` }, chart);

    const grid = svg('g', { class: 'grid' }, root);
    for (const t of d.ticks) {
      const tx = x(t.minutes);
      svg('line', { x1: tx, x2: tx, y1: AXIS_H - 4, y2: AXIS_H + plotH }, grid);
      svg('text', { x: tx, y: AXIS_H - 9, class: 'tick', 'text-anchor': 'middle' }, grid, t.label);
    }

    const rowsG = svg('g', { class: 'rows' }, root);
    const centers = new Map();
    let y = AXIS_H;
    d.rows.forEach((row, i) => {
      const h = rowHeights[i];
      svg('rect', { x: 0, y, width, height: h, class: i % 2 ? 'row odd' : 'row' }, rowsG);
      svg('text', { x: 8, y: y + h / 2, class: 'row-label', 'dominant-baseline': 'central' }, rowsG, row.label);
      for (const bar of row.bars) {
        const g = svg('g', { class: barClass(bar), tabindex: 0, role: 'button', 'aria-label': bar.tooltip.replace(/\n/g, ', ') }, rowsG);
        svg('title', {}, g, bar.tooltip);
        if (bar.milestone) {
          const cx = x(bar.start);
          const cy = row.lanes > 1 ? y + 5 + LANE_H / 2 + bar.lane * LANE_H : y + h / 2;
          const r = 6;
          svg('path', { d: `M${cx} ${cy - r}L${cx + r} ${cy}L${cx} ${cy + r}L${cx - r} ${cy}Z`, class: 'shape' }, g);
          const right = cx + r + 3 + bar.id.length * CHAR_W <= width;
          svg('text', { x: right ? cx + r + 3 : cx - r - 3, y: cy, class: 'milestone-label', 'dominant-baseline': 'central', 'text-anchor': right ? 'start' : 'end' }, g, bar.id);
        } else {
          const bx = x(bar.start);
          const bw = Math.max(2, x(bar.end) - bx - 1);
          const by = y + (h - BAR_H) / 2;
          svg('rect', { x: bx, y: by, width: bw, height: BAR_H, rx: 3, class: 'shape' }, g);
          if (bw >= bar.id.length * CHAR_W + 8) {
            svg('text', { x: bx + 5, y: by + BAR_H / 2, class: 'bar-label', 'dominant-baseline': 'central' }, g, bar.id);
          }
          if (bar.critical) centers.set(bar.id, { x1: bx, x2: bx + bw, y: by + BAR_H / 2 });
        }
        g.addEventListener('click', () => reveal(bar));
        g.addEventListener('keydown', (e) => {
          if (e.key === 'Enter' || e.key === ' ') {
            e.preventDefault();
            reveal(bar);
          }
        });
      }
      y += h;
    });

    // A critical task handed to another worker the moment its predecessor ends: a short vertical
    // link shows the chain continues there. Gaps (phase barriers) get none: a slanted line would cross other bars.
    const cp = d.summary ? d.summary.criticalPath.map((id) => centers.get(id)).filter(Boolean) : [];
    let links = '';
    for (let i = 1; i < cp.length; i++) {
      const a = cp[i - 1];
      const b = cp[i];
      if (a.y !== b.y && Math.abs(b.x1 - a.x2) <= 2) links += `M${b.x1} ${a.y}V${b.y}`;
    }
    if (links) svg('path', { d: links, class: 'critical-link' }, root);

    if (d.summary) {
      const markers = svg('g', { class: 'markers' }, root);
      const bottom = AXIS_H + plotH;
      const marks = [
        // The lower bound is never right of the makespan, so its shorter line cannot cross the makespan's label.
        { at: d.summary.lowerBound, name: `lower bound ${d.summary.text.lowerBound}`, cls: 'lower-bound', row: 0 },
        { at: d.summary.makespan, name: `makespan ${d.summary.text.makespan}`, cls: 'makespan', row: 1 },
      ];
      for (const m of marks) {
        const mx = x(m.at);
        svg('line', { x1: mx, x2: mx, y1: AXIS_H - 4, y2: bottom + 6 + m.row * 14, class: `marker ${m.cls}` }, markers);
        const leftSide = mx > width / 2;
        svg('text', { x: leftSide ? mx - 4 : mx + 4, y: bottom + 12 + m.row * 14, class: `marker-label ${m.cls}`, 'text-anchor': leftSide ? 'end' : 'start' }, markers, m.name);
      }
    }
  }

  function barClass(bar) {
    const c = ['item'];
    if (bar.milestone) c.push('milestone');
    else c.push('bar');
    if (bar.critical) c.push('critical');
    if (bar.kind === 'verify') c.push('verify');
    if (data.defaultEstimates && data.defaultEstimates.includes(bar.id)) c.push('default');
    return c.join(' ');
  }

  window.addEventListener('message', (event) => {
    const msg = event.data;
    if (!msg || msg.type !== 'render' || !msg.data) return;
    data = msg.data;
    vscode.setState({ data });
    render();
  });

  let frame = 0;
  window.addEventListener('resize', () => {
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(() => data && !data.error && render());
  });

  render();
  vscode.postMessage({ type: 'ready' });
})();
